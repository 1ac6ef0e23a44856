package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

var nonceField = regexp.MustCompile(`name="nonce" value="([^"]+)"`)

// The action form offers "Tell the reporter" in the agent's language. Ticked,
// the action becomes a public note: queued to the reporter once (a double
// submit of the same form adds nothing), shown apart from the internal
// actions and named in the history; unticked, it stays internal. A POST
// without the CSRF token changes nothing.
func TestConsoleTellsTheReporterOnlyWhenAsked(t *testing.T) {
	for _, c := range []struct{ lang, label, badge, history, hint string }{
		{"en", "Tell the reporter: send this note to them", "To the reporter", "Note to the reporter", "They get it by e-mail."},
		{"es", "Avisar al usuario: enviarle esta nota", "Para el usuario", "Nota para el usuario", "La recibe por correo electrónico."},
	} {
		t.Run(c.lang, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			inc := f.report("VPN down")
			cl := f.client()
			cl.login("alice", password)
			path := "/console/incidents/" + inc.ID
			get := func() string {
				t.Helper()
				_, page := cl.do("GET", path, nil, "Accept-Language", c.lang)
				return page
			}
			page := get()
			if !strings.Contains(page, `name="public"`) || !strings.Contains(page, c.label) || !strings.Contains(page, c.hint) {
				t.Fatalf("no %q checkbox on the page:\n%s", c.label, page)
			}
			post := func(form url.Values, want int) {
				t.Helper()
				if resp, body := cl.do("POST", path, form, "Accept-Language", c.lang); resp.StatusCode != want {
					t.Fatalf("%v: %d, want %d\n%s", form, resp.StatusCode, want, body)
				}
			}
			post(url.Values{"op": {"action"}, "text": {"Told you so"}, "public": {"1"}}, http.StatusForbidden)
			token, nonce := csrf(t, page), nonceField.FindStringSubmatch(page)[1]
			note := url.Values{"op": {"action"}, "text": {"Please restart your laptop once."}, "public": {"1"}, "csrf": {token}, "nonce": {nonce}}
			post(note, http.StatusSeeOther)
			post(note, http.StatusSeeOther) // the same form again: one change
			page = get()
			post(url.Values{"op": {"action"}, "text": {"INTERNAL: gateway log rotated"}, "csrf": {token}, "nonce": {nonceField.FindStringSubmatch(page)[1]}}, http.StatusSeeOther)

			got, err := f.engine.Get(ctx, inc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Actions) != 2 || !got.Actions[0].Public || got.Actions[1].Public {
				t.Fatalf("actions %+v: want one public note, then one internal action", got.Actions)
			}
			msgs, err := f.store.Outbox(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			notes := 0
			for _, m := range msgs {
				if m.Kind == intake.NoticeNote {
					notes++
				}
			}
			if notes != 1 {
				t.Fatalf("%d notes queued, want 1: %+v", notes, msgs)
			}

			page = get()
			public := regexp.MustCompile(`<div class="public"><strong>alice</strong>[^\n]*` + regexp.QuoteMeta(c.badge) + `[^\n]*Please restart your laptop once.`)
			if !public.MatchString(page) {
				t.Fatalf("the public note is not marked %q:\n%s", c.badge, page)
			}
			if strings.Count(page, `class="public"`) != 1 {
				t.Fatalf("the internal action is marked public too:\n%s", page)
			}
			if !strings.Contains(page, "<strong>"+c.history+"</strong>") {
				t.Fatalf("the history does not say %q:\n%s", c.history, page)
			}
		})
	}
}
