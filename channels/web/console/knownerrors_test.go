package console_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

func (f *fixture) knownError(symptom, workaround string, lang intake.Lang, cis ...string) kb.KnownError {
	f.t.Helper()
	k, err := f.store.CreateKnownError(context.Background(), "", kb.KnownError{Lang: lang, Status: kb.KEOpen, Author: "root",
		Symptom: symptom, Workaround: workaround, CIs: cis}, f.clock.Now())
	if err != nil {
		f.t.Fatal(err)
	}
	return k
}

// A plain agent reads the list but may not write: no form offered, and a
// forged post is refused with 403 and changes nothing.
func TestKnownErrorsPagePlainAgentCannotEdit(t *testing.T) {
	f := newFixture(t)
	k := f.knownError("VPN disconnects every few minutes", "Reinstall client 5.1", intake.English)
	c := f.client()
	c.login("alice", password)
	resp, page := c.do("GET", "/console/known-errors", nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, k.ID+" · VPN disconnects every few minutes") || !strings.Contains(page, "0 incidents") {
		t.Fatalf("list: %d\n%s", resp.StatusCode, page)
	}
	if strings.Contains(page, `value="create"`) || strings.Contains(page, `value="fix"`) {
		t.Errorf("a plain agent is offered to write known errors")
	}
	if !strings.Contains(page, `href="/console/known-errors" aria-current="page">Known errors`) {
		t.Errorf("no menu entry")
	}
	for _, op := range []string{"create", "fix"} {
		resp, page := c.do("POST", "/console/known-errors", url.Values{"csrf": {csrf(t, page)}, "op": {op}, "id": {k.ID},
			"symptom": {"x"}, "workaround": {"y"}, "lang": {"en"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Only admins and knowledge-base editors") {
			t.Errorf("%s by a plain agent: %d\n%s", op, resp.StatusCode, page)
		}
	}
	// Without the CSRF token, not even an admin passes.
	r := f.client()
	r.login("root", password)
	if resp, _ := r.do("POST", "/console/known-errors", url.Values{"op": {"fix"}, "id": {k.ID}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("post without CSRF: %d", resp.StatusCode)
	}
	if got, _ := f.store.KnownError(context.Background(), k.ID); got.Status != kb.KEOpen || got.Version != 1 {
		t.Errorf("changed by refused posts: %+v", got)
	}
	if resp, _ := c.do("GET", "/console/known-errors?status=bogus", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad status filter: %d", resp.StatusCode)
	}
}

// An admin creates, fixes and reopens, in English and Spanish; a bad form
// is refused on the page with what was typed kept.
func TestKnownErrorsPageAdminCreatesAndFixes(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("root", password)
	_, page := c.do("GET", "/console/known-errors", nil)
	if !strings.Contains(page, "No known errors yet") {
		t.Errorf("empty list:\n%s", page)
	}
	form := url.Values{"csrf": {csrf(t, page)}, "op": {"create"}, "symptom": {"La impresora imprime en blanco"},
		"root_cause": {"Tóner defectuoso"}, "workaround": {""}, "cis": {"printer, floor3"}, "lang": {"es"}}
	resp, page := c.do("POST", "/console/known-errors", form, "Accept-Language", "es")
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "Algo del formulario no es válido") || !strings.Contains(page, "Tóner defectuoso</textarea>") {
		t.Fatalf("without a workaround: %d\n%s", resp.StatusCode, page)
	}
	form.Set("workaround", "Cambiar el cartucho")
	form.Set("nonce", "n1")
	for range 2 { // a double submit: one known error
		resp, _ = c.do("POST", "/console/known-errors", form)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/known-errors?done=create" {
			t.Fatalf("create: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if list, _ := f.store.KnownErrors(context.Background()); len(list) != 1 {
		t.Fatalf("%d known errors after a double submit", len(list))
	}
	k, err := f.store.KnownError(context.Background(), "KE-000001")
	if err != nil || k.Lang != intake.Spanish || !slices.Equal(k.CIs, []string{"printer", "floor3"}) || k.Author != "root" {
		t.Fatalf("stored %+v %v", k, err)
	}
	_, page = c.do("GET", "/console/known-errors?done=create", nil, "Accept-Language", "es")
	for _, want := range []string{"Se ha guardado el error conocido", "KE-000001 · La impresora imprime en blanco", "Abierto", "0 incidencias", "Marcar KE-000001 como corregido"} {
		if !strings.Contains(page, want) {
			t.Errorf("Spanish list lacks %q", want)
		}
	}
	// Edit: the form carries the version it was made from.
	edit := url.Values{"csrf": {csrf(t, page)}, "op": {"edit"}, "id": {"KE-000001"}, "version": {"1"}, "lang": {"es"},
		"symptom": {"La impresora imprime páginas en blanco"}, "root_cause": {"Tóner defectuoso"}, "workaround": {"Cambiar el cartucho por otro lote"}, "cis": {"printer"}}
	if resp, _ := c.do("POST", "/console/known-errors", edit); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/known-errors?done=edit" {
		t.Fatalf("edit: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if k, _ := f.store.KnownError(context.Background(), "KE-000001"); k.Version != 2 || k.Workaround != "Cambiar el cartucho por otro lote" || k.Author != "root" {
		t.Errorf("after edit %+v", k)
	}
	edit.Set("workaround", "an older editor's text")
	resp, page = c.do("POST", "/console/known-errors", edit) // still version 1: refused, the text kept in its form
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Someone saved this known error") || !strings.Contains(page, "an older editor&#39;s text</textarea>") || !strings.Contains(page, "<details open><summary>Edit") {
		t.Fatalf("stale edit: %d\n%s", resp.StatusCode, page)
	}
	resp, _ = c.do("POST", "/console/known-errors", url.Values{"csrf": {csrf(t, page)}, "op": {"fix"}, "id": {"KE-000001"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("fix: %d", resp.StatusCode)
	}
	_, page = c.do("GET", "/console/known-errors?status=fixed&done=fix", nil)
	if !strings.Contains(page, "marked fixed") || !strings.Contains(page, "Open KE-000001 again") {
		t.Errorf("English list after fix:\n%s", page)
	}
	if _, page = c.do("GET", "/console/known-errors?status=open", nil); strings.Contains(page, "KE-000001 ·") {
		t.Errorf("a fixed known error is listed as open")
	}
}

// On the incident page: link, apply the workaround in one click (an
// action in the history), unlink, and make a known error from it.
func TestIncidentPageKnownErrorCard(t *testing.T) {
	f := newFixture(t)
	k := f.knownError("VPN disconnects every few minutes", "Reinstall client 5.1", intake.English)
	inc := f.report("La VPN se desconecta")
	c := f.client()
	c.login("alice", password)
	p := "/console/incidents/" + inc.ID
	_, page := c.do("GET", p, nil)
	if !strings.Contains(page, "Not linked to a known error.") || !strings.Contains(page, `<option value="`+k.ID+`">`+k.ID+` · VPN disconnects`) {
		t.Fatalf("card before linking:\n%s", page)
	}
	if strings.Contains(page, `value="ke_create"`) {
		t.Errorf("a plain agent is offered to make a known error")
	}
	post := func(form url.Values, lang string) (*http.Response, string) {
		t.Helper()
		_, page := c.do("GET", p, nil)
		form.Set("csrf", csrf(t, page))
		return c.do("POST", p, form, "Accept-Language", lang)
	}
	if resp, _ := post(url.Values{"op": {"ke_link"}, "known_error": {k.ID}}, "en"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("link: %d", resp.StatusCode)
	}
	_, page = c.do("GET", p, nil)
	if !strings.Contains(page, `id="ke-workaround">Reinstall client 5.1`) || !strings.Contains(page, "Apply the workaround") {
		t.Fatalf("card after linking:\n%s", page)
	}
	if resp, _ := post(url.Values{"op": {"ke_apply"}, "known_error": {k.ID}, "nonce": {"n1"}}, "en"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("apply: %d", resp.StatusCode)
	}
	post(url.Values{"op": {"ke_apply"}, "known_error": {k.ID}, "nonce": {"n1"}}, "en") // a double click: one action
	got, _ := f.engine.Get(context.Background(), inc.ID)
	if len(got.Actions) != 1 || got.Actions[0].Text != "Workaround of KE-000001 applied: Reinstall client 5.1" || got.Actions[0].Author != "alice" {
		t.Errorf("actions %+v", got.Actions)
	}
	_, page = c.do("GET", p, nil, "Accept-Language", "es")
	if !strings.Contains(page, "<strong>Error conocido</strong>") || !strings.Contains(page, "Aplicar la solución temporal") {
		t.Errorf("Spanish page: no history entry or card:\n%s", page)
	}
	if resp, _ := post(url.Values{"op": {"ke_link"}, "known_error": {"KE-000077"}}, "es"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("link to a missing known error: %d", resp.StatusCode)
	}
	if resp, page := post(url.Values{"op": {"ke_create"}, "workaround": {"x"}}, "en"); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Only admins") {
		t.Errorf("make by a plain agent: %d", resp.StatusCode)
	}
	if resp, _ := post(url.Values{"op": {"ke_unlink"}}, "en"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("unlink: %d", resp.StatusCode)
	}
	if got, _ := f.store.KnownError(context.Background(), k.ID); len(got.Incidents) != 0 {
		t.Errorf("still linked: %v", got.Incidents)
	}
	// An admin makes a known error from it: the reporter's Spanish words.
	r := f.client()
	r.login("root", password)
	_, page = r.do("GET", p, nil)
	if !strings.Contains(page, "Make a known error from this") {
		t.Fatalf("no make form for an admin:\n%s", page)
	}
	resp, _ := r.do("POST", p, url.Values{"csrf": {csrf(t, page)}, "op": {"ke_create"}, "root_cause": {"Certificado caducado"}, "workaround": {"Reinstalar el cliente 5.1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("make: %d", resp.StatusCode)
	}
	made, err := f.store.KnownError(context.Background(), "KE-000002")
	if err != nil || made.Lang != intake.Spanish || !strings.HasPrefix(made.Symptom, "La VPN se desconecta") || !slices.Equal(made.Incidents, []string{inc.ID}) {
		t.Errorf("made %+v %v", made, err)
	}
	_, page = r.do("GET", "/console/known-errors", nil)
	if !strings.Contains(page, "1 incident") || !strings.Contains(page, "made from <a href=\"/console/incidents/"+inc.ID) {
		t.Errorf("list after make:\n%s", page)
	}
}
