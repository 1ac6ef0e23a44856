package web_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/prometheus/client_golang/prometheus"
)

// flagger marks incidents as the SLA timers do, through an engine on the
// API's store.
func flagger(t *testing.T, a *api) func(id, flag string) {
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium, Groups: []string{"desk"}, DefaultGroup: "desk"})
	if err != nil {
		t.Fatal(err)
	}
	engine := workflow.NewEngine(a.store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	return func(id, flag string) {
		t.Helper()
		if _, err := engine.Flag(context.Background(), id, intake.Actor{Kind: intake.ActorSystem, Name: "sla"}, flag, "test"); err != nil {
			t.Fatal(err)
		}
	}
}

// ?sla= keeps the incidents whose worst SLA status is the one asked for,
// and its pages, short or not, meet every match once.
func TestListFiltersBySLA(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	flag := flagger(t, a)
	want := map[string][]string{}
	for i := range 30 {
		id := a.expect("alice", "POST", "/api/v1/incidents", fmt.Sprintf(`{"subject": "printer %d"}`, i), 201)["id"].(string)
		switch i % 3 {
		case 0:
			flag(id, "sla_response_warning")
			want[intake.SLAWarning] = append([]string{id}, want[intake.SLAWarning]...)
		case 1:
			flag(id, "sla_response_warning")
			flag(id, "sla_resolution_breach")
			want[intake.SLABreached] = append([]string{id}, want[intake.SLABreached]...)
		}
	}
	for _, status := range []string{intake.SLAWarning, intake.SLABreached} {
		var got []string
		cursor, pages := "", 0
		for {
			out := a.expect("alice", "GET", "/api/v1/incidents?limit=3&sla="+status+cursor, "", 200)
			pages++
			for _, inc := range out["incidents"].([]any) {
				got = append(got, inc.(map[string]any)["id"].(string))
			}
			next, ok := out["next_cursor"].(string)
			if !ok {
				break
			}
			cursor = "&cursor=" + next
		}
		if fmt.Sprint(got) != fmt.Sprint(want[status]) || pages < 4 {
			t.Errorf("sla=%s in %d pages: %v, want %v", status, pages, got, want[status])
		}
	}
	if out := a.expect("alice", "GET", "/api/v1/incidents?sla=breached&state=closed", "", 200); len(out["incidents"].([]any)) != 0 {
		t.Errorf("sla and state: %v", out)
	}
	a.expect("alice", "GET", "/api/v1/incidents?sla=late", "", 400)
}
