package events_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/events"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

const token = "ev-secret-token"

type fixture struct {
	t      *testing.T
	srv    *httptest.Server
	store  *redisstore.Store
	engine *workflow.Engine
}

func newFixture(t *testing.T) *fixture {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium, Groups: []string{"desk"}, DefaultGroup: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	r := events.NewReceiver(events.Config{DefaultSeverity: "warning", Severities: map[string]events.Level{
		"critical": {Impact: intake.High, Urgency: intake.High}, "warning": {Impact: intake.Medium, Urgency: intake.Medium},
	}}, engine, store, store, slog.New(slog.DiscardHandler), time.Now)
	srv := httptest.NewServer(r.Handler(token))
	t.Cleanup(srv.Close)
	return &fixture{t: t, srv: srv, store: store, engine: engine}
}

func (f *fixture) post(body, auth string) (int, map[string]any) {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL, strings.NewReader(body))
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// send posts one event and returns its result.
func (f *fixture) send(body string) events.Result {
	f.t.Helper()
	code, out := f.post(body, token)
	if code != http.StatusOK {
		f.t.Fatalf("POST %s: %d %v", body, code, out)
	}
	raw, _ := json.Marshal(out["results"])
	var res []events.Result
	if err := json.Unmarshal(raw, &res); err != nil || len(res) != 1 {
		f.t.Fatalf("results = %s", raw)
	}
	return res[0]
}

