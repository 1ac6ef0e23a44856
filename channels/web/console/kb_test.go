package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake/kb"
)

func (f *fixture) seedKB() {
	f.t.Helper()
	seed, err := kb.Seed()
	if err != nil {
		f.t.Fatal(err)
	}
	for _, a := range seed {
		if _, err := f.store.PutArticle(context.Background(), a, time.Now()); err != nil {
			f.t.Fatal(err)
		}
	}
}

func TestKBPagesListSearchAndShowSanitised(t *testing.T) {
	f := newFixture(t)
	f.seedKB()
	if _, err := f.store.CountSolved(context.Background(), "printer-jam"); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	c.login("alice", password)
	for _, tc := range []struct{ lang, heading, jam, solved string }{
		{"en", "Knowledge base", "Clearing a printer paper jam", "Solved a reporter's problem</dt><dd id=\"solved\">1 ×"},
		{"es", "Base de conocimiento", "Atascos de impresora", "Resolvió el problema de un usuario</dt><dd id=\"solved\">1 ×"},
	} {
		resp, page := c.do("GET", "/console/kb", nil, "Accept-Language", tc.lang)
		if resp.StatusCode != http.StatusOK || !strings.Contains(page, tc.heading) || !strings.Contains(page, `href="/console/kb/printer-jam"`) {
			t.Fatalf("%s list: %d\n%s", tc.lang, resp.StatusCode, page)
		}
		if strings.Contains(page, `href="/console/kb/_new"`) {
			t.Fatalf("alice (no editor) is offered a new article")
		}
		_, page = c.do("GET", "/console/kb?q="+url.QueryEscape("la impresora se atasca"), nil, "Accept-Language", tc.lang)
		if !strings.Contains(page, `href="/console/kb/printer-jam"`) || !strings.Contains(page, "<mark>") {
			t.Fatalf("%s search:\n%s", tc.lang, page)
		}
		_, page = c.do("GET", "/console/kb/printer-jam", nil, "Accept-Language", tc.lang)
		if !strings.Contains(page, tc.solved) || !strings.Contains(page, tc.jam) || strings.Contains(page, "/edit") {
			t.Fatalf("%s article:\n%s", tc.lang, page)
		}
	}
	if resp, _ := c.do("GET", "/console/kb/no-such-article", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown article: %d", resp.StatusCode)
	}
}

func TestKBEditingIsForEditorsWithCSRF(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	c := f.client()
	c.login("alice", password)
	_, page := c.do("GET", "/console/kb", nil)
	token := csrf(t, page) // the sign-out form's: the session's token
	form := url.Values{"csrf": {token}, "id": {"vpn-howto"}, "audience": {"public"}, "tags": {"vpn, remote"},
		"title_en": {"Connect to the VPN"}, "body_en": {"**Open** the client.\n\n<script>alert(1)</script><a href=\"javascript:alert(2)\">x</a>"},
		"title_es": {"Conectarse a la VPN"}, "body_es": {"Abra el cliente."}}
	// Not an editor: refused, in both ways in.
	if resp, page := c.do("GET", "/console/kb/_new", nil, "Accept-Language", "es"); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Solo los administradores y editores") {
		t.Fatalf("form for a non-editor: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := c.do("POST", "/console/kb", form); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("create by a non-editor: %d", resp.StatusCode)
	}
	if _, err := f.store.Article(ctx, "vpn-howto"); err == nil {
		t.Fatal("a non-editor's article was saved")
	}
	if _, err := f.store.SetEditor(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	// An editor without the CSRF token: refused.
	noCSRF := url.Values{}
	for k, v := range form {
		if k != "csrf" {
			noCSRF[k] = v
		}
	}
	if resp, _ := c.do("POST", "/console/kb", noCSRF); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("create without CSRF: %d", resp.StatusCode)
	}
	if resp, page := c.do("GET", "/console/kb/_new", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, `name="body_es"`) {
		t.Fatalf("form for an editor: %d\n%s", resp.StatusCode, page)
	}
	resp, _ := c.do("POST", "/console/kb", form)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/kb/vpn-howto?saved=1" {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = c.do("GET", "/console/kb/vpn-howto?saved=1", nil)
	if !strings.Contains(page, "<strong>Open</strong>") || strings.Contains(page, "<script>alert") || strings.Contains(page, "javascript:") {
		t.Fatalf("rendered body not sanitised Markdown:\n%s", page)
	}
	// The bot's index has it at once.
	if _, page := c.do("GET", "/console/kb?q=vpn+client", nil); !strings.Contains(page, `href="/console/kb/vpn-howto"`) {
		t.Fatalf("search after save:\n%s", page)
	}
	// An edit from a stale version is refused, in the agent's language,
	// with what was typed kept.
	edit := url.Values{"csrf": {token}, "version": {"1"}, "audience": {"internal"}, "title_en": {"Connect to the VPN v2"}, "body_en": {"New text"}}
	if resp, _ := c.do("POST", "/console/kb/vpn-howto", edit); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("edit: %d", resp.StatusCode)
	}
	resp, page = c.do("POST", "/console/kb/vpn-howto", edit, "Accept-Language", "es")
	if resp.StatusCode != http.StatusConflict || !strings.Contains(page, "Alguien guardó este artículo") || !strings.Contains(page, "Connect to the VPN v2") {
		t.Fatalf("stale edit: %d\n%s", resp.StatusCode, page)
	}
	// Bad input: a clear error, nothing saved.
	bad := url.Values{"csrf": {token}, "id": {"Bad Id!"}, "audience": {"public"}, "title_en": {"x"}}
	if resp, page := c.do("POST", "/console/kb", bad); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "lowercase letters") {
		t.Fatalf("bad id: %d\n%s", resp.StatusCode, page)
	}
	a, err := f.store.Article(ctx, "vpn-howto")
	if err != nil || a.Version != 2 || a.Audience != kb.Internal || a.Author != "alice" {
		t.Fatalf("stored %+v %v", a, err)
	}
}
