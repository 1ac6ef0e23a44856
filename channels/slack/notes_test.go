package slack

import (
	"fmt"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// The triage action form has a "tell the reporter" box. Ticked, the
// action is a public note and the reporter reads it in their own thread
// and language, once (a form delivered twice acts once); left empty, the
// action stays internal and the reporter hears nothing.
func TestActionFormTellsTheReporterOnlyWhenTicked(t *testing.T) {
	for _, c := range []struct{ user, report, intro string }{
		{john, "shared drive is read only", "a message from the agent working on it"},
		{ana, "no me funciona la VPN", "un mensaje del técnico que trabaja en ella"},
	} {
		t.Run(c.user, func(t *testing.T) {
			w := newWorld(t)
			w.dm(c.user, c.report)
			inc := w.onlyIncident()
			w.drain()
			card := w.withButton(triage, actionTake)
			w.click(alice, triage, card.TS, actionAddNote, inc.ID)
			if opened := w.srv.Views(); len(opened) != 1 || !strings.Contains(string(opened[0].View), "Tell the reporter") {
				t.Fatalf("the action form has no \"Tell the reporter\" box: %+v", opened)
			}
			before := len(w.botMessages(c.user))
			views := 0
			submit := func(text string, public bool) {
				views++
				values := map[string]any{"text": map[string]any{"text": map[string]any{"type": "plain_text_input", "value": text}}}
				if public {
					values[publicBlock] = map[string]any{publicBlock: map[string]any{"type": "checkboxes",
						"selected_options": []any{map[string]any{"value": publicBlock}}}}
				}
				w.push("interactive", map[string]any{"type": "view_submission", "user": map[string]any{"id": alice},
					"view": map[string]any{"id": fmt.Sprintf("V%d", views), "callback_id": viewAction, "private_metadata": inc.ID,
						"state": map[string]any{"values": values}}}, 0)
			}
			submit("INTERNAL: remounted the share", false)
			submit("Please sign out & in again <now>.", true)
			views-- // the same form delivered again
			submit("Please sign out & in again <now>.", true)
			w.drain()
			w.drain()

			got := w.incident(inc.ID)
			if len(got.Actions) != 2 || got.Actions[0].Public || !got.Actions[1].Public {
				t.Fatalf("actions %+v: want an internal action, then a public note", got.Actions)
			}
			msgs := w.botMessages(c.user)
			if len(msgs) != before+1 {
				t.Fatalf("the reporter got %d messages, want 1 (the note)", len(msgs)-before)
			}
			note := msgs[len(msgs)-1]
			if !strings.Contains(note.Text, c.intro) || !strings.Contains(note.Text, "> Please sign out &amp; in again &lt;now&gt;.") || !strings.Contains(note.Text, inc.ID) {
				t.Fatalf("note message: %q", note.Text)
			}
			for _, m := range w.srv.Messages(c.user) {
				if strings.Contains(m.Text, "INTERNAL") || strings.Contains(string(m.Blocks), "INTERNAL") {
					t.Fatalf("the reporter read an internal action: %q", m.Text)
				}
			}
		})
	}
}

// A note whose outbox record names no public action is refused as
// undeliverable, never posted.
func TestNoteNamingAnInternalActionIsNotPosted(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "printer jammed")
	inc := w.onlyIncident()
	w.drain()
	if _, err := w.engine.AddAction(w.ctx, inc.ID, agentActor("alice"), "INTERNAL: toner"); err != nil {
		t.Fatal(err)
	}
	msg := intake.Outgoing{ID: inc.ID + ":note:9", IncidentID: inc.ID, Kind: intake.NoticeNote, Route: intake.RouteSlack,
		Lang: intake.English, SlackID: john, Attempt: 1, Action: 1}
	before := len(w.botMessages(john))
	if err := w.bot.Notifier().Deliver(w.ctx, msg, w.incident(inc.ID)); err == nil || !strings.Contains(err.Error(), "internal") {
		t.Fatalf("deliver: %v", err)
	}
	if len(w.botMessages(john)) != before {
		t.Fatal("an internal action was posted to the reporter")
	}
}