func (f *fixture) incident(id string) *intake.Incident {
	f.t.Helper()
	inc, err := f.engine.Get(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return inc
}

func event(status, startsAt string) string {
	return fmt.Sprintf(`{"source":"nagios","fingerprint":"db1-disk","severity":"critical","summary":"Disk full on db1","ci":"database","status":%q,"labels":{"host":"db1"},"starts_at":%q}`, status, startsAt)
}

func TestAnAlertLivesThroughTheServiceModel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := f.send(event("firing", "2026-11-25T10:00:00Z"))
	if first.Outcome != intake.OutcomeCreated {
		t.Fatalf("first firing: %+v", first)
	}
	inc := f.incident(first.Incident)
	if inc.Channel != intake.ChannelEvent || inc.Reporter.Name != "nagios" || inc.Priority != "P1" || !strings.Contains(inc.Description, "host=db1") {
		t.Fatalf("incident = %+v", inc)
	}
	// Alertmanager-style re-notification of the same firing: nothing new.
	if again := f.send(event("firing", "2026-11-25T10:00:00Z")); again != first {
		t.Fatalf("re-sent event: %+v", again)
	}
	// A new firing while open is a repeat.
	if rep := f.send(event("firing", "2026-11-25T11:00:00Z")); rep.Outcome != intake.OutcomeAppended || rep.Reason != "repeat" || rep.Incident != first.Incident {
		t.Fatalf("repeat: %+v", rep)
	}
	// Resolved while in analysis: the recovery is recorded.
	if rec := f.send(event("resolved", "2026-11-25T11:00:00Z")); rec.Reason != "recovery recorded" {
		t.Fatalf("recovery: %+v", rec)
	}
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := f.engine.Move(ctx, first.Incident, agent, to, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Firing again while in validation answers "no": back to analysis.
	if no := f.send(event("firing", "2026-11-25T12:00:00Z")); no.Outcome != intake.OutcomeSurveyAnswer {
		t.Fatalf("firing in validation: %+v", no)
	}
	if inc = f.incident(first.Incident); inc.State != "analysis" || inc.ReopenCount != 1 {
		t.Fatalf("after firing in validation: %s, reopened %d", inc.State, inc.ReopenCount)
	}
	for _, to := range []intake.State{"solution", "validation"} {
		if _, err := f.engine.Move(ctx, first.Incident, agent, to, ""); err != nil {
			t.Fatal(err)
		}
	}
	// Resolved while in validation answers "yes"; no one to survey.
	f.send(event("resolved", "2026-11-25T12:00:00Z"))
	inc = f.incident(first.Incident)
	if inc.State != "review" || inc.Repeats != 1 {
		t.Fatalf("after resolution: %s, repeats %d", inc.State, inc.Repeats)
	}
	var said []string
	for _, h := range inc.History {
		said = append(said, h.Event+":"+h.Note)
	}
	if !strings.Contains(strings.Join(said, "|"), "skip_survey:satisfaction survey skipped: the incident came from a system event") {
		t.Fatalf("history does not say the survey was skipped: %v", said)
	}
	if _, err := f.engine.Move(ctx, first.Incident, agent, "closed", ""); err != nil {
		t.Fatal(err)
	}
	// Resolved with nothing open: ignored, with the reason.
	if ign := f.send(event("resolved", "2026-11-25T13:00:00Z")); ign.Outcome != intake.OutcomeIgnored {
		t.Fatalf("resolved with nothing open: %+v", ign)
	}
	// Firing after it closed opens a new incident, linked to the old one.
	next := f.send(event("firing", "2026-11-26T09:00:00Z"))
	if next.Outcome != intake.OutcomeCreated || next.Incident == first.Incident || f.incident(next.Incident).RelatedID != first.Incident {
		t.Fatalf("firing after close: %+v", next)
	}
	recs, _, err := f.store.Inbound(ctx, intake.ChannelEvent, 100, "")
	if err != nil || len(recs) != 7 { // the re-sent notification was recorded once
		t.Fatalf("ledger: %d records, %v", len(recs), err)
	}
}

func TestAlertmanagerWebhook(t *testing.T) {
	f := newFixture(t)
	body := `{"version":"4","groupKey":"{}:{alertname=\"HighLatency\"}","status":"firing","receiver":"intakebot","externalURL":"http://am.test",
	  "alerts":[
	    {"status":"firing","labels":{"alertname":"HighLatency","instance":"api-1","severity":"warning"},"annotations":{"summary":"API latency above 2s","description":"p99 is 2.4s"},"startsAt":"2026-11-25T10:00:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"aa11"},
	    {"status":"firing","labels":{"alertname":"DiskFull","instance":"db1","severity":"critical"},"annotations":{},"startsAt":"2026-11-25T10:01:00Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"bb22"}
	  ]}`
	code, out := f.post(body, token)
	if code != http.StatusOK {
		t.Fatalf("%d %v", code, out)
	}
	results := out["results"].([]any)
	if len(results) != 2 {
		t.Fatalf("results = %v", results)
	}
	second := f.incident(results[1].(map[string]any)["incident"].(string))
	if second.Subject != "DiskFull db1" || second.Priority != "P1" || second.Reporter.Name != "alertmanager" {
		t.Fatalf("second alert: %+v", second)
	}
	first := f.incident(results[0].(map[string]any)["incident"].(string))
	if first.Subject != "API latency above 2s" || !strings.Contains(first.Description, "p99 is 2.4s") {
		t.Fatalf("first alert: %+v", first)
	}
}

func TestBadRequestsGetClearErrors(t *testing.T) {
	f := newFixture(t)
	good := event("firing", "2026-11-25T10:00:00Z")
	for _, c := range []struct {
		name, body, auth string
		code             int
		want             string
	}{
		{"no token", good, "", 401, "token"},
		{"wrong token", good, "nope", 401, "token"},
		{"empty", "", token, 400, "empty"},
		{"not JSON", "{nope", token, 400, "not JSON"},
		{"no source", `{"summary":"x"}`, token, 400, "source is required"},
		{"bad status", `{"source":"x","summary":"y","status":"exploded"}`, token, 400, "firing or resolved"},
		{"nothing to go on", `{"source":"x"}`, token, 400, "summary or a fingerprint"},
		{"unknown field", `{"source":"x","summary":"y","colour":"red"}`, token, 400, "colour"},
		{"empty list", `[]`, token, 400, "1 to"},
		{"empty alertmanager", `{"alerts":[]}`, token, 400, "1 to"},
		{"too large", `{"source":"x","summary":"` + strings.Repeat("a", 2<<20) + `"}`, token, 413, "bytes"},
		{"long source", `{"source":"` + strings.Repeat("s", 300) + `","summary":"y"}`, token, 400, "at most"},
	} {
		code, out := f.post(c.body, c.auth)
		if code != c.code || !strings.Contains(fmt.Sprint(out["error"]), c.want) {
			t.Errorf("%s: %d %v, want %d mentioning %q", c.name, code, out, c.code, c.want)
		}
	}
	res, err := http.Get(f.srv.URL)
	if err != nil || res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %v %v", res, err)
	}
	res.Body.Close()
	if page, _ := f.store.List(context.Background(), intake.ListFilter{Limit: 5}); len(page.Incidents) != 0 {
		t.Fatal("a refused request registered an incident")
	}
}

// The same firing, delivered to several bots at once, opens one incident.
func TestConcurrentDeliveriesOpenOneIncident(t *testing.T) {
	f := newFixture(t)
	var wg sync.WaitGroup
	ids := make([]string, 6)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out := f.post(event("firing", "2026-11-25T10:00:00Z"), token)
			if code == http.StatusOK {
				ids[i] = out["results"].([]any)[0].(map[string]any)["incident"].(string)
			}
		}()
	}
	wg.Wait()
	page, err := f.store.List(context.Background(), intake.ListFilter{Limit: 10})
	if err != nil || len(page.Incidents) != 1 {
		t.Fatalf("%d incidents, %v", len(page.Incidents), err)
	}
	for _, id := range ids {
		if id != "" && id != page.Incidents[0].ID {
			t.Fatalf("answers name different incidents: %v", ids)
		}
	}
}
