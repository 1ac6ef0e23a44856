package surveylink_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/intake"
)

// jam registers a printer-jam report in lang: the seed KB offers its
// reporter the printer-jam article.
func (f *fixture) jam(lang intake.Lang) *intake.Incident {
	f.t.Helper()
	text := map[intake.Lang]string{intake.English: "The printer jams on every page, paper stuck",
		intake.Spanish: "La impresora se atasca con cada hoja, el papel queda atascado"}[lang]
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: text,
		Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test", Language: lang}})
	if err != nil {
		f.t.Fatal(err)
	}
	if s := inc.ReporterSuggestions(f.engine.MinScore()); len(s) == 0 || s[0].ID != "printer-jam" {
		f.t.Fatalf("offered %+v, want printer-jam", s)
	}
	return inc
}

func (f *fixture) solvedLink(id, article string) string {
	f.t.Helper()
	tok, err := f.signer.SignSolved(id, article)
	if err != nil {
		f.t.Fatal(err)
	}
	return surveylink.SolvedURL(f.srv.URL, tok)
}

func TestSolvedByLink(t *testing.T) {
	for _, c := range []struct {
		lang                  intake.Lang
		title, button, thanks string
	}{
		{intake.English, "Did this article solve your problem?", "Yes, this solved my problem", "We are glad the article"},
		{intake.Spanish, "¿Le ha resuelto el problema este artículo?", "Sí, esto resolvió mi problema", "Nos alegra que el artículo"},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			f := newFixture(t)
			inc := f.jam(c.lang)
			link := f.solvedLink(inc.ID, "printer-jam")
			// GET only shows: a mail scanner following the link changes nothing.
			show(t, link).want(t, http.StatusOK, c.title, c.button, inc.ID, `method="post"`, inc.ReporterSuggestions(f.engine.MinScore())[0].Title)
			if got := f.get(inc.ID); got.State != intake.Analysis {
				t.Fatalf("a GET changed the state to %s", got.State)
			}
			post(t, link, url.Values{"solved": {"yes"}}).want(t, http.StatusOK, c.thanks, inc.ID)
			got := f.get(inc.ID)
			if got.State != intake.Satisfaction || got.History[len(got.History)-1].Event != string(intake.EventSolved) {
				t.Fatalf("state %s history %+v", got.State, got.History)
			}
			counts, err := f.store.SolvedCounts(context.Background())
			if err != nil || counts["printer-jam"] != 1 {
				t.Fatalf("solved counts %v %v", counts, err)
			}
			// The link works once.
			post(t, link, url.Values{"solved": {"yes"}}).want(t, http.StatusConflict)
			if counts, _ := f.store.SolvedCounts(context.Background()); counts["printer-jam"] != 1 {
				t.Fatalf("counted twice: %v", counts)
			}
		})
	}
}

func TestSolvedLinkRefusesForgedExpiredAndUnoffered(t *testing.T) {
	f := newFixture(t)
	inc := f.jam(intake.English)
	link := f.solvedLink(inc.ID, "printer-jam")
	// One character changed in the token: forged.
	b := []byte(link)
	if i := len(b) - 5; b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	post(t, string(b), url.Values{"solved": {"yes"}}).want(t, http.StatusBadRequest)
	// A survey link's token is not a solved link, though one key signs both.
	tok, err := f.signer.Sign(inc.ID, surveylink.StepValidation, 1)
	if err != nil {
		t.Fatal(err)
	}
	post(t, surveylink.SolvedURL(f.srv.URL, tok), url.Values{"solved": {"yes"}}).want(t, http.StatusBadRequest)
	// An article the incident never offered.
	post(t, f.solvedLink(inc.ID, "vpn-connect"), url.Values{"solved": {"yes"}}).want(t, http.StatusNotFound)
	// A form that does not say yes.
	post(t, link, url.Values{"solved": {"no"}}).want(t, http.StatusBadRequest)
	// Expired.
	f.clock.Add(surveylink.DefaultTTL + 1)
	post(t, link, url.Values{"solved": {"yes"}}).want(t, http.StatusGone)
	if got := f.get(inc.ID); got.State != intake.Analysis {
		t.Fatalf("state %s after refused links, want analysis", got.State)
	}
	if counts, _ := f.store.SolvedCounts(context.Background()); counts["printer-jam"] != 0 {
		t.Fatalf("counted: %v", counts)
	}
}

func TestSolvedLinkAfterValidationStartedIsAnswered(t *testing.T) {
	f := newFixture(t)
	inc := f.jam(intake.Spanish)
	link := f.solvedLink(inc.ID, "printer-jam")
	f.toValidation(inc.ID)
	show(t, link).want(t, http.StatusOK)
	post(t, link, url.Values{"solved": {"yes"}}).want(t, http.StatusConflict)
	if got := f.get(inc.ID); got.State != intake.Validation {
		t.Fatalf("state %s", got.State)
	}
}
