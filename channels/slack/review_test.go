package slack

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/slackserver"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// Writing again in the thread of a closed incident reports anew: a new
// incident, linked to the old one, answered in the same thread.
func TestThreadOfAClosedIncidentOpensALinkedOne(t *testing.T) {
	w := newWorld(t)
	ts, ev := w.dm(john, "the scanner does not scan")
	dm := ev["event"].(map[string]any)["channel"].(string)
	old := w.onlyIncident()
	admin := intake.Actor{Kind: intake.ActorAgent, Name: "bob", Admin: true, Via: "api"}
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := w.engine.Move(w.ctx, old.ID, admin, to, ""); err != nil {
			t.Fatal(err)
		}
	}
	reporter := intake.Actor{Kind: intake.ActorReporter, Name: "John", Via: "slack"}
	if _, err := w.engine.AnswerValidation(w.ctx, old.ID, reporter, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.Rate(w.ctx, old.ID, reporter, 5, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.Move(w.ctx, old.ID, admin, "closed", ""); err != nil {
		t.Fatal(err)
	}
	reply := w.srv.AddMessage(slackserver.Message{Channel: dm, User: john, Text: "it broke again", ThreadTS: ts})
	w.push("events_api", message(dm, "im", john, reply.Text, reply.TS, ts), 0)
	page, err := w.store.List(w.ctx, intake.ListFilter{Limit: 10})
	if err != nil || len(page.Incidents) != 2 {
		t.Fatalf("%d incidents, %v", len(page.Incidents), err)
	}
	fresh := w.incident(page.Incidents[0].ID)
	if fresh.RelatedID != old.ID || fresh.Description != "it broke again" {
		t.Fatalf("new incident = %+v", fresh)
	}
	// Later messages in the thread go to the new incident.
	more := w.srv.AddMessage(slackserver.Message{Channel: dm, User: john, Text: "also the printer", ThreadTS: ts})
	w.push("events_api", message(dm, "im", john, more.Text, more.TS, ts), 0)
	if fresh = w.incident(fresh.ID); len(fresh.Comments) != 1 {
		t.Fatalf("comments on the new incident: %+v", fresh.Comments)
	}
}

// What people write cannot mention @channel or fake links in our messages.
func TestUserTextIsEscapedInSlackMarkup(t *testing.T) {
	w := newWorld(t)
	if _, err := w.engine.Register(w.ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "<!channel> <https://evil.test|reset password> & more",
		Reporter: intake.Reporter{Name: "<@UADMIN>", Email: "eve@example.test"}}); err != nil {
		t.Fatal(err)
	}
	w.drain()
	card := w.botMessages(triage)[0]
	for _, raw := range []string{card.Text, string(card.Blocks)} {
		if strings.Contains(raw, "<!channel>") || strings.Contains(raw, "<https://evil") || strings.Contains(raw, "<@UADMIN>") {
			t.Fatalf("unescaped user text: %s", raw)
		}
	}
	// In the blocks' JSON, & is written \u0026.
	if !strings.Contains(card.Text, "&lt;!channel&gt;") || !strings.Contains(string(card.Blocks), `\u0026lt;@UADMIN\u0026gt;`) {
		t.Fatalf("escaped text missing: %s / %s", card.Text, card.Blocks)
	}
}

// A reminder supersedes the earlier prompt: its buttons go, and a late
// click on it counts for nothing; the reminder's buttons answer.
func TestAReminderSupersedesTheEarlierPrompt(t *testing.T) {
	w := newWorld(t)
	inc, _ := w.toValidation(john, "wifi drops")
	first := w.withButton(john, actionYes)
	if _, err := w.engine.Remind(w.ctx, inc.ID, intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "timer"}, "reminder"); err != nil {
		t.Fatal(err)
	}
	w.drain()
	w.drain()
	if m, _ := w.srv.Message(first.Channel, first.TS); strings.Contains(string(m.Blocks), "button") || !strings.Contains(m.Text, "asked again below") {
		t.Fatalf("first prompt after the reminder: %s / %s", m.Text, m.Blocks)
	}
	w.click(john, first.Channel, first.TS, actionNo, inc.ID)
	w.settle()
	if got := w.incident(inc.ID); got.State != "validation" {
		t.Fatalf("a superseded prompt's click counted: %s", got.State)
	}
	msgs := w.botMessages(john)
	reminder := msgs[len(msgs)-1]
	w.click(john, reminder.Channel, reminder.TS, actionYes, inc.ID)
	if got := w.incident(inc.ID); got.State != "satisfaction" {
		t.Fatalf("the reminder's click did not count: %s", got.State)
	}
}

