package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// status sends a request with a raw token and returns the status code.
func (a *api) status(token, method, path string) int {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestAgentsAPIIsForAdminsOnly(t *testing.T) {
	a := newAPI(t)
	a.agent("root", true)
	a.agent("alice", false)
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/agents", ""},
		{"POST", "/api/v1/agents", `{"name": "mallory", "admin": true}`},
		{"DELETE", "/api/v1/agents/root", ""},
		{"POST", "/api/v1/agents/root/rotate", ""},
		{"POST", "/api/v1/agents/root/password", `{"password": "taken over at last"}`},
	} {
		a.expect("alice", c.method, c.path, c.body, http.StatusForbidden)
		a.expect("", c.method, c.path, c.body, http.StatusUnauthorized)
	}
	// Nothing of it happened.
	if _, err := a.store.Agent(context.Background(), "mallory"); err == nil {
		t.Fatal("a plain agent created an agent")
	}
	if a.status(a.tokens["root"], "GET", "/api/v1/agents") != 200 {
		t.Fatal("a plain agent revoked or rotated the admin")
	}
	if _, err := a.store.CheckPassword(context.Background(), "root", "taken over at last"); err == nil {
		t.Fatal("a plain agent set the admin's password")
	}
}

func TestAgentsAPILifecycle(t *testing.T) {
	a := newAPI(t)
	a.agent("root", true)
	out := a.expect("root", "POST", "/api/v1/agents", `{"name": "bob", "expires": "90d"}`, 201)
	bob := out["token"].(string)
	if ag := out["agent"].(map[string]any); ag["name"] != "bob" || ag["admin"] != false || ag["expires_at"] == nil {
		t.Fatalf("created %v", out)
	}
	if a.status(bob, "GET", "/api/v1/incidents") != 200 {
		t.Fatal("the new token does not work")
	}
	list := a.expect("root", "GET", "/api/v1/agents", "", 200)["agents"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["name"] != "bob" || list[0].(map[string]any)["last_used_at"] == nil {
		t.Fatalf("agents %v", list)
	}
	if strings.Contains(a.rawGet("root", "/api/v1/agents"), bob) {
		t.Fatal("the list shows a token")
	}

	// Rotate: the old token fails at once, the new one works.
	out = a.expect("root", "POST", "/api/v1/agents/bob/rotate", "", 200)
	fresh := out["token"].(string)
	if code := a.status(bob, "GET", "/api/v1/incidents"); code != 401 {
		t.Fatalf("old token after rotate: %d", code)
	}
	if code := a.status(fresh, "GET", "/api/v1/incidents"); code != 200 {
		t.Fatalf("new token after rotate: %d", code)
	}
	week := a.expect("root", "POST", "/api/v1/agents/bob/rotate", `{"expires": "7d"}`, 200)["token"].(string)
	a.expect("root", "POST", "/api/v1/agents/nobody/rotate", "", 404)

	// A password for the console.
	a.expect("root", "POST", "/api/v1/agents/bob/password", `{"password": "correct horse battery"}`, 200)
	if _, err := a.store.CheckPassword(context.Background(), "bob", "correct horse battery"); err != nil {
		t.Fatalf("password set through the API: %v", err)
	}
	a.expect("root", "POST", "/api/v1/agents/bob/password", `{"password": "short"}`, 400)
	a.expect("root", "POST", "/api/v1/agents/nobody/password", `{"password": "correct horse battery"}`, 404)

	// Revoke: gone at once.
	a.expect("root", "DELETE", "/api/v1/agents/bob", "", 200)
	if code := a.status(week, "GET", "/api/v1/incidents"); code != 401 {
		t.Fatalf("token after revoke: %d", code)
	}
	a.expect("root", "POST", "/api/v1/agents/bob/rotate", "", 404)
	a.expect("root", "DELETE", "/api/v1/agents/bob", "", 404)

	for _, c := range []struct {
		body   string
		status int
	}{
		{`{"name": ""}`, 400}, {`{"name": "two words"}`, 400}, {`{"name": "x", "expires": "soon"}`, 400},
		{`{"name": "x", "expires": "0d"}`, 400}, {`{"name": "x", "expires": "9999d"}`, 400},
		{`{"name": "x", "token": "chosen"}`, 400}, {`not json`, 400}, {`{"name": "root"}`, 409},
	} {
		a.expect("root", "POST", "/api/v1/agents", c.body, c.status)
	}
	a.expect("root", "POST", "/api/v1/agents/root/rotate", `{"expires": "forever"}`, 400)
	a.expect("root", "PUT", "/api/v1/agents", "", 405)
}

// rawGet returns the body of a GET as text.
func (a *api) rawGet(as, path string) string {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+a.tokens[as])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return string(raw)
}

