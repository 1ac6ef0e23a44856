package web_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web"
)

// fuzzEndpoints are the requests whose JSON body the API decodes; {id}
// stands for an incident made before fuzzing starts.
var fuzzEndpoints = []string{
	"/api/v1/incidents",
	"/api/v1/incidents/{id}/actions",
	"/api/v1/incidents/{id}/transitions",
	"/api/v1/incidents/{id}/assign",
	"/api/v1/incidents/{id}/escalate",
	"/api/v1/incidents/{id}/recategorize",
	"/api/v1/incidents/{id}/survey",
	"/api/v1/inbound/release",
}

// FuzzAPIRequest posts arbitrary bodies to every endpoint that decodes
// JSON, through the whole server and a real store. Whatever the body, the
// answer is JSON and never a 5xx, an error answer has an error and a code,
// and an incident created through it is never reported in the future.
// Seeds are well-formed requests whose texts are real reply bodies from
// testdata/mail, and their near misses.
func FuzzAPIRequest(f *testing.F) {
	a := newAPI(f)
	a.agent("alice", true)
	a.agent("bob", false)
	id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "printer"}`, 201)["id"].(string)

	paths, err := filepath.Glob(filepath.Join("testdata", "mail", "*.txt"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no mail fixtures in testdata/mail: %v", err)
	}
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		text := string(raw)
		subject, _, _ := strings.Cut(text, "\n")
		f.Add(uint8(0), []byte(`{"subject": `+quote(subject)+`, "description": `+quote(text)+
			`, "reporter": {"name": "Ana", "email": "ana@example.test", "language": "es"}, "impact": "high", "reported_at": "2026-11-25T09:00:00Z"}`))
		f.Add(uint8(1), []byte(`{"text": `+quote(text)+`}`))
		f.Add(uint8(6), []byte(`{"step": "satisfaction", "rating": 4, "comment": `+quote(text)+`}`))
	}
	for i, body := range []string{
		`{"subject": "x", "reported_at": "9999-12-31T23:59:59Z"}`,
		`{"subject": "x", "related_id": "` + id + `"}`,
		`{"to": "solution", "note": "found it"}`,
		`{"owner": "bob"}`,
		`{"group": "networks", "level": 2}`,
		`{"category": "email"}`,
		`{"step": "validation", "answer": "yes"}`,
		`{"key": "mid:x@example.test"}`,
	} {
		f.Add(uint8(i), []byte(body))
	}
	for _, body := range []string{"", "null", "[]", `{"subject": "\ud800"}`, `{"subject": 1e999}`, `{"reporter": null}`, "{\"subject\": \"x\"}\x00"} {
		f.Add(uint8(0), []byte(body))
	}

	client := a.srv.Client()
	f.Fuzz(func(t *testing.T, endpoint uint8, body []byte) {
		path := strings.ReplaceAll(fuzzEndpoints[int(endpoint)%len(fuzzEndpoints)], "{id}", id)
		req, err := http.NewRequest("POST", a.srv.URL+path, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+a.tokens["alice"])
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("POST %s %q: status %d, answer is not a JSON object: %q", path, body, resp.StatusCode, raw)
		}
		switch {
		case resp.StatusCode >= 500:
			t.Fatalf("POST %s %q: status %d: %v", path, body, resp.StatusCode, out)
		case resp.StatusCode >= 400:
			if msg, _ := out["error"].(string); msg == "" || out["code"] == nil {
				t.Fatalf("POST %s %q: error answer without error and code: %v", path, body, out)
			}
		case resp.StatusCode == http.StatusCreated && path == "/api/v1/incidents":
			at, err := time.Parse(time.RFC3339Nano, fmtString(out["reported_at"]))
			if err != nil || at.After(time.Now().Add(web.MaxClockSkew)) {
				t.Fatalf("POST %s %q: created with reported_at %v", path, body, out["reported_at"])
			}
		}
	})
}

func fmtString(v any) string { s, _ := v.(string); return s }
