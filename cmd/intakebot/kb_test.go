package main

import (
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/poll"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func kbEnv(t *testing.T) map[string]string {
	_, prefix := redistest.New(t, redisstore.Connect)
	return map[string]string{"INTAKEBOT_REDIS_URL": os.Getenv(redistest.EnvURL), "INTAKEBOT_REDIS_PREFIX": prefix}
}

// The seed goes in, out to a folder, into another KB and out again: the
// two folders hold the same articles (creation dates and versions too),
// and the KB holds what the seed says.
func TestKBCLIImportExportRoundTrip(t *testing.T) {
	env := kbEnv(t)
	if out := mustCLI(t, env, "kb", "seed"); !strings.Contains(out, "Added 12 example articles and 2 example known errors") {
		t.Fatalf("seed: %s", out)
	}
	if out := mustCLI(t, env, "kb", "seed"); !strings.Contains(out, "Added 0 example articles and 0 example known errors") {
		t.Errorf("second seed must add nothing: %s", out)
	}
	first := t.TempDir()
	mustCLI(t, env, "kb", "export", first)
	other := kbEnv(t)
	if out := mustCLI(t, other, "kb", "import", first); !strings.Contains(out, "Imported 12 articles") {
		t.Fatalf("import: %s", out)
	}
	second := t.TempDir()
	mustCLI(t, other, "kb", "export", second)

	a, err := kb.ReadFS(os.DirFS(first))
	if err != nil {
		t.Fatal(err)
	}
	b, err := kb.ReadFS(os.DirFS(second))
	if err != nil {
		t.Fatal(err)
	}
	// An import is a save: only the update time may differ.
	for i := range b {
		b[i].Updated = a[i].Updated
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("exports differ after a round trip:\n%+v\n%+v", a, b)
	}
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != len(seed) {
		t.Fatalf("%d articles exported, %d in the seed", len(a), len(seed))
	}
	for i := range seed {
		if a[i].ID != seed[i].ID || !reflect.DeepEqual(a[i].Texts, seed[i].Texts) || a[i].Version != 1 {
			t.Errorf("article %s changed on the way: %+v", seed[i].ID, a[i])
		}
	}
	list := mustCLI(t, other, "kb", "list")
	if !strings.Contains(list, "printer-jam") || !strings.Contains(list, "Clearing a printer paper jam") {
		t.Errorf("list:\n%s", list)
	}
}

func TestKBCLIAddEditShowRemove(t *testing.T) {
	env := kbEnv(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	en := write("vpn.en.md", "---\nid: vpn\nlang: en\ntitle: VPN does not connect\naudience: public\n---\nRestart the client.\n")
	es := write("vpn.es.md", "---\nid: vpn\nlang: es\ntitle: La VPN no conecta\naudience: public\n---\nReinicia el cliente.\n")
	if out := mustCLI(t, env, "kb", "add", en, es); !strings.Contains(out, "Saved vpn, version 1") {
		t.Fatalf("add: %s", out)
	}
	if _, err := cli(env, "kb", "add", en); err == nil {
		t.Error("adding an existing article must fail")
	}
	en2 := write("vpn.en.md", "---\nid: vpn\nlang: en\ntitle: VPN does not connect\naudience: public\nversion: 1\n---\nQuit and restart the client.\n")
	if out := mustCLI(t, env, "kb", "edit", en2); !strings.Contains(out, "version 2") {
		t.Fatalf("edit: %s", out)
	}
	if _, err := cli(env, "kb", "edit", en2); err == nil || !strings.Contains(err.Error(), "version") {
		t.Errorf("a stale edit must fail: %v", err)
	}
	show := mustCLI(t, env, "kb", "show", "vpn")
	if !strings.Contains(show, "Quit and restart the client.") || strings.Contains(show, "Reinicia") {
		t.Errorf("show (the edit had English only):\n%s", show)
	}
	hist := mustCLI(t, env, "kb", "show", "vpn", "--history")
	if !strings.Contains(hist, "Reinicia el cliente.") || !strings.Contains(hist, "(version 2)") {
		t.Errorf("history:\n%s", hist)
	}
	mustCLI(t, env, "kb", "rm", "vpn")
	if _, err := cli(env, "kb", "show", "vpn"); err == nil {
		t.Error("show after rm must fail")
	}
	if _, err := cli(env, "kb", "rm", "vpn"); err == nil {
		t.Error("second rm must fail")
	}
}

func TestKBCLIBadInput(t *testing.T) {
	env := kbEnv(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "x.en.md")
	if err := os.WriteFile(bad, []byte("no front matter\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"kb", "add", bad},
		{"kb", "import", dir},
		{"kb", "import", t.TempDir()}, // empty folder
		{"kb", "import", filepath.Join(dir, "missing")},
		{"kb", "add", filepath.Join(dir, "missing.en.md")},
	} {
		if out, err := cli(env, args...); err == nil {
			t.Errorf("%v: no error\n%s", args, out)
		}
	}
	for _, args := range [][]string{{"kb"}, {"kb", "frobnicate"}, {"kb", "show"}, {"kb", "add"}, {"kb", "list", "extra"}, {"kb", "export"}} {
		var u usageError
		if _, err := cli(env, args...); !errors.As(err, &u) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// kbSearch asks a running bot's API and returns the ids found.
func kbSearch(t *testing.T, url, token, query string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", url+"/api/v1/kb/search?q="+neturl.QueryEscape(query), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Results []struct{ ID string } }
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("search %q: status %d, %v", query, resp.StatusCode, err)
	}
	var ids []string
	for _, r := range body.Results {
		ids = append(ids, r.ID)
	}
	return ids
}

// Local mode ships the seed: a Spanish report finds its Spanish article.
func TestLocalModeServesTheSeededKB(t *testing.T) {
	s := startServe(t, map[string]string{})
	if s.token == "" {
		t.Fatal("local mode printed no token")
	}
	if got := kbSearch(t, s.url, s.token, "la impresora se atasca"); len(got) == 0 || got[0] != "printer-jam" {
		t.Errorf("search: %v\n%s", got, strings.Join(s.lines, "\n"))
	}
}

// An article added elsewhere (here by the CLI) reaches a running bot's
// in-memory index through the change stream.
func TestServeFollowsKBChanges(t *testing.T) {
	env := kbEnv(t)
	s := startServe(t, maps.Clone(env))
	out := mustCLI(t, env, "agents", "add", "alice")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	if got := kbSearch(t, s.url, token, "vpn"); len(got) != 0 {
		t.Fatalf("a bot with configured redis must not seed: %v", got)
	}
	p := filepath.Join(t.TempDir(), "vpn.es.md")
	if err := os.WriteFile(p, []byte("---\nid: vpn\nlang: es\ntitle: La VPN no conecta\naudience: public\n---\nReinicia el cliente.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, env, "kb", "add", p)
	poll.Until(t, "the running bot to see the new article", 10*time.Second, func() bool {
		return len(kbSearch(t, s.url, token, "no conecto con la vpn")) > 0
	})
	mustCLI(t, env, "kb", "rm", "vpn")
	poll.Until(t, "the running bot to see the deletion", 10*time.Second, func() bool {
		return len(kbSearch(t, s.url, token, "vpn")) == 0
	})
}