func TestNewTokenIsNotCached(t *testing.T) {
	a := newAPI(t)
	a.agent("root", true)
	req, _ := http.NewRequest("POST", a.srv.URL+"/api/v1/agents", strings.NewReader(`{"name": "bob"}`))
	req.Header.Set("Authorization", "Bearer "+a.tokens["root"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
}

func TestExpiredTokenGets401(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	c := &testClock{t: time.Now()}
	a := newAPIOn(t, redisstore.New(rdb, prefix).WithClock(c.Now))
	a.agent("root", true)
	tok := a.expect("root", "POST", "/api/v1/agents", `{"name": "temp", "expires": "1d"}`, 201)["token"].(string)
	if code := a.status(tok, "GET", "/api/v1/incidents"); code != 200 {
		t.Fatalf("before expiry: %d", code)
	}
	c.Add(24 * time.Hour)
	if code := a.status(tok, "GET", "/api/v1/incidents"); code != 401 {
		t.Fatalf("after expiry: %d, want 401", code)
	}
}

// TestRevokeIsSeenByEveryBot: two API servers on one Redis, as two bots;
// a revoke through one refuses the token on the other at the next request.
func TestRevokeIsSeenByEveryBot(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	one := newAPIOn(t, redisstore.New(rdb, prefix))
	two := newAPIOn(t, redisstore.New(rdb, prefix))
	one.agent("root", true)
	tok := one.expect("root", "POST", "/api/v1/agents", `{"name": "bob"}`, 201)["token"].(string)
	if code := two.status(tok, "GET", "/api/v1/incidents"); code != 200 {
		t.Fatalf("bot two before the revoke: %d", code)
	}
	one.expect("root", "DELETE", "/api/v1/agents/bob", "", 200)
	if code := two.status(tok, "GET", "/api/v1/incidents"); code != 401 {
		t.Fatalf("bot two after the revoke: %d, want 401", code)
	}
}

// TestTakeOverThenCloseThroughTheAPI is finding 3 of issue 10: a plain
// agent may not take a colleague's incident in review (or any state) and
// then close it; an admin may hand it over, and the history says who
// handed it from whom to whom.
func TestTakeOverThenCloseThroughTheAPI(t *testing.T) {
	a := newAPI(t)
	a.agent("root", true)
	a.agent("alice", false)
	a.agent("bob", false)
	id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "Printer jams", "reporter": {"name": "Ana", "email": "ana@example.test"}}`, 201)["id"].(string)
	p := "/api/v1/incidents/" + id
	a.expect("alice", "POST", p+"/assign", `{"owner": "alice"}`, 200)
	a.expect("bob", "POST", p+"/assign", `{"owner": "bob"}`, 403) // in analysis too
	a.expect("alice", "POST", p+"/transitions", `{"to": "solution"}`, 200)
	a.expect("alice", "POST", p+"/transitions", `{"to": "validation"}`, 200)
	a.expect("alice", "POST", p+"/survey", `{"step": "validation", "answer": "yes"}`, 200)
	a.expect("alice", "POST", p+"/survey", `{"step": "satisfaction", "rating": 5}`, 200)

	out := a.expect("bob", "POST", p+"/assign", `{"owner": "bob"}`, 403)
	if out["code"] != "forbidden" || out["state"] != "review" {
		t.Fatalf("refusal %v", out)
	}
	a.expect("bob", "POST", p+"/transitions", `{"to": "closed"}`, 403)
	if inc := a.expect("bob", "GET", p, "", 200); inc["owner"] != "alice" || inc["state"] != "review" {
		t.Fatalf("after the refused take-over: owner %v state %v", inc["owner"], inc["state"])
	}

	a.expect("root", "POST", p+"/assign", `{"owner": "bob", "note": "alice is away"}`, 200)
	inc := a.expect("bob", "POST", p+"/transitions", `{"to": "closed"}`, 200)
	var assigns []string
	for _, h := range inc["history"].([]any) {
		if e := h.(map[string]any); e["event"] == "assign" {
			assigns = append(assigns, e["actor"].(string)+": "+e["detail"].(string))
		}
	}
	want := "alice: owner:  -> alice | root: owner: alice -> bob"
	if got := strings.Join(assigns, " | "); got != want {
		t.Fatalf("assign history %q, want %q", got, want)
	}
}
