package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

type api struct {
	t      testing.TB
	srv    *httptest.Server
	store  *redisstore.Store
	tokens map[string]string
}

func newAPI(t testing.TB) *api {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	return newAPIOn(t, redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack))
}

// newAPIOn serves the API on store; with sets the Deps' other fields.
func newAPIOn(t testing.TB, store *redisstore.Store, with ...func(*web.Deps)) *api {
	rules, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
		Categories: []intake.Category{{Name: "email", Keywords: []string{"email", "correo"}}},
		Groups:     []string{"desk", "networks"}, DefaultGroup: "desk",
	})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := workflow.NewMetrics(reg)
	engine := workflow.NewEngine(store, rules, m, time.Now)
	d := web.Deps{Incidents: engine, Lister: store, Outbox: store, Inbound: store, Files: store, Agents: store, AgentAdmin: store, Health: store,
		Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		Log:     slog.New(slog.DiscardHandler), Registerer: reg}
	for _, f := range with {
		f(&d)
	}
	s := web.NewServer(d)
	a := &api{t: t, srv: httptest.NewServer(s), store: store, tokens: map[string]string{}}
	t.Cleanup(a.srv.Close)
	return a
}

func (a *api) agent(name string, admin bool) {
	tok, err := a.store.AddAgent(context.Background(), name, admin, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	a.tokens[name] = tok
}

// call sends a request as agent ("" for none) and decodes the JSON answer.
func (a *api) call(as, method, path, body string) (int, map[string]any) {
	a.t.Helper()
	req, _ := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if as != "" {
		req.Header.Set("Authorization", "Bearer "+a.tokens[as])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		a.t.Fatalf("%s %s: status %d, body is not JSON: %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func (a *api) expect(as, method, path, body string, status int) map[string]any {
	a.t.Helper()
	code, out := a.call(as, method, path, body)
	if code != status {
		a.t.Fatalf("%s %s %s: status %d, want %d: %v", method, path, body, code, status, out)
	}
	if status >= 400 && (out["error"] == nil || out["code"] == nil) {
		a.t.Fatalf("error answer without error and code: %v", out)
	}
	return out
}

func TestAgentWorksAnIncidentThroughTheAPI(t *testing.T) {
	for _, c := range []struct{ lang, subject, category string }{
		{"en", "My email is not syncing", "email"},
		{"es", "No me funciona el correo desde esta mañana", "email"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			a := newAPI(t)
			a.agent("alice", false)
			a.agent("bob", false)
			inc := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "`+c.subject+`", "reporter": {"name": "Ana", "email": "Ana@Example.test"}}`, 201)
			id := inc["id"].(string)
			for k, want := range map[string]any{"state": "analysis", "channel": "phone", "category": c.category, "priority": "P3", "registered_by": "alice"} {
				if inc[k] != want {
					t.Fatalf("%s = %v, want %v", k, inc[k], want)
				}
			}
			if rep := inc["reporter"].(map[string]any); rep["language"] != c.lang || rep["email"] != "ana@example.test" {
				t.Fatalf("reporter %v", rep)
			}
			p := "/api/v1/incidents/" + id
			a.expect("alice", "POST", p+"/actions", `{"text": "looked at the logs"}`, 201)
			a.expect("alice", "POST", p+"/transitions", `{"to": "solution", "note": "found it"}`, 200)
			a.expect("alice", "POST", p+"/transitions", `{"to": "validation"}`, 200)
			out := a.expect("alice", "POST", p+"/actions", `{"text": "x"}`, 409)
			if out["code"] != "locked_in_validation" {
				t.Fatalf("code %v", out["code"])
			}
			a.expect("alice", "POST", p+"/assign", `{"owner": "bob"}`, 409)
			inc = a.expect("alice", "POST", p+"/survey", `{"step": "validation", "answer": "no", "note": "still failing"}`, 200)
			if inc["state"] != "analysis" || inc["reopen_count"] != float64(1) {
				t.Fatalf("after no: %v %v", inc["state"], inc["reopen_count"])
			}
			a.expect("alice", "POST", p+"/transitions", `{"to": "solution"}`, 200)
			a.expect("alice", "POST", p+"/transitions", `{"to": "validation"}`, 200)
			a.expect("alice", "POST", p+"/survey", `{"step": "validation", "answer": "yes"}`, 200)
			inc = a.expect("alice", "POST", p+"/survey", `{"step": "satisfaction", "rating": 4, "comment": "fine"}`, 200)
			if inc["state"] != "review" {
				t.Fatalf("after rating: %v", inc["state"])
			}
			out = a.expect("bob", "POST", p+"/transitions", `{"to": "closed"}`, 403)
			if out["code"] != "forbidden" {
				t.Fatalf("code %v", out["code"])
			}
			a.expect("alice", "POST", p+"/transitions", `{"to": "closed", "note": "done"}`, 200)
			inc = a.expect("bob", "GET", p, "", 200)
			for _, k := range []string{"id", "state", "channel", "subject", "description", "category", "ci", "impact", "urgency",
				"priority", "group", "level", "owner", "reporter", "actions", "comments", "surveys", "reopen_count", "history"} {
				if _, ok := inc[k]; !ok {
					t.Errorf("incident lacks %q", k)
				}
			}
			if h := inc["history"].([]any); len(h) != 11 {
				t.Fatalf("history has %d entries, want 11: %v", len(h), h)
			}
			var vias []string
			for _, s := range inc["surveys"].([]any) {
				vias = append(vias, s.(map[string]any)["via"].(string)+"/"+s.(map[string]any)["recorder"].(string))
			}
			if strings.Join(vias, ",") != "phone/alice,phone/alice,phone/alice" {
				t.Fatalf("surveys recorded as %v", vias)
			}
			msgs := a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any)
			if len(msgs) != 6 {
				t.Fatalf("outbox has %d messages, want 6 (ack, validation x2, reopened, satisfaction, closed)", len(msgs))
			}
			for _, m := range msgs {
				if m.(map[string]any)["lang"] != c.lang {
					t.Fatalf("message in the wrong language: %v", m)
				}
			}
		})
	}
}

func TestAPIRefusesBadRequests(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "printer"}`, 201)["id"].(string)
	p := "/api/v1/incidents/" + id
	for _, c := range []struct {
		as, method, path, body string
		status                 int
		code                   string
	}{
		{"", "GET", "/api/v1/incidents", "", 401, "unauthorized"},
		{"nobody", "GET", "/api/v1/incidents", "", 401, "unauthorized"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "colour": "red"}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x"} {"subject": "y"}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": `, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `[]`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "channel": "fax"}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "impact": "extreme"}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "group": "nope"}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "related_id": "INC-1"}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "related_id": "INC-999999"}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "reporter": {"email": "not an email"}}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "x", "reporter": {"name": 7}}`, 400, "invalid"},
		{"alice", "POST", "/api/v1/incidents", `{"subject": "` + strings.Repeat("x", web.MaxBodyBytes) + `"}`, 400, "too_large"},
		{"alice", "GET", "/api/v1/incidents/INC-1", "", 400, "invalid"},
		{"alice", "GET", "/api/v1/incidents/..%2f..%2fetc", "", 400, "invalid"},
		{"alice", "GET", "/api/v1/incidents/INC-999999", "", 404, "not_found"},
		{"alice", "POST", "/api/v1/incidents/INC-999999/actions", `{"text": "x"}`, 404, "not_found"},
		{"alice", "GET", "/api/v1/incidents?state=limbo", "", 400, "invalid"},
		{"alice", "GET", "/api/v1/incidents?priority=P9", "", 400, "invalid"},
		{"alice", "GET", "/api/v1/incidents?limit=0", "", 400, "invalid"},
		{"alice", "GET", "/api/v1/incidents?cursor=abc", "", 400, "invalid"},
		{"alice", "GET", "/api/v1/incidents?sort=asc", "", 400, "invalid"},
		{"alice", "POST", p + "/actions", `{"text": ""}`, 400, "invalid"},
		{"alice", "POST", p + "/transitions", `{}`, 400, "invalid"},
		{"alice", "POST", p + "/transitions", `{"to": "closed"}`, 409, "invalid_transition"},
		{"alice", "POST", p + "/transitions", `{"to": "nowhere"}`, 400, "invalid"},
		{"alice", "POST", p + "/assign", `{"owner": "ghost"}`, 400, "invalid"},
		{"alice", "POST", p + "/escalate", `{"group": "nope"}`, 400, "invalid"},
		{"alice", "POST", p + "/escalate", `{"level": 7}`, 400, "invalid"},
		{"alice", "POST", p + "/recategorize", `{"category": "nope"}`, 400, "invalid"},
		{"alice", "POST", p + "/survey", `{"step": "validation", "answer": "maybe"}`, 400, "invalid"},
		{"alice", "POST", p + "/survey", `{"step": "satisfaction", "rating": 9}`, 400, "invalid"},
		{"alice", "POST", p + "/survey", `{"step": "validation", "answer": "yes"}`, 409, "not_allowed_in_state"},
		{"alice", "DELETE", p, "", 405, "method_not_allowed"},
		{"alice", "GET", "/api/v1/nothing", "", 404, "not_found"},
	} {
		if c.as == "nobody" {
			a.tokens["nobody"] = "ibt_forged"
		}
		out := a.expect(c.as, c.method, c.path, c.body, c.status)
		if out["code"] != c.code {
			t.Errorf("%s %s %.60s: code %v, want %s (%v)", c.method, c.path, c.body, out["code"], c.code, out["error"])
		}
	}
	out := a.expect("alice", "POST", p+"/transitions", `{"to": "closed"}`, 409)
	if msg := out["error"].(string); !strings.Contains(msg, "analysis") || !strings.Contains(msg, "allowed from analysis: solution") {
		t.Fatalf("message does not name the state and the allowed targets: %q", msg)
	}
	if out["state"] != "analysis" || fmt.Sprint(out["allowed"]) != "[solution]" {
		t.Fatalf("refusal body: %v", out)
	}
}

// A reported_at later than the server's clock plus MaxClockSkew is refused
// with a message that says why; one within the skew, or in the past, is
// kept as given.
func TestReportedAtInTheFuture(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	body := func(at time.Time) string {
		return `{"subject": "printer", "reported_at": "` + at.Format(time.RFC3339Nano) + `"}`
	}
	future := time.Now().Add(web.MaxClockSkew + time.Hour)
	out := a.expect("alice", "POST", "/api/v1/incidents", body(future), 400)
	if msg := out["error"].(string); out["code"] != "invalid" || !strings.Contains(msg, "reported_at") ||
		!strings.Contains(msg, "future") || !strings.Contains(msg, web.MaxClockSkew.String()) {
		t.Fatalf("refusal: %v", out)
	}
	for _, at := range []time.Time{time.Now().Add(web.MaxClockSkew / 5), time.Now().Add(-48 * time.Hour)} {
		inc := a.expect("alice", "POST", "/api/v1/incidents", body(at), 201)
		got, err := time.Parse(time.RFC3339Nano, inc["reported_at"].(string))
		if err != nil || !got.Equal(at) {
			t.Errorf("reported_at = %v (%v), want %v", inc["reported_at"], err, at)
		}
	}
}

func TestListThroughAPI(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	a.agent("bob", false)
	for i := range 5 {
		id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "printer `+string(rune('a'+i))+`"}`, 201)["id"].(string)
		if i%2 == 0 {
			a.expect("alice", "POST", "/api/v1/incidents/"+id+"/assign", `{"owner": "bob"}`, 200)
		}
	}
	out := a.expect("alice", "GET", "/api/v1/incidents?limit=2", "", 200)
	if n := len(out["incidents"].([]any)); n != 2 || out["next_cursor"] == nil {
		t.Fatalf("first page: %d incidents, cursor %v", n, out["next_cursor"])
	}
	first := out["incidents"].([]any)[0].(map[string]any)["id"]
	if first != "INC-000005" {
		t.Fatalf("newest first: got %v", first)
	}
	out = a.expect("alice", "GET", "/api/v1/incidents?limit=2&cursor="+out["next_cursor"].(string), "", 200)
	if got := out["incidents"].([]any)[0].(map[string]any)["id"]; got != "INC-000003" {
		t.Fatalf("second page starts at %v", got)
	}
	out = a.expect("alice", "GET", "/api/v1/incidents?owner=bob&state=analysis", "", 200)
	if n := len(out["incidents"].([]any)); n != 3 {
		t.Fatalf("owner=bob: %d, want 3", n)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	a := newAPI(t)
	a.expect("", "GET", "/healthz", "", 200)
	a.expect("", "GET", "/readyz", "", 200)
	a.agent("alice", false)
	a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "x"}`, 201)
	resp, err := http.Get(a.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`intakebot_incidents_registered_total{channel="phone"} 1`, `intakebot_http_requests_total{code="201",route="POST /api/v1/incidents"} 1`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}

	// With Redis gone, readiness says so (liveness does not: restarting
	// would not help) and the API answers 503 with Retry-After: the token
	// cannot be checked, which is neither a 401 nor an internal error.
	dead, err := redisstore.Connect("redis://127.0.0.1:1?max_retries=-1")
	if err != nil {
		t.Fatal(err)
	}
	down := newAPIOn(t, redisstore.New(dead, "x", intake.RouteEmail, intake.RouteSlack))
	down.expect("", "GET", "/healthz", "", 200)
	out := down.expect("", "GET", "/readyz", "", 503)
	if out["status"] != "unavailable" {
		t.Fatalf("health %v", out)
	}
	req, _ := http.NewRequest("GET", down.srv.URL+"/api/v1/incidents", nil)
	req.Header.Set("Authorization", "Bearer ibt_x")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "10" || !bytes.Contains(raw, []byte(`"code": "unavailable"`)) {
		t.Fatalf("with Redis down: %s, Retry-After %q: %s", resp.Status, resp.Header.Get("Retry-After"), raw)
	}
}

// component is a part whose health the test sets.
type component struct {
	name string
	at   time.Time
	err  error
}

func (c component) Name() string               { return c.name }
func (c component) Status() (time.Time, error) { return c.at, c.err }

// One failing component makes the bot degraded: still ready (200) unless
// readiness is strict, with each component's state and error.
func TestReadyzDegraded(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	good := []web.Component{component{name: "support", at: at}, component{name: "sales"}}
	bad := append(good, component{name: "smtp", at: at, err: errors.New("auth: 535 5.7.8 bad credentials")})
	for _, c := range []struct {
		name   string
		parts  []web.Component
		strict bool
		code   int
		status string
	}{
		{"all well", good, false, 200, "ok"},
		{"all well, strict", good, true, 200, "ok"},
		{"one failing", bad, false, 200, "degraded"},
		{"one failing, strict", bad, true, 503, "degraded"},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := newAPIOn(t, store, func(d *web.Deps) { d.Components, d.StrictReadiness = c.parts, c.strict })
			out := a.expect("", "GET", "/readyz", "", c.code)
			if out["status"] != c.status {
				t.Fatalf("status %v, want %s: %v", out["status"], c.status, out)
			}
			parts := out["components"].(map[string]any)
			if p := parts["support"].(map[string]any); p["ok"] != true || p["status"] != "ok" || p["last_success"] != "2026-01-02T03:04:05Z" {
				t.Errorf("support: %v", p)
			}
			if p := parts["sales"].(map[string]any); p["ok"] != false || p["status"] != "pending" || p["error"] != nil {
				t.Errorf("sales (not tried yet): %v", p)
			}
			if c.status == "degraded" {
				if p := parts["smtp"].(map[string]any); p["ok"] != false || p["status"] != "failing" || p["error"] != "auth: 535 5.7.8 bad credentials" {
					t.Errorf("smtp: %v", p)
				}
			}
		})
	}
}

