package slack

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// Once an incident is linked to a known error, its triage card names it
// and offers the workaround in one click: an agent's click records the
// action and a stranger's changes nothing.
func TestTriageCardAppliesTheWorkaround(t *testing.T) {
	var kes *workflow.KnownErrors
	w := newWorld(t, func(d *Deps) {
		kes = workflow.NewKnownErrors(d.Work.(*workflow.Engine), d.State.(*redisstore.Store))
		d.Workarounds = kes
	})
	k, err := w.store.CreateKnownError(w.ctx, "", kb.KnownError{Lang: intake.English, Status: kb.KEOpen,
		Symptom: "Shared drive turns read only", Workaround: "Remount the share from the portal"}, w.bot.d.Now())
	if err != nil {
		t.Fatal(err)
	}
	w.dm(john, "shared drive is read only")
	inc := w.onlyIncident()
	w.drain()
	if card := w.withButton(triage, actionTake); strings.Contains(string(card.Blocks), actionWorkaround) {
		t.Fatalf("workaround button without a linked known error: %s", card.Blocks)
	}
	bob := intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "api"}
	if _, err := kes.Link(w.ctx, inc.ID, bob, k.ID, ""); err != nil {
		t.Fatal(err)
	}
	w.drain()
	card := w.withButton(triage, actionWorkaround)
	value := w.button(card, actionWorkaround)
	if value != inc.ID+" "+k.ID || !strings.Contains(string(card.Blocks), "Apply workaround "+k.ID) || !strings.Contains(string(card.Blocks), "*Known error*\\n"+k.ID) {
		t.Fatalf("card: value %q, blocks %s", value, card.Blocks)
	}
	w.click(nosy, triage, card.TS, actionWorkaround, value)
	w.click(alice, triage, card.TS, actionWorkaround, value)
	w.settle()
	got := w.incident(inc.ID)
	if len(got.Actions) != 1 || got.Actions[0].Author != "alice" || got.Actions[0].Text != "Workaround of "+k.ID+" applied: Remount the share from the portal" {
		t.Fatalf("actions %+v", got.Actions)
	}
	if eph := w.srv.Ephemerals(); len(eph) != 1 || eph[0].User != nosy {
		t.Errorf("ephemerals %+v", eph)
	}
	w.click(alice, triage, card.TS, actionWorkaround, "garbage")
	if got := w.incident(inc.ID); len(got.Actions) != 1 {
		t.Errorf("a malformed button acted: %+v", got.Actions)
	}
}
