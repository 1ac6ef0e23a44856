package slack

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// A button of an earlier round of the question (before a "no" and a new
// validation) is refused privately, in the reporter's language, and
// changes nothing; however soon the new round came, only its own buttons
// answer it.
func TestOldRoundButtonIsRefusedPrivately(t *testing.T) {
	w := newWorld(t)
	inc, _ := w.toValidation(john, "The VPN drops every five minutes")
	first := w.withButton(john, actionNo)
	w.click(john, first.Channel, first.TS, actionNo, w.button(first, actionNo))
	w.drain()
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := w.engine.Move(w.ctx, inc.ID, agentActor("alice"), to, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.drain()
	second := w.withButton(john, actionYes)
	if second.TS == first.TS || w.button(second, actionYes) == w.button(first, actionYes) {
		t.Fatalf("the second round's buttons carry the first round's value %q", w.button(second, actionYes))
	}
	before := w.incident(inc.ID)

	// A click on the first prompt as Slack would send it: its value names
	// round 1 (the client had not seen the buttons go).
	w.click(john, first.Channel, first.TS, actionYes, inc.ID+":1")
	w.settle()
	eph := w.srv.Ephemerals()
	if len(eph) != 1 || eph[0].User != john || !strings.Contains(eph[0].Text, "replaced by a newer one") || !strings.Contains(eph[0].Text, inc.ID) {
		t.Fatalf("ephemerals = %+v", eph)
	}
	if after := w.incident(inc.ID); after.Version != before.Version || after.State != intake.Validation {
		t.Fatalf("an old button changed the incident: %s v%d -> v%d", after.State, before.Version, after.Version)
	}
	w.click(john, second.Channel, second.TS, actionYes, w.button(second, actionYes))
	w.settle()
	if after := w.incident(inc.ID); after.State != intake.Satisfaction {
		t.Fatalf("the open round's button did not answer: %s", after.State)
	}
}

// A button posted before buttons carried a round is refused with the same
// private message (here in Spanish), not taken as an answer.
func TestRoundlessButtonIsRefusedPrivately(t *testing.T) {
	w := newWorld(t)
	inc, _ := w.toValidation(ana, "no me funciona la VPN")
	prompt := w.withButton(ana, actionYes)
	w.click(ana, prompt.Channel, prompt.TS, actionYes, inc.ID)
	w.settle()
	eph := w.srv.Ephemerals()
	if len(eph) != 1 || eph[0].User != ana || !strings.Contains(eph[0].Text, "sustituida por otra más reciente") {
		t.Fatalf("ephemerals = %+v", eph)
	}
	if after := w.incident(inc.ID); after.State != intake.Validation || len(after.Surveys) != 0 {
		t.Fatalf("a round-less button answered: %s %+v", after.State, after.Surveys)
	}
	// A value that names no round is a bad payload, not an answer.
	w.click(ana, prompt.Channel, prompt.TS, actionYes, inc.ID+":x")
	w.settle()
	if after := w.incident(inc.ID); after.State != intake.Validation {
		t.Fatalf("a malformed round answered: %s", after.State)
	}
}

// Questions answered (here by phone) before the dispatcher's turn are
// dropped: the reporter gets no prompt for a question already answered,
// and the outbox lists them as dropped, with the reason.
func TestStaleQuestionsAreDroppedNotPosted(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "The printer on floor 3 jams")
	inc := w.onlyIncident()
	w.drain()
	phone := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "phone"}
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := w.engine.Move(w.ctx, inc.ID, agentActor("alice"), to, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.engine.AnswerValidation(w.ctx, inc.ID, phone, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := w.engine.Rate(w.ctx, inc.ID, phone, 5, ""); err != nil {
		t.Fatal(err)
	}
	w.drain()
	for _, m := range w.botMessages(john) {
		if strings.Contains(string(m.Blocks), actionYes) || strings.Contains(string(m.Blocks), actionRate+"1") {
			t.Fatalf("an answered question was posted: %s", m.Text)
		}
	}
	list, err := w.store.Outbox(w.ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	dropped := map[intake.NoticeKind]string{}
	for _, q := range list {
		if q.Incident == inc.ID && q.Dropped {
			dropped[q.Kind] = q.DropReason
		}
		if q.Incident == inc.ID && !q.Dropped && q.Route == intake.RouteSlack {
			t.Errorf("still waiting: %+v", q)
		}
	}
	if len(dropped) != 2 || dropped[intake.NoticeValidation] == "" || dropped[intake.NoticeSatisfaction] == "" {
		t.Fatalf("dropped = %v, outbox = %+v", dropped, list)
	}
	// Dropped is final: another drain posts nothing.
	n := len(w.botMessages(john))
	w.drain()
	if got := len(w.botMessages(john)); got != n {
		t.Fatalf("a second drain posted %d more", got-n)
	}
}
