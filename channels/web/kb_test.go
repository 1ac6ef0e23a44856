package web_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func newKBAPI(t *testing.T) (*api, *kb.Index) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix)
	reg := prometheus.NewRegistry()
	ix := kb.NewIndex()
	s := web.NewServer(web.Deps{Agents: store, Health: store,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Log: slog.New(slog.DiscardHandler), Registerer: reg,
		KB: web.KBDeps{Store: store, Lister: store, Index: ix, Solved: store, Now: time.Now}})
	a := &api{t: t, srv: httptest.NewServer(s), store: store, tokens: map[string]string{}}
	t.Cleanup(a.srv.Close)
	a.agent("root", true)
	a.agent("eve", false)
	a.agent("bob", false)
	if _, err := store.SetEditor(context.Background(), "eve", true); err != nil {
		t.Fatal(err)
	}
	return a, ix
}

const jamJSON = `{"id":"printer-jam","audience":"public","cis":["printer"],"categories":["hardware"],
 "texts":{"es":{"title":"Atascos de impresora","body":"Abre la **bandeja** <script>alert(1)</script>"},
          "en":{"title":"Printer paper jam","body":"Open the tray."}}}`

func TestKBArticlesCRUD(t *testing.T) {
	a, _ := newKBAPI(t)
	code, body := a.call("eve", "POST", "/api/v1/kb/articles", jamJSON)
	if code != http.StatusCreated || body["version"] != 1.0 || body["author"] != "eve" {
		t.Fatalf("create by editor: %d %v", code, body)
	}
	if code, _ := a.call("root", "POST", "/api/v1/kb/articles", jamJSON); code != http.StatusConflict {
		t.Errorf("duplicate create: %d", code)
	}
	code, body = a.call("bob", "GET", "/api/v1/kb/articles/printer-jam", "")
	if code != http.StatusOK {
		t.Fatalf("get: %d %v", code, body)
	}
	if body["solved"] != 0.0 {
		t.Errorf("solved count of a new article: %v", body["solved"])
	}
	if _, err := a.store.CountSolved(context.Background(), "printer-jam"); err != nil {
		t.Fatal(err)
	}
	if code, body := a.call("bob", "GET", "/api/v1/kb/articles/printer-jam", ""); code != http.StatusOK || body["solved"] != 1.0 {
		t.Errorf("solved count after a reporter's solved: %d %v", code, body["solved"])
	}
	if code, body := a.call("bob", "GET", "/api/v1/kb/articles", ""); code != http.StatusOK || body["solved"].(map[string]any)["printer-jam"] != 1.0 {
		t.Errorf("list's solved counts: %d %v", code, body["solved"])
	}
	html := body["html"].(map[string]any)["es"].(string)
	if !strings.Contains(html, "<strong>bandeja</strong>") || strings.Contains(html, "<script") {
		t.Errorf("rendered html %q", html)
	}
	upd := `{"version":1,"audience":"internal","texts":{"en":{"title":"Printer paper jam","body":"Open the rear cover."}}}`
	code, body = a.call("root", "PUT", "/api/v1/kb/articles/printer-jam", upd)
	if code != http.StatusOK || body["version"] != 2.0 || body["audience"] != "internal" {
		t.Fatalf("update: %d %v", code, body)
	}
	if code, _ := a.call("root", "PUT", "/api/v1/kb/articles/printer-jam", upd); code != http.StatusConflict {
		t.Errorf("stale update: %d, want 409", code)
	}
	if code, _ := a.call("root", "PUT", "/api/v1/kb/articles/printer-jam", `{"id":"other","audience":"public","texts":{"en":{"title":"x"}}}`); code != http.StatusBadRequest {
		t.Errorf("id mismatch: %d", code)
	}
	if code, body := a.call("bob", "GET", "/api/v1/kb/articles", ""); code != http.StatusOK || len(body["articles"].([]any)) != 1 {
		t.Errorf("list: %d %v", code, body)
	}
	if code, _ := a.call("eve", "DELETE", "/api/v1/kb/articles/printer-jam", ""); code != http.StatusOK {
		t.Errorf("delete: %d", code)
	}
	if code, _ := a.call("eve", "GET", "/api/v1/kb/articles/printer-jam", ""); code != http.StatusNotFound {
		t.Errorf("get after delete: %d", code)
	}
	if code, _ := a.call("eve", "DELETE", "/api/v1/kb/articles/printer-jam", ""); code != http.StatusNotFound {
		t.Errorf("second delete: %d", code)
	}
}

