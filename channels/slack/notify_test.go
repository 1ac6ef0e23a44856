package slack

import (
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
)

// A 429 holds the message (and the rest of the batch) for Retry-After;
// nothing is dropped and nothing goes dead.
func TestRateLimitIsHonouredAndNothingIsDropped(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "printer jam")
	w.dm(john, "and the scanner too")
	w.srv.RateLimit("chat.postMessage", 1, 30)
	w.drain()
	if n := len(w.botMessages(john)); n != 0 {
		t.Fatalf("%d messages sent during the rate limit", n)
	}
	waiting, err := w.store.Outbox(w.ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var held int
	for _, q := range waiting {
		if q.Route == intake.RouteSlack {
			held++
			if q.Dead || time.Until(q.DueAt) < 20*time.Second || !strings.Contains(q.LastError, "retry after 30s") {
				t.Fatalf("held message = %+v", q)
			}
		}
	}
	if held != 2 {
		t.Fatalf("%d acknowledgments held, want 2", held)
	}
	w.drain() // still within Retry-After: nothing goes
	// The 429 and the two triage cards, which go out on their own route.
	if n := w.srv.Calls("chat.postMessage"); n != 3 {
		t.Fatalf("chat.postMessage called %d times within Retry-After", n)
	}
	w.skew.Store(int64(31 * time.Second))
	w.drain()
	if n := len(w.botMessages(john)); n != 2 {
		t.Fatalf("%d acknowledgments after the wait, want 2", n)
	}
}

// A message posted just before a crash (no delivery recorded) is found by
// its metadata on the retry, not posted again.
func TestCrashAfterPostingDoesNotPostTwice(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "monitor is blank")
	inc := w.onlyIncident()
	claimed, err := w.store.Claim(w.ctx, intake.RouteSlack, time.Now(), 5*time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	if err := w.bot.Notifier().Deliver(w.ctx, claimed[0].Outgoing(inc), inc); err != nil {
		t.Fatal(err)
	}
	// ... the bot dies here. After the lease, another bot claims it again.
	w.skew.Store(int64(6 * time.Minute))
	w.drain()
	if n := len(w.botMessages(john)); n != 1 {
		t.Fatalf("%d acknowledgments, want 1", n)
	}
	if n := w.srv.Calls("conversations.replies"); n != 1 {
		t.Fatalf("the retry did not look for its message first (%d conversations.replies)", n)
	}
	if left, _ := w.store.Outbox(w.ctx, 10); len(left) != 0 {
		t.Fatalf("outbox not empty: %+v", left)
	}
}

// An e-mail reporter with a Slack account gets the question by DM too;
// the first answer wins and the other prompt shows it.
func TestEmailReporterMayAnswerInSlack(t *testing.T) {
	w := newWorld(t)
	inc, err := w.engine.Register(w.ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "No puedo imprimir",
		Description: "la impresora no imprime", Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test", Language: intake.Spanish}})
	if err != nil {
		t.Fatal(err)
	}
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := w.engine.Move(w.ctx, inc.ID, agentActor("alice"), to, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.drain()
	w.drain() // a second pass asks nothing twice
	prompts := w.botMessages(ana)
	if len(prompts) != 1 || !strings.Contains(string(prompts[0].Blocks), "Sí, ya funciona") {
		t.Fatalf("DM prompts = %+v", prompts)
	}
	// John has another address: he is not the reporter.
	w.click(john, prompts[0].Channel, prompts[0].TS, actionYes, w.button(prompts[0], actionYes))
	w.click(ana, prompts[0].Channel, prompts[0].TS, actionYes, w.button(prompts[0], actionYes))
	w.drain()
	got := w.incident(inc.ID)
	if got.State != "satisfaction" || len(got.Surveys) != 1 || got.Surveys[0].Via != "slack" {
		t.Fatalf("after the click: %s %+v", got.State, got.Surveys)
	}
	// Now the rating is asked by mail and by DM; she answers by mail first.
	rating := w.withButton(ana, actionRate+"3")
	if _, err := w.engine.Rate(w.ctx, inc.ID, intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email"}, 3, ""); err != nil {
		t.Fatal(err)
	}
	w.drain()
	if m, _ := w.srv.Message(rating.Channel, rating.TS); strings.Contains(string(m.Blocks), "button") || !strings.Contains(m.Text, "3 de 5") {
		t.Fatalf("DM prompt after the mail answer = %s / %s", m.Text, m.Blocks)
	}
	w.click(ana, rating.Channel, rating.TS, actionRate+"5", w.button(rating, actionRate+"5")) // too late
	w.settle()
	if got = w.incident(inc.ID); got.State != "review" || len(got.Surveys) != 2 || got.Surveys[1].Rating != 3 {
		t.Fatalf("the late click counted: %s %+v", got.State, got.Surveys)
	}
	if eph := w.srv.Ephemerals(); len(eph) != 1 || eph[0].User != john {
		t.Fatalf("ephemerals = %+v", eph)
	}
}

// A reminder asks again, with buttons, in the reporter's language; an SLA
// breach is flagged on the triage card and told once in its thread.
func TestRemindersAndSLAFlagsReachSlack(t *testing.T) {
	w := newWorld(t)
	inc, ts := w.toValidation(ana, "la impresora no imprime")
	bot := intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "timer"}
	if _, err := w.engine.Remind(w.ctx, inc.ID, bot, "reminder 1"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.Flag(w.ctx, inc.ID, bot, workflow.FlagResolutionBreach, "resolution target missed"); err != nil {
		t.Fatal(err)
	}
	w.drain()
	w.drain()
	msgs := w.botMessages(ana)
	last := msgs[len(msgs)-1]
	if last.ThreadTS != ts || !strings.HasPrefix(last.Text, "Recordatorio:") || !strings.Contains(string(last.Blocks), actionYes) {
		t.Fatalf("reminder = %s / %s", last.Text, last.Blocks)
	}
	var card, told []string
	for _, m := range w.botMessages(triage) {
		if m.ThreadTS == "" {
			card = append(card, string(m.Blocks))
		} else {
			told = append(told, m.Text)
		}
	}
	if len(card) != 1 || !strings.Contains(card[0], "resolution target missed") || len(told) != 1 || !strings.Contains(told[0], "resolution target missed") {
		t.Fatalf("triage card %v, thread %v", card, told)
	}
	// The reminder's buttons answer like the question's.
	w.click(ana, last.Channel, last.TS, actionYes, w.button(last, actionYes))
	if got := w.incident(inc.ID); got.State != "satisfaction" {
		t.Fatalf("state = %s", got.State)
	}
}

// Every message to a reporter is signed by the organisation, as the mails
// are, and shows the priority in words, never P3.
func TestReporterMessagesAreSignedAndSpeakPlainly(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "monitor is blank")
	w.drain()
	msgs := w.botMessages(john)
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want the acknowledgment", len(msgs))
	}
	blocks := strings.NewReplacer(`\u0026`, "&", `\u003c`, "<", `\u003e`, ">").Replace(string(msgs[0].Blocks))
	if !strings.Contains(blocks, "Acme &lt;IT&gt;") {
		t.Errorf("no escaped signature in %s", blocks)
	}
	inc := w.onlyIncident()
	if strings.Contains(blocks, `"`+string(inc.Priority)+`"`) || !strings.Contains(blocks, map[intake.Priority]string{
		"P1": "Critical", "P2": "High", "P3": "Medium", "P4": "Low", "P5": "Planned"}[inc.Priority]) {
		t.Errorf("priority %s not in words: %s", inc.Priority, blocks)
	}
}
