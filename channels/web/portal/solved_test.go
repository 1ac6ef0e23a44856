package portal_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// internalArticle is for agents only; it matches a printer jam as well as
// the public printer-jam article does, so it is among the incident's
// suggestions, but never offered to the reporter.
var internalArticle = kb.Article{ID: "printer-jam-firmware", Audience: kb.Internal, Author: "service-desk",
	Categories: []string{"hardware"}, CIs: []string{"printer"}, Created: time.Unix(1700000000, 0).UTC(),
	Texts: map[intake.Lang]kb.Text{
		intake.English: {Title: "Printer jams: reflash the firmware (internal)", Body: "The printer jams on every page: paper stuck. Reflash with the admin password **hunter2**."},
		intake.Spanish: {Title: "Atascos: reinstalar el firmware (interno)", Body: "La impresora se atasca con cada hoja, el papel queda atascado. Reinstale con la clave **hunter2**."},
	}}

// jam registers, for the demo reporter, a printer-jam report in lang: the
// seed KB offers its reporter the printer-jam article.
func (f *fixture) jam(lang intake.Lang) *intake.Incident {
	f.t.Helper()
	text := map[intake.Lang]string{intake.English: "The printer jams on every page, paper stuck",
		intake.Spanish: "La impresora se atasca con cada hoja, el papel queda atascado"}[lang]
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: text,
		Reporter: intake.Reporter{Name: "Demo", Email: f.demo().Address, Language: lang}})
	if err != nil {
		f.t.Fatal(err)
	}
	if s := inc.ReporterSuggestions(f.engine.MinScore()); len(s) == 0 || s[0].ID != "printer-jam" {
		f.t.Fatalf("offered %+v, want printer-jam", s)
	}
	return inc
}

func (f *fixture) solvedCount(article string) int64 {
	f.t.Helper()
	counts, err := f.store.SolvedCounts(context.Background())
	if err != nil {
		f.t.Fatal(err)
	}
	return counts[article]
}

// The incident page lists the articles the acknowledgment offered, each
// with a link to read it and a "this solved my problem" form; using it
// takes the incident to the satisfaction question, counts the article
// once, and a second press is refused in words.
func TestOfferedArticleSolvesTheIncident(t *testing.T) {
	for _, c := range []struct {
		lang                                       intake.Lang
		offered, button, title, body, done, rating string
	}{
		{intake.English, "These articles may solve it right away", "This solved my problem", "Clearing a printer paper jam", "<strong>paper jam</strong>",
			"Glad it is solved! Please rate our help below.", "How did we do?"},
		{intake.Spanish, "Estos artículos pueden resolverlo ahora mismo", "Esto resolvió mi problema", "Atascos de impresora", "<strong>atasco de papel</strong>",
			"¡Nos alegra que esté resuelto! Valore nuestra ayuda abajo.", "¿Qué tal lo hicimos?"},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			f := newFixture(t)
			inc := f.jam(c.lang)
			cl := f.signedIn()
			path := "/portal/incidents/" + inc.ID
			resp, page := cl.do("GET", path, nil)
			read := `href="/portal/kb/printer-jam?from=` + inc.ID + `"`
			for _, want := range []string{c.offered, c.button, read, `name="article" value="printer-jam"`} {
				if resp.StatusCode != 200 || !strings.Contains(page, want) {
					t.Fatalf("incident page: %d, no %q\n%s", resp.StatusCode, want, page)
				}
			}
			if strings.Contains(page, internalArticle.ID) {
				t.Fatalf("the incident page names the internal article:\n%s", page)
			}
			// The article, opened from the incident, in the reporter's
			// language, with the same form.
			resp, art := cl.do("GET", "/portal/kb/printer-jam?from="+inc.ID, nil)
			for _, want := range []string{c.title, c.body, c.button, `action="/portal/incidents/` + inc.ID + `"`} {
				if resp.StatusCode != 200 || !strings.Contains(art, want) {
					t.Fatalf("article page: %d, no %q\n%s", resp.StatusCode, want, art)
				}
			}
			resp, _ = cl.do("POST", path, url.Values{"csrf": {csrf(t, art)}, "op": {"solved"}, "article": {"printer-jam"}})
			if resp.StatusCode != 303 || resp.Header.Get("Location") != path+"?done=solved" {
				t.Fatalf("solved: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			got, _ := f.engine.Get(context.Background(), inc.ID)
			if got.State != intake.Satisfaction || got.History[len(got.History)-1].Event != string(intake.EventSolved) {
				t.Fatalf("state %s history %+v", got.State, got.History)
			}
			if n := f.solvedCount("printer-jam"); n != 1 {
				t.Fatalf("solved count %d, want 1", n)
			}
			resp, page = cl.do("GET", path+"?done=solved", nil)
			if resp.StatusCode != 200 || !strings.Contains(page, c.done) || !strings.Contains(page, c.rating) || strings.Contains(page, c.offered) {
				t.Fatalf("after solved: %d\n%s", resp.StatusCode, page)
			}
			// Pressed again (a second tab): refused in words, counted once.
			resp, page = cl.do("POST", path, url.Values{"csrf": {csrf(t, page)}, "op": {"solved"}, "article": {"printer-jam"}})
			if resp.StatusCode != 409 || !strings.Contains(page, `id="refusal"`) {
				t.Fatalf("second solved: %d\n%s", resp.StatusCode, page)
			}
			if n := f.solvedCount("printer-jam"); n != 1 {
				t.Fatalf("solved count %d after a second press, want 1", n)
			}
			// Opened from the incident now, the article no longer offers it.
			if _, art := cl.do("GET", "/portal/kb/printer-jam?from="+inc.ID, nil); strings.Contains(art, `name="op" value="solved"`) {
				t.Fatalf("the article still offers solved:\n%s", art)
			}
		})
	}
}

