package slack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// toValidation registers john's DM report and asks him to validate.
func (w *world) toValidation(user, text string) (*intake.Incident, string) {
	w.t.Helper()
	ts, _ := w.dm(user, text)
	inc := w.onlyIncident()
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := w.engine.Move(w.ctx, inc.ID, agentActor("alice"), to, ""); err != nil {
			w.t.Fatal(err)
		}
	}
	w.drain()
	return inc, ts
}

func TestOnlyTheReporterAnswersAndASecondClickChangesNothing(t *testing.T) {
	w := newWorld(t)
	inc, _ := w.toValidation(ana, "no me funciona la VPN")
	prompt := w.withButton(ana, actionYes)

	w.click(nosy, prompt.Channel, prompt.TS, actionYes, w.button(prompt, actionYes))
	w.click(alice, prompt.Channel, prompt.TS, actionNo, w.button(prompt, actionNo)) // an agent is not the reporter either
	w.settle()
	eph := w.srv.Ephemerals()
	told := map[string]bool{}
	for _, e := range eph {
		told[e.User] = strings.Contains(e.Text, "Only the person who reported "+inc.ID)
	}
	if len(eph) != 2 || !told[nosy] || !told[alice] {
		t.Fatalf("ephemerals = %+v", eph)
	}
	if got := w.incident(inc.ID); got.State != "validation" || len(got.Surveys) != 0 {
		t.Fatalf("someone else's click counted: %s %+v", got.State, got.Surveys)
	}

	w.click(ana, prompt.Channel, prompt.TS, actionYes, w.button(prompt, actionYes))
	w.click(ana, prompt.Channel, prompt.TS, actionYes, w.button(prompt, actionYes)) // double click
	w.click(ana, prompt.Channel, prompt.TS, actionNo, w.button(prompt, actionNo))   // a late click on the other button
	w.settle()
	got := w.incident(inc.ID)
	if got.State != "satisfaction" || len(got.Surveys) != 1 || got.ReopenCount != 0 {
		t.Fatalf("after three clicks: %s, surveys %+v, reopened %d", got.State, got.Surveys, got.ReopenCount)
	}
	if m, _ := w.srv.Message(prompt.Channel, prompt.TS); strings.Contains(string(m.Blocks), "button") || !strings.Contains(m.Text, "vuelve a funcionar") {
		t.Fatalf("prompt after the answer = %s / %s", m.Text, m.Blocks)
	}

	// The rating: a stranger cannot rate, a double click rates once.
	w.drain()
	rating := w.withButton(ana, actionRate+"5")
	w.click(nosy, rating.Channel, rating.TS, actionRate+"1", w.button(rating, actionRate+"1"))
	w.click(ana, rating.Channel, rating.TS, actionRate+"5", w.button(rating, actionRate+"5"))
	w.click(ana, rating.Channel, rating.TS, actionRate+"5", w.button(rating, actionRate+"5"))
	w.settle()
	if got = w.incident(inc.ID); got.State != "review" || len(got.Surveys) != 2 || got.Surveys[1].Rating != 5 {
		t.Fatalf("after rating: %s %+v", got.State, got.Surveys)
	}
}

func TestAgentButtonsFollowTheWorkflowRules(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "shared drive is read only")
	inc := w.onlyIncident()
	w.drain()
	card := w.withButton(triage, actionTake)

	// Not an agent; then Alice takes it, and a stale "Close" is refused
	// with the reason.
	w.click(nosy, triage, card.TS, actionTake, inc.ID)
	w.click(alice, triage, card.TS, actionTake, inc.ID)
	w.click(alice, triage, card.TS, actionClose, inc.ID)
	w.settle()
	eph := w.srv.Ephemerals()
	byUser := map[string]string{}
	for _, e := range eph {
		byUser[e.User] = e.Text
	}
	if len(eph) != 2 || !strings.Contains(byUser[nosy], "not registered as a help-desk agent") || !strings.Contains(byUser[alice], "is in *Analysis*") {
		t.Fatalf("ephemerals = %+v", eph)
	}
	if got := w.incident(inc.ID); got.Owner != "alice" || got.State != "analysis" {
		t.Fatalf("owner %q state %s", got.Owner, got.State)
	}

	// Add action opens a form; its submission records the action.
	w.click(alice, triage, card.TS, actionAddNote, inc.ID)
	if opened := w.srv.Views(); len(opened) != 1 || !strings.Contains(string(opened[0].View), "Action on "+inc.ID) {
		t.Fatalf("views = %+v", opened)
	}
	views := 0
	submit := func(user, callback string, values map[string]any) string {
		views++ // each form Slack opens has its own view id
		return string(w.push("interactive", map[string]any{"type": "view_submission", "user": map[string]any{"id": user},
			"view": map[string]any{"id": fmt.Sprintf("V%d", views), "callback_id": callback, "private_metadata": inc.ID,
				"state": map[string]any{"values": values}}}, 0))
	}
	text := func(v string) map[string]any {
		return map[string]any{"text": map[string]any{"text": map[string]any{"type": "plain_text_input", "value": v}}}
	}
	submit(alice, viewAction, text("remounted the share read-write"))
	views-- // the same form submitted again acts once
	submit(alice, viewAction, text("remounted the share read-write"))
	// Escalation form: group and level.
	w.click(alice, triage, card.TS, actionEscalate, inc.ID)
	submit(alice, viewEscalate, map[string]any{
		"group": map[string]any{"group": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "networks"}}},
		"level": map[string]any{"level": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "2"}}},
	})
	got := w.incident(inc.ID)
	if len(got.Actions) != 1 || got.Actions[0].Author != "alice" || got.Group != "networks" || got.Level != 2 {
		t.Fatalf("after the forms: actions %+v group %s level %d", got.Actions, got.Group, got.Level)
	}
	// Solution, then validation: now locked, even for the owner.
	w.click(alice, triage, card.TS, actionSolution, inc.ID)
	w.click(alice, triage, card.TS, actionValidate, inc.ID)
	if ack := submit(alice, viewAction, text("one more note")); !strings.Contains(ack, "waiting for the reporter") {
		t.Fatalf("action form in validation: ack %s", ack)
	}
	w.click(bob, triage, card.TS, actionTake, inc.ID)
	w.settle()
	eph = w.srv.Ephemerals()
	if last := eph[len(eph)-1]; last.User != bob || !strings.Contains(last.Text, "waiting for the reporter to validate") {
		t.Fatalf("locked refusal = %+v", last)
	}
	if got = w.incident(inc.ID); got.State != "validation" || got.Owner != "alice" || len(got.Actions) != 1 {
		t.Fatalf("validation lock broken: %s %s %d", got.State, got.Owner, len(got.Actions))
	}
	w.drain()
	// The card shows where it stands, without buttons while locked.
	if m, _ := w.srv.Message(triage, card.TS); !strings.Contains(string(m.Blocks), "networks · L2") || strings.Contains(string(m.Blocks), "button") {
		t.Fatalf("card in validation: %s", m.Blocks)
	}
}
