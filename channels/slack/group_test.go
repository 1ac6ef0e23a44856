package slack

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// A child of an outage gets its own acknowledgment in its reporter's
// language, saying that the outage is known and being worked on.
func TestChildAcknowledgmentSaysTheOutageIsKnown(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "the VPN is down")
	w.settle()
	parent := w.onlyIncident().ID
	w.dm(ana, "la VPN no funciona")
	w.settle()
	page, err := w.store.List(w.ctx, intake.ListFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var child string
	for _, inc := range page.Incidents {
		if inc.ID != parent {
			child = inc.ID
		}
	}
	// Grouped before the acknowledgment goes out: it is written at delivery.
	if err := w.store.Group(w.ctx, parent, child, "alice", "slack", ""); err != nil {
		t.Fatal(err)
	}
	w.drain()
	for user, want := range map[string]string{ana: "Es una avería general ya conocida y ya trabajamos en ella como *" + parent + "*",
		john: "An agent will analyse it"} {
		var all []string
		for _, m := range w.botMessages(user) {
			all = append(all, string(m.Blocks))
		}
		if !strings.Contains(strings.Join(all, "\n"), want) {
			t.Errorf("%s's acknowledgment lacks %q:\n%s", user, want, strings.Join(all, "\n"))
		}
	}
}

// The English phrase, for an English reporter.
func TestChildAcknowledgmentInEnglish(t *testing.T) {
	w := newWorld(t)
	w.dm(ana, "la VPN no funciona")
	w.settle()
	parent := w.onlyIncident().ID
	w.dm(john, "VPN down for me too")
	w.settle()
	page, err := w.store.List(w.ctx, intake.ListFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, inc := range page.Incidents {
		if inc.ID != parent {
			if err := w.store.Group(w.ctx, parent, inc.ID, "alice", "slack", ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	w.drain()
	var all []string
	for _, m := range w.botMessages(john) {
		all = append(all, string(m.Blocks))
	}
	if want := "This is a known outage, already being worked on as *" + parent + "*"; !strings.Contains(strings.Join(all, "\n"), want) {
		t.Errorf("john's acknowledgment lacks %q:\n%s", want, strings.Join(all, "\n"))
	}
}
