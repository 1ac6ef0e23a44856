package slack

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/internal/slackserver"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// The people of the test workspace.
const (
	ana    = "UANA"   // reporter, Spanish locale
	john   = "UJOHN"  // reporter, English locale
	alice  = "UALICE" // agent
	bob    = "UBOB"   // admin agent
	nosy   = "UNOSY"  // neither
	triage = "CTRIAGE"
)

// world is a bot wired to a real Redis and to the local Slack server over
// Socket Mode, with the outbox drained on demand.
type world struct {
	t       *testing.T
	ctx     context.Context
	srv     *slackserver.Server
	store   *redisstore.Store
	engine  *workflow.Engine
	bot     *Bot
	replies *workflow.Dispatcher
	watch   *workflow.Dispatcher
	// skew moves the dispatchers' clock, to reach messages postponed by a 429.
	skew atomic.Int64
}

func newWorld(t *testing.T, change ...func(*Deps)) *world {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := slackserver.New(t)
	for _, u := range []slackserver.User{
		{ID: ana, Name: "ana", RealName: "Ana García", Email: "ana@example.test", Locale: "es-ES"},
		{ID: john, Name: "john", RealName: "John Smith", Email: "john@example.test", Locale: "en-US"},
		{ID: alice, Name: "alice", RealName: "Alice Agent", Email: "alice@example.test", Locale: "en-US"},
		{ID: bob, Name: "bob", RealName: "Bob Boss", Email: "bob@example.test", Locale: "en-GB"},
		{ID: nosy, Name: "nosy", RealName: "Nosy Parker", Email: "nosy@example.test", Locale: "en-US"},
	} {
		srv.AddUser(u)
	}
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack).WatchChanges()
	rules, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
		Categories: []intake.Category{{Name: "email", Keywords: []string{"email", "correo", "mail"}}},
		Groups:     []string{"desk", "networks"}, DefaultGroup: "desk",
	})
	if err != nil {
		t.Fatal(err)
	}
	metrics := workflow.NewMetrics(prometheus.NewRegistry())
	engine := workflow.NewEngine(store, rules, metrics, time.Now)
	for name, admin := range map[string]bool{"alice": false, "bob": true} {
		if _, err := store.AddAgent(ctx, name, admin, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	phrases, err := templates.LoadPhrases()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	api := slackapi.New("xoxb-test", slackapi.OptionAPIURL(srv.APIURL()), slackapi.OptionAppLevelToken("xapp-test"))
	w := &world{t: t, ctx: ctx, srv: srv, store: store, engine: engine}
	deps := Deps{Incidents: engine, Surveys: engine, Work: engine, Agents: store, Ledger: store, State: store, Locks: store,
		Labels: rules, Phrases: phrases, Log: log, Now: time.Now}
	for _, c := range change {
		c(&deps)
	}
	bot := New(Config{TriageChannel: triage, TriageLang: intake.English, Agents: map[string]string{alice: "alice", bob: "bob"},
		Groups: []string{"desk", "networks"}, SurveyEmailReporters: true, OrgName: "Acme <IT>"}, api, deps)
	if err := bot.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	w.bot = bot
	clock := func() time.Time { return time.Now().Add(time.Duration(w.skew.Load())) }
	w.replies = workflow.NewDispatcher(store, store, intake.RouteSlack, bot.Notifier(), log, metrics, clock).WithPause(store)
	w.watch = workflow.NewDispatcher(store, store, intake.RouteWatch, bot.Watcher(), log, metrics, clock).WithPause(store)

	client := socketmode.New(api)
	done := make(chan error, 1)
	go func() { done <- bot.RunSocket(ctx, client) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunSocket: %v", err)
		}
		bot.Close(context.Background())
	})
	return w
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// push sends an envelope over Socket Mode and waits for its ack.
func (w *world) push(typ string, payload any, retry int) json.RawMessage {
	w.t.Helper()
	id := w.srv.Push(typ, payload, retry)
	ack, err := w.srv.Ack(id, 10*time.Second)
	if err != nil {
		w.t.Fatalf("no ack for %s envelope %s: %v", typ, id, err)
	}
	return ack
}

// settle waits for the work the bot does after acknowledgments.
func (w *world) settle() {
	w.bot.later.Wait()
}