func TestKBWritesNeedAdminOrEditor(t *testing.T) {
	a, _ := newKBAPI(t)
	if code, _ := a.call("root", "POST", "/api/v1/kb/articles", jamJSON); code != http.StatusCreated {
		t.Fatalf("admin create: %d", code)
	}
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/kb/articles", strings.Replace(jamJSON, "printer-jam", "other", 1)},
		{"PUT", "/api/v1/kb/articles/printer-jam", jamJSON},
		{"DELETE", "/api/v1/kb/articles/printer-jam", ""},
	} {
		if code, body := a.call("bob", c.method, c.path, c.body); code != http.StatusForbidden {
			t.Errorf("%s %s by a plain agent: %d %v, want 403", c.method, c.path, code, body)
		}
		if code, _ := a.call("", c.method, c.path, c.body); code != http.StatusUnauthorized {
			t.Errorf("%s %s without a token: %d, want 401", c.method, c.path, code)
		}
	}
	if code, _ := a.call("bob", "GET", "/api/v1/kb/articles/printer-jam", ""); code != http.StatusOK {
		t.Errorf("a plain agent reads: %d", code)
	}
}

func TestKBBadInput(t *testing.T) {
	a, _ := newKBAPI(t)
	for name, body := range map[string]string{
		"not json":      `{`,
		"unknown field": `{"id":"x","audience":"public","texts":{"en":{"title":"T"}},"created":"2020-01-01T00:00:00Z"}`,
		"bad id":        `{"id":"Bad Id","audience":"public","texts":{"en":{"title":"T"}}}`,
		"no texts":      `{"id":"x","audience":"public"}`,
		"bad language":  `{"id":"x","audience":"public","texts":{"fr":{"title":"T"}}}`,
		"bad audience":  `{"id":"x","audience":"all","texts":{"en":{"title":"T"}}}`,
	} {
		if code, resp := a.call("root", "POST", "/api/v1/kb/articles", body); code != http.StatusBadRequest || resp["error"] == "" {
			t.Errorf("%s: %d %v, want 400 with an error", name, code, resp)
		}
	}
	for _, q := range []string{"", "?q=x&lang=fr", "?q=x&limit=0", "?q=x&limit=abc", "?q=x&limit=101"} {
		if code, _ := a.call("bob", "GET", "/api/v1/kb/search"+q, ""); code != http.StatusBadRequest {
			t.Errorf("search %q: %d, want 400", q, code)
		}
	}
}

func TestKBSearch(t *testing.T) {
	a, _ := newKBAPI(t)
	if code, _ := a.call("root", "POST", "/api/v1/kb/articles", jamJSON); code != http.StatusCreated {
		t.Fatal(code)
	}
	vpn := `{"id":"vpn","audience":"public","cis":["vpn"],"texts":{"es":{"title":"La VPN no conecta","body":"Reinicia el cliente."}}}`
	if code, _ := a.call("root", "POST", "/api/v1/kb/articles", vpn); code != http.StatusCreated {
		t.Fatal(code)
	}
	code, body := a.call("bob", "GET", "/api/v1/kb/search?q=la+impresora+se+atasca&lang=es", "")
	if code != http.StatusOK {
		t.Fatalf("search: %d %v", code, body)
	}
	res := body["results"].([]any)
	if len(res) != 1 {
		t.Fatalf("results %v", res)
	}
	first := res[0].(map[string]any)
	if first["id"] != "printer-jam" || first["title"] != "Atascos de impresora" || first["score"].(float64) <= 0 {
		t.Errorf("first %v", first)
	}
	if terms := first["terms"].([]any); len(terms) != 2 || terms[0] != "impresora" || terms[1] != "atasca" {
		t.Errorf("terms %v", terms)
	}
	// A deleted article is gone from this bot's index at once.
	a.call("root", "DELETE", "/api/v1/kb/articles/printer-jam", "")
	if _, body := a.call("bob", "GET", "/api/v1/kb/search?q=impresora", ""); len(body["results"].([]any)) != 0 {
		t.Errorf("after delete: %v", body)
	}
}
