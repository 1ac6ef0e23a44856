package slack

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// The "done means": a Spanish DM becomes an incident, answered in
// Spanish in its thread; the agent works it from the triage channel; the
// reporter answers "Sí" and "4" by button; it ends in review with the
// whole history.
func TestSpanishDMThroughTriageToReview(t *testing.T) {
	w := newWorld(t)
	ts, _ := w.dm(ana, "No me funciona el correo desde esta mañana")
	inc := w.onlyIncident()
	if inc.Channel != intake.ChannelSlack || inc.Reporter.SlackID != ana || inc.Reporter.Language != intake.Spanish ||
		inc.Reporter.Email != "ana@example.test" || inc.Reporter.Name != "Ana García" || inc.Category != "email" {
		t.Fatalf("incident = %+v", inc)
	}
	w.drain()

	// The acknowledgment, in Spanish, in the thread of her message.
	replies := w.botMessages(ana)
	if len(replies) != 1 || replies[0].ThreadTS != ts || !strings.Contains(replies[0].Text, "He registrado su incidencia *"+inc.ID+"*") {
		t.Fatalf("acknowledgment = %+v", replies)
	}
	if b := string(replies[0].Blocks); !strings.Contains(b, "Categoría") || !strings.Contains(b, "Prioridad") || !strings.Contains(b, map[intake.Priority]string{"P1": "Crítica", "P2": "Alta", "P3": "Media", "P4": "Baja", "P5": "Planificada"}[inc.Priority]) {
		t.Fatalf("acknowledgment blocks lack category/priority in words: %s", b)
	}

	// Agents see it in the triage channel, with buttons.
	card := w.withButton(triage, actionTake)
	if !strings.Contains(card.Text, inc.ID) || !strings.Contains(string(card.Blocks), "Analysis") {
		t.Fatalf("triage card = %+v", card)
	}
	w.click(alice, triage, card.TS, actionTake, inc.ID)
	w.click(alice, triage, card.TS, actionSolution, inc.ID)
	w.drain()
	card = w.withButton(triage, actionValidate)
	if !strings.Contains(string(card.Blocks), "alice") || !strings.Contains(string(card.Blocks), "Solution") || card.Updated < 1 {
		t.Fatalf("triage card not updated (%d updates): %s", card.Updated, card.Blocks)
	}
	w.click(alice, triage, card.TS, actionValidate, inc.ID)
	w.drain()

	// The question arrives in her thread, in Spanish, with Sí/No.
	prompt := w.withButton(ana, actionYes)
	if prompt.ThreadTS != ts || !strings.Contains(string(prompt.Blocks), "Sí, ya funciona") || !strings.Contains(prompt.Text, "¿Vuelve a funcionar") {
		t.Fatalf("validation prompt = %+v", prompt)
	}
	w.click(ana, prompt.Channel, prompt.TS, actionYes, w.button(prompt, actionYes))
	w.settle()
	if got, _ := w.srv.Message(prompt.Channel, prompt.TS); strings.Contains(string(got.Blocks), actionYes) || !strings.Contains(got.Text, "vuelve a funcionar") {
		t.Fatalf("answered prompt still has its buttons or lacks the answer: %+v", got)
	}
	w.drain()
	rating := w.withButton(ana, actionRate+"4")
	w.click(ana, rating.Channel, rating.TS, actionRate+"4", w.button(rating, actionRate+"4"))
	w.drain()

	inc = w.incident(inc.ID)
	if inc.State != "review" || len(inc.Surveys) != 2 || inc.Surveys[0].Answer != "yes" || inc.Surveys[1].Rating != 4 || inc.Surveys[1].Via != "slack" {
		t.Fatalf("after the survey: state %s, surveys %+v", inc.State, inc.Surveys)
	}
	var events []string
	for _, h := range inc.History {
		if h.Event != "notified" {
			events = append(events, h.Event+":"+string(h.To))
		}
	}
	want := "registered:analysis assign: move:solution move:validation answer_yes:satisfaction rating:review"
	if got := strings.Join(events, " "); got != want {
		t.Fatalf("history = %s\nwant      %s", got, want)
	}
	if got, _ := w.srv.Message(rating.Channel, rating.TS); !strings.Contains(got.Text, "4 de 5") {
		t.Fatalf("rating prompt = %+v", got)
	}
	// In review the owner closes it from the triage card.
	card = w.withButton(triage, actionClose)
	w.click(alice, triage, card.TS, actionClose, inc.ID)
	w.drain()
	if inc = w.incident(inc.ID); inc.State != "closed" {
		t.Fatalf("state = %s, want closed", inc.State)
	}
	last := w.botMessages(ana)
	if msg := last[len(last)-1]; !strings.Contains(msg.Text, "está cerrada") || msg.ThreadTS != ts {
		t.Fatalf("closing message = %+v", msg)
	}
	if n := len(w.botMessages(triage)); n != 1 {
		t.Fatalf("%d triage messages, want 1 updated in place", n)
	}
}

// The same in English, with a "no" first: the incident goes back to
// analysis and the reporter is told.
func TestEnglishNoThenYes(t *testing.T) {
	w := newWorld(t)
	ts, _ := w.dm(john, "The VPN drops every five minutes")
	inc := w.onlyIncident()
	w.drain()
	if r := w.botMessages(john); len(r) != 1 || !strings.Contains(r[0].Text, "I have registered your incident") {
		t.Fatalf("acknowledgment = %+v", r)
	}
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := w.engine.Move(w.ctx, inc.ID, agentActor("alice"), to, ""); err != nil {
			t.Fatal(err)
		}
	}
	w.drain()
	prompt := w.withButton(john, actionNo)
	if !strings.Contains(string(prompt.Blocks), "Yes, it works") {
		t.Fatalf("prompt = %s", prompt.Blocks)
	}
	w.click(john, prompt.Channel, prompt.TS, actionNo, w.button(prompt, actionNo))
	w.drain()
	inc = w.incident(inc.ID)
	if inc.State != "analysis" || inc.ReopenCount != 1 {
		t.Fatalf("after no: %s, reopened %d", inc.State, inc.ReopenCount)
	}
	msgs := w.botMessages(john)
	if last := msgs[len(msgs)-1]; !strings.Contains(last.Text, "taking *"+inc.ID+"* up again") || last.ThreadTS != ts {
		t.Fatalf("reopened message = %+v", last)
	}
	if got, _ := w.srv.Message(prompt.Channel, prompt.TS); !strings.Contains(got.Text, "still fails") || strings.Contains(string(got.Blocks), actionYes) {
		t.Fatalf("answered prompt = %+v", got)
	}
}

func agentActor(name string) intake.Actor {
	return intake.Actor{Kind: intake.ActorAgent, Name: name, Via: "api"}
}