// drain sends everything the outbox holds for Slack, as the cron job does.
func (w *world) drain() {
	w.t.Helper()
	w.settle()
	for _, d := range []*workflow.Dispatcher{w.replies, w.watch} {
		if _, err := d.Drain(w.ctx); err != nil {
			w.t.Fatal(err)
		}
	}
}

var eventSeq atomic.Int64

// message is an events_api payload for a message event.
func message(channel, channelType, user, text, ts, threadTS string) map[string]any {
	ev := map[string]any{"type": "message", "channel": channel, "channel_type": channelType, "user": user, "text": text, "ts": ts, "event_ts": ts}
	if threadTS != "" {
		ev["thread_ts"] = threadTS
	}
	return callback(ev)
}

func callback(ev map[string]any) map[string]any {
	return map[string]any{"type": "event_callback", "team_id": slackserver.TeamID, "api_app_id": slackserver.AppID,
		"event_id": fmt.Sprintf("Ev%06d", eventSeq.Add(1)), "event_time": time.Now().Unix(), "event": ev}
}

// dm has user write to the bot; it returns the message's ts.
func (w *world) dm(user, text string) (string, map[string]any) {
	w.t.Helper()
	m := w.srv.AddMessage(slackserver.Message{Channel: user, User: user, Text: text})
	ev := message(m.Channel, "im", user, text, m.TS, "")
	w.push("events_api", ev, 0)
	return m.TS, ev
}

// click presses a button of a message.
func (w *world) click(user, channel, ts, actionID, value string) json.RawMessage {
	w.t.Helper()
	return w.push("interactive", map[string]any{
		"type": "block_actions", "user": map[string]any{"id": user}, "trigger_id": fmt.Sprintf("trig%d", eventSeq.Add(1)),
		"action_ts": fmt.Sprintf("%d.000100", time.Now().UnixNano()),
		"container": map[string]any{"type": "message", "message_ts": ts, "channel_id": channel},
		"channel":   map[string]any{"id": channel}, "message": map[string]any{"ts": ts},
		"actions": []any{map[string]any{"action_id": actionID, "block_id": "b", "value": value, "type": "button"}},
	}, 0)
}

func (w *world) incident(id string) *intake.Incident {
	w.t.Helper()
	inc, err := w.engine.Get(w.ctx, id)
	if err != nil {
		w.t.Fatal(err)
	}
	return inc
}

// onlyIncident returns the one incident registered so far.
func (w *world) onlyIncident() *intake.Incident {
	w.t.Helper()
	page, err := w.store.List(w.ctx, intake.ListFilter{Limit: 10})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(page.Incidents) != 1 {
		w.t.Fatalf("%d incidents, want 1", len(page.Incidents))
	}
	return w.incident(page.Incidents[0].ID)
}

// botMessages are the bot's messages in a channel (a user id: the DM).
func (w *world) botMessages(channel string) []slackserver.Message {
	var out []slackserver.Message
	for _, m := range w.srv.Messages(channel) {
		if m.User == slackserver.BotUserID || m.BotID != "" {
			out = append(out, m)
		}
	}
	return out
}

// withButton finds the bot's message in channel that has a button.
func (w *world) withButton(channel, actionID string) slackserver.Message {
	w.t.Helper()
	for _, m := range w.botMessages(channel) {
		if strings.Contains(string(m.Blocks), `"`+actionID+`"`) {
			return m
		}
	}
	var texts []string
	for _, m := range w.srv.Messages(channel) {
		texts = append(texts, m.Text+" "+string(m.Blocks))
	}
	w.t.Fatalf("no message in %s with button %s; messages:\n%s", channel, actionID, strings.Join(texts, "\n"))
	return slackserver.Message{}
}

// button is the value a message's button carries (survey buttons carry
// the incident and the round of the question), as Slack would send it
// back on a click.
func (w *world) button(m slackserver.Message, actionID string) string {
	w.t.Helper()
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
		w.t.Fatalf("blocks of %s: %v", m.TS, err)
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.ActionID == actionID {
				return e.Value
			}
		}
	}
	w.t.Fatalf("message %s has no button %s: %s", m.TS, actionID, m.Blocks)
	return ""
}