// Only an offered article solves an incident: a public one that was not
// offered, an internal one, an unknown one are refused in words, and the
// incident and the counts stay as they were. Without the form's token
// the answer is 403, on another reporter's incident 404.
func TestSolvedIsRefusedUnlessOffered(t *testing.T) {
	f := newFixture(t)
	inc := f.jam(intake.English)
	theirs, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: "The printer jams on every page, paper stuck",
		Reporter: intake.Reporter{Name: "Other", Email: "someone.else@desk.test", Language: intake.English}})
	if err != nil {
		t.Fatal(err)
	}
	cl := f.signedIn()
	path := "/portal/incidents/" + inc.ID
	_, page := cl.do("GET", path, nil)
	token := csrf(t, page)
	for _, article := range []string{"vpn-connect", internalArticle.ID, "no-such-article", ""} {
		resp, body := cl.do("POST", path, url.Values{"csrf": {token}, "op": {"solved"}, "article": {article}})
		if resp.StatusCode != 400 || !strings.Contains(body, "This article was not offered for this incident.") {
			t.Errorf("solved with %q: %d\n%.600s", article, resp.StatusCode, body)
		}
	}
	if resp, _ := cl.do("POST", path, url.Values{"op": {"solved"}, "article": {"printer-jam"}}); resp.StatusCode != 403 {
		t.Errorf("solved without CSRF: %d, want 403", resp.StatusCode)
	}
	if resp, _ := cl.do("POST", "/portal/incidents/"+theirs.ID, url.Values{"csrf": {token}, "op": {"solved"}, "article": {"printer-jam"}}); resp.StatusCode != 404 {
		t.Errorf("solved on another reporter's incident: %d, want 404", resp.StatusCode)
	}
	for _, id := range []string{inc.ID, theirs.ID} {
		if got, _ := f.engine.Get(context.Background(), id); got.State != intake.Analysis {
			t.Errorf("%s is in %s after refused answers", id, got.State)
		}
	}
	counts, err := f.store.SolvedCounts(context.Background())
	if err != nil || len(counts) != 0 {
		t.Fatalf("solved counts %v %v, want none", counts, err)
	}
	// Once an agent proposes a solution, the offer is over: the page
	// lists nothing and the answer is refused.
	f.solve(inc.ID, "Cleared the paper path.")
	_, page = cl.do("GET", path, nil)
	if strings.Contains(page, `value="solved"`) {
		t.Fatalf("offered in validation:\n%s", page)
	}
	if resp, body := cl.do("POST", path, url.Values{"csrf": {token}, "op": {"solved"}, "article": {"printer-jam"}}); resp.StatusCode != 409 ||
		!strings.Contains(body, "This question was already answered or is no longer open.") {
		t.Fatalf("solved in validation: %d\n%.600s", resp.StatusCode, body)
	}
}

// A reporter reads public articles only: an internal article is "not
// found", the same as one that does not exist, whatever the incident the
// link claims; another reporter's incident adds no form.
func TestPortalArticlePageShowsPublicArticlesOnly(t *testing.T) {
	f := newFixture(t)
	inc := f.jam(intake.English)
	cl := f.signedIn()
	for _, path := range []string{"/portal/kb/" + internalArticle.ID, "/portal/kb/" + internalArticle.ID + "?from=" + inc.ID, "/portal/kb/no-such-article", "/portal/kb/KE-000001"} {
		resp, body := cl.do("GET", path, nil)
		if resp.StatusCode != 404 || strings.Contains(body, "hunter2") || !strings.Contains(body, "There is no such page or incident.") {
			t.Errorf("GET %s: %d, want 404\n%.400s", path, resp.StatusCode, body)
		}
	}
	theirs := f.report("someone.else@desk.test", "The printer jams on every page, paper stuck", intake.English)
	resp, body := cl.do("GET", "/portal/kb/printer-jam?from="+theirs.ID, nil)
	if resp.StatusCode != 200 || strings.Contains(body, `href="/portal/incidents/`+theirs.ID) || strings.Contains(body, `value="solved"`) {
		t.Fatalf("article from another's incident: %d\n%s", resp.StatusCode, body)
	}
	// Without a session: the sign-in page.
	if resp, _ := f.client().do("GET", "/portal/kb/printer-jam", nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/portal/login" {
		t.Fatalf("without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
