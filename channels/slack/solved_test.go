package slack

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
)

// accessory is the value of the section button actionID of a message.
func (w *world) accessory(blocks json.RawMessage, actionID string) string {
	w.t.Helper()
	var bs []struct {
		Accessory struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"accessory"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		w.t.Fatal(err)
	}
	for _, b := range bs {
		if b.Accessory.ActionID == actionID {
			return b.Accessory.Value
		}
	}
	w.t.Fatalf("no button %s in %s", actionID, blocks)
	return ""
}

func TestSolvedBySlackButton(t *testing.T) {
	w := newWorld(t)
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	w.engine.UseKB(workflow.Suggestions{Index: kb.NewIndex(seed...), MinScore: kb.DefaultMinScore, Counter: w.store})
	w.dm(ana, "La impresora se atasca con cada hoja, el papel queda atascado")
	inc := w.onlyIncident()
	if offered := inc.ReporterSuggestions(kb.DefaultMinScore); len(offered) == 0 || offered[0].ID != "printer-jam" {
		t.Fatalf("offered %+v", offered)
	}
	w.drain()
	// The acknowledgment offers the article, in Spanish, with its button.
	ack := w.withButton(ana, actionSolved+"1")
	if b := string(ack.Blocks); !strings.Contains(b, "Estos artículos pueden resolverlo") || !strings.Contains(b, "Esto resolvió mi problema") {
		t.Fatalf("acknowledgment blocks: %s", b)
	}
	value := w.accessory(ack.Blocks, actionSolved+"1")
	// The triage card shows the agents what was found and why.
	card := w.withButton(triage, actionTake)
	if b := string(card.Blocks); !strings.Contains(b, "Suggested by the knowledge base") || !strings.Contains(b, "printer-jam") {
		t.Fatalf("triage card lacks the suggestions: %s", b)
	}
	// Somebody else's click changes nothing.
	w.click(nosy, ack.Channel, ack.TS, actionSolved+"1", value)
	w.settle()
	if got := w.incident(inc.ID); got.State != intake.Analysis {
		t.Fatalf("a stranger's click moved it to %s", got.State)
	}
	w.click(ana, ack.Channel, ack.TS, actionSolved+"1", value)
	w.settle()
	got := w.incident(inc.ID)
	if got.State != intake.Satisfaction || got.History[len(got.History)-1].Event != string(intake.EventSolved) {
		t.Fatalf("state %s history %+v", got.State, got.History)
	}
	// A second click (Slack retries, double clicks) counts once.
	w.click(ana, ack.Channel, ack.TS, actionSolved+"1", value)
	w.settle()
	counts, err := w.store.SolvedCounts(w.ctx)
	if err != nil || counts["printer-jam"] != 1 {
		t.Fatalf("counts %v %v", counts, err)
	}
	var told []string
	for _, e := range w.srv.Ephemerals() {
		told = append(told, e.User+": "+e.Text)
	}
	all := strings.Join(told, "\n")
	if !strings.Contains(all, nosy+": Only the person who reported") || !strings.Contains(all, ana+": *"+inc.ID+"*: nos alegra") {
		t.Fatalf("ephemerals:\n%s", all)
	}
	// The rating question follows in her thread.
	w.drain()
	w.withButton(ana, actionRate+"5")
}