// The bot removed from the triage channel must not keep e-mail reporters
// from getting their question by DM.
func TestTriageFailureDoesNotBlockPrompts(t *testing.T) {
	w := newWorld(t)
	inc, err := w.engine.Register(w.ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "VPN",
		Reporter: intake.Reporter{Email: "john@example.test", Language: intake.English}})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := w.engine.Move(w.ctx, inc.ID, agentActor("alice"), to, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.srv.Fail("chat.postMessage", 1, "not_in_channel") // the triage card's post
	w.drain()
	if prompts := w.botMessages(john); len(prompts) != 1 || !strings.Contains(string(prompts[0].Blocks), actionYes) {
		t.Fatalf("DM prompts = %+v", prompts)
	}
	if cards := w.botMessages(triage); len(cards) != 0 {
		t.Fatalf("triage cards = %d", len(cards))
	}
}

// An empty mention is answered, privately, with what to do.
func TestEmptyMentionIsAnswered(t *testing.T) {
	w := newWorld(t)
	text := "<@" + slackserver.BotUserID + ">"
	w.push("events_api", callback(map[string]any{"type": "app_mention", "channel": "CGENERAL", "user": ana, "text": text, "ts": "1700000077.000001"}), 0)
	w.settle()
	eph := w.srv.Ephemerals()
	if len(eph) != 1 || eph[0].User != ana || !strings.Contains(eph[0].Text, "Cuénteme qué no funciona") {
		t.Fatalf("ephemerals = %+v", eph)
	}
}

func TestHTTPModeRefusesOversizedBodies(t *testing.T) {
	w := newWorld(t)
	srv := httptest.NewServer(w.bot.HTTPHandler(signingSecret))
	t.Cleanup(srv.Close)
	body := `{"type":"event_callback","event_id":"Ev1","event":{"type":"message","text":"` + strings.Repeat("x", 2<<20) + `"}}`
	req, _ := http.NewRequest("POST", srv.URL+"/slack/events", strings.NewReader(body))
	ts, sig := sign(signingSecret, time.Now(), body)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d", res.StatusCode)
	}
}

// The bot removed from the channel a report was made in: the reporter is
// answered by DM instead.
func TestUnreachableThreadFallsBackToDM(t *testing.T) {
	w := newWorld(t)
	text := "<@" + slackserver.BotUserID + "> the projector is dead"
	m := w.srv.AddMessage(slackserver.Message{Channel: "CGONE", User: john, Text: text})
	w.push("events_api", callback(map[string]any{"type": "app_mention", "channel": "CGONE", "user": john, "text": text, "ts": m.TS}), 0)
	inc := w.onlyIncident()
	w.srv.Fail("chat.postMessage", 1, "not_in_channel")
	w.drain()
	dms := w.botMessages(john)
	if len(dms) != 1 || !strings.Contains(dms[0].Text, inc.ID) {
		t.Fatalf("DMs = %+v", dms)
	}
}

// With Redis unreachable nothing can be stored, so nothing is
// acknowledged: Slack sends the event again, and the retry, with Redis
// back, registers it once.
func TestNoAckWithoutACommit(t *testing.T) {
	dead, err := redisstore.Connect("redis://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	ledger := &switchedLedger{}
	ledger.to.Store(redisstore.New(dead, "down", intake.RouteEmail, intake.RouteSlack))
	w := newWorld(t, func(d *Deps) { d.Ledger = ledger })
	m := w.srv.AddMessage(slackserver.Message{Channel: john, User: john, Text: "keyboard missing keys"})
	ev := message(m.Channel, "im", john, m.Text, m.TS, "")
	id := w.srv.Push("events_api", ev, 0)
	if _, err := w.srv.Ack(id, 4*time.Second); err == nil {
		t.Fatal("acknowledged an event that was not stored")
	}
	ledger.to.Store(w.store) // Redis is back
	w.push("events_api", ev, 1)
	w.onlyIncident()
}

// switchedLedger is the store behind the ledger, changed while running:
// first an unreachable Redis, then the real one.
type switchedLedger struct {
	to atomic.Pointer[redisstore.Store]
}

func (l *switchedLedger) Begin(ctx context.Context, key, source string, now time.Time) (*intake.InboundRecord, error) {
	return l.to.Load().Begin(ctx, key, source, now)
}

func (l *switchedLedger) Record(ctx context.Context, key string, r intake.InboundRecord) (bool, error) {
	return l.to.Load().Record(ctx, key, r)
}
