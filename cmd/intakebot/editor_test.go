package main

import (
	"maps"
	"net/http"
	"strings"
	"testing"
)

// apiCall sends a JSON body with a token and returns the status.
func apiCall(t *testing.T, method, url, token, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// The editor flag, set by the CLI and by an admin through the API, is
// what lets a non-admin agent change the knowledge base.
func TestEditorFlagGatesKBChanges(t *testing.T) {
	env := kbEnv(t)
	s := startServe(t, maps.Clone(env))
	carol := lastLine(t, mustCLI(t, env, "agents", "add", "carol"))
	out := mustCLI(t, env, "agents", "add", "ed", "--editor")
	ed := lastLine(t, out)
	if !strings.Contains(out, "agent (editor)") {
		t.Fatalf("add --editor: %s", out)
	}
	root := lastLine(t, mustCLI(t, env, "agents", "add", "root", "--admin"))
	for _, line := range strings.Split(mustCLI(t, env, "agents", "list"), "\n") {
		if f := strings.Fields(line); len(f) > 1 && (f[0] == "ed") != (f[1] == "editor") {
			t.Fatalf("agents list role: %q", line)
		}
	}
	article := func(id string) string {
		return `{"id":"` + id + `","audience":"public","texts":{"en":{"title":"Printer","body":"Open the tray."}}}`
	}
	articles := s.url + "/api/v1/kb/articles"
	if code := apiCall(t, "POST", articles, carol, article("a1")); code != http.StatusForbidden {
		t.Fatalf("carol (no flag) created an article: %d", code)
	}
	if code := apiCall(t, "POST", articles, ed, article("a1")); code != http.StatusCreated {
		t.Fatalf("ed (editor) could not create: %d", code)
	}
	if out := mustCLI(t, env, "agents", "editor", "ed", "off"); !strings.Contains(out, "no longer") {
		t.Fatalf("editor off: %s", out)
	}
	if code := apiCall(t, "DELETE", articles+"/a1", ed, ""); code != http.StatusForbidden {
		t.Fatalf("ed after off deleted: %d", code)
	}
	// Only an admin sets the flag through the API.
	if code := apiCall(t, "PUT", s.url+"/api/v1/agents/carol/editor", carol, `{"editor":true}`); code != http.StatusForbidden {
		t.Fatalf("carol made herself an editor: %d", code)
	}
	if code := apiCall(t, "PUT", s.url+"/api/v1/agents/carol/editor", root, `{}`); code != http.StatusBadRequest {
		t.Fatalf("no editor field: %d", code)
	}
	if code := apiCall(t, "PUT", s.url+"/api/v1/agents/nobody/editor", root, `{"editor":true}`); code != http.StatusNotFound {
		t.Fatalf("unknown agent: %d", code)
	}
	if code := apiCall(t, "PUT", s.url+"/api/v1/agents/carol/editor", root, `{"editor":true}`); code != http.StatusOK {
		t.Fatalf("admin setting the flag: %d", code)
	}
	if code := apiCall(t, "DELETE", articles+"/a1", carol, ""); code != http.StatusOK {
		t.Fatalf("carol as editor could not delete: %d", code)
	}
	if _, err := cli(env, "agents", "editor", "carol", "maybe"); err == nil || !strings.Contains(err.Error(), "not on or off") {
		t.Fatalf("editor maybe: %v", err)
	}
}
