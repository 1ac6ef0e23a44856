package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

func TestIncidentPageShowsSuggestionsWithWhy(t *testing.T) {
	f := newFixture(t)
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: "La impresora se atasca",
		Description: "La impresora se atasca con cada hoja, el papel queda atascado",
		Reporter:    intake.Reporter{Name: "Ana", Email: "ana@example.test", Language: intake.Spanish}})
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.Suggestions) == 0 || inc.Suggestions[0].ID != "printer-jam" {
		t.Fatalf("suggestions %+v", inc.Suggestions)
	}
	c := f.client()
	c.login("alice", password)
	for _, tc := range []struct{ lang, heading, offered string }{
		{"en", "Suggestions", "offered to the reporter"},
		{"es", "Sugerencias", "ofrecido al usuario"},
	} {
		_, page := c.do("GET", "/console/incidents/"+inc.ID, nil, "Accept-Language", tc.lang)
		for _, want := range []string{tc.heading, tc.offered, `href="/console/kb/printer-jam"`, "<mark>atasca</mark>", inc.Suggestions[0].Title} {
			if !strings.Contains(page, want) {
				t.Fatalf("%s page lacks %q:\n%s", tc.lang, want, page)
			}
		}
	}
	// Solved by the reporter: the history says so in the agent's language.
	ana := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "web", Ref: "x"}
	if _, err := f.engine.Solved(context.Background(), inc.ID, ana, "printer-jam"); err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{"en": "Solved by the reporter with article", "es": "Resuelta por el usuario con el artículo"} {
		_, page := c.do("GET", "/console/incidents/"+inc.ID, nil, "Accept-Language", lang)
		if !strings.Contains(page, want) || !strings.Contains(page, "printer-jam") {
			t.Fatalf("%s history lacks %q:\n%s", lang, want, page)
		}
	}
}