func TestIdempotencyKeyAppliesOnce(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	send := func(path, body string) (int, map[string]any) {
		req, _ := http.NewRequest("POST", a.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "bearer "+a.tokens["alice"]) // the scheme is case-insensitive
		req.Header.Set("Idempotency-Key", "retry-"+path)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code1, first := send("/api/v1/incidents", `{"subject": "printer"}`)
	code2, second := send("/api/v1/incidents", `{"subject": "printer"}`)
	if code1 != 201 || code2 != 201 || first["id"] != second["id"] {
		t.Fatalf("retried create: %d %v / %d %v", code1, first["id"], code2, second["id"])
	}
	p := "/api/v1/incidents/" + first["id"].(string) + "/actions"
	send(p, `{"text": "rebooted"}`)
	_, inc := send(p, `{"text": "rebooted"}`)
	if n := len(inc["actions"].([]any)); n != 1 {
		t.Fatalf("retried action recorded %d times", n)
	}
	for range 2 {
		a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "vpn", "reporter": {"email": "eva@example.test"}}`, 201)
	}
	if n := len(a.expect("alice", "GET", "/api/v1/outbox?limit=1", "", 200)["messages"].([]any)); n != 1 {
		t.Fatalf("outbox?limit=1 gave %d messages", n)
	}
	if n := len(a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any)); n != 2 {
		t.Fatalf("outbox gave %d messages, want 2", n)
	}
}

func TestInboundLedgerThroughAPI(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	ctx := context.Background()
	for i := range 3 {
		key := fmt.Sprintf("mid:m%d@example.test", i)
		if _, err := a.store.Begin(ctx, key, "helpdesk/1/1", time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := a.store.Record(ctx, key, intake.InboundRecord{At: time.Now(), Channel: intake.ChannelEmail, Source: fmt.Sprintf("helpdesk/1/%d", i),
			MessageID: fmt.Sprintf("m%d@example.test", i), From: "ana@example.test", Subject: "hola", Outcome: intake.OutcomeIgnored, Reason: "auto-reply"}); err != nil {
			t.Fatal(err)
		}
	}
	out := a.expect("alice", "GET", "/api/v1/inbound?channel=email&limit=2", "", 200)
	msgs := out["messages"].([]any)
	if len(msgs) != 2 || msgs[0].(map[string]any)["message_id"] != "m2@example.test" || out["next_cursor"] == nil {
		t.Fatalf("first page %v", out)
	}
	out = a.expect("alice", "GET", "/api/v1/inbound?channel=email&limit=2&cursor="+out["next_cursor"].(string), "", 200)
	if msgs := out["messages"].([]any); len(msgs) != 1 || msgs[0].(map[string]any)["reason"] != "auto-reply" {
		t.Fatalf("second page %v", out)
	}
	if key := msgs[0].(map[string]any)["key"]; key != "mid:m2@example.test" {
		t.Fatalf("ledger key %v", key)
	}
	a.expect("alice", "POST", "/api/v1/inbound/release", `{"key": "mid:m2@example.test"}`, 409) // ignored, not quarantined
	a.expect("alice", "POST", "/api/v1/inbound/release", `{"key": "mid:nope@example.test"}`, 404)
	a.expect("alice", "POST", "/api/v1/inbound/release", `{}`, 400)
	a.expect("alice", "GET", "/api/v1/inbound?channel=fax", "", 400)
	a.expect("alice", "GET", "/api/v1/inbound?cursor=abc", "", 400)
	if out := a.expect("alice", "GET", "/api/v1/inbound?channel=slack", "", 200); len(out["messages"].([]any)) != 0 {
		t.Fatalf("slack ledger %v", out)
	}
}

func TestAttachmentDownload(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "screen"}`, 201)["id"].(string)
	err := a.store.AddAttachments(context.Background(), id, "mid:x@example.test", []intake.Attachment{
		{Name: "captura de pantalla.png", Type: "image/png", Size: 4, Content: []byte("\x89PNG"), Via: "email", At: time.Now()},
		{Name: "page.html", Type: "text/html", Size: 9000, Truncated: true, Content: []byte("<script>"), At: time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	inc := a.expect("alice", "GET", "/api/v1/incidents/"+id, "", 200)
	atts := inc["attachments"].([]any)
	if len(atts) != 2 || atts[1].(map[string]any)["index"] != float64(1) || atts[0].(map[string]any)["content"] != nil {
		t.Fatalf("attachments %v", atts)
	}
	req, _ := http.NewRequest("GET", a.srv.URL+"/api/v1/incidents/"+id+"/attachments/1", nil)
	req.Header.Set("Authorization", "Bearer "+a.tokens["alice"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "<script>" || resp.Header.Get("Content-Type") != "application/octet-stream" ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") || resp.Header.Get("X-Intakebot-Truncated") != "9000" {
		t.Fatalf("download: %q %v", body, resp.Header)
	}
	a.expect("alice", "GET", "/api/v1/incidents/"+id+"/attachments/2", "", 404)
	a.expect("alice", "GET", "/api/v1/incidents/"+id+"/attachments/x", "", 400)
	a.expect("alice", "GET", "/api/v1/incidents/INC-1/attachments/0", "", 400)
}
