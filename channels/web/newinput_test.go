package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
)

// Every JSON payload added today (public notes, the editor flag,
// grouping) answers wrong types and huge values with a clear 400, never a
// 500, and changes nothing.
func TestNewPayloadsRefuseBadInputWithA400(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	a := newAPIOn(t, store, func(d *web.Deps) {
		rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
			DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium, Groups: []string{"desk"}, DefaultGroup: "desk"})
		if err != nil {
			t.Fatal(err)
		}
		d.Groups = workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now).WithGrouper(store)
	})
	a.agent("root", true)
	a.agent("alice", false)
	id := a.expect("root", "POST", "/api/v1/incidents", `{"subject": "VPN down", "reporter": {"name": "Ana", "email": "ana@example.test"}}`, 201)["id"].(string)
	other := a.expect("root", "POST", "/api/v1/incidents", `{"subject": "VPN down", "reporter": {"name": "Ana", "email": "ana@example.test"}}`, 201)["id"].(string)
	p := "/api/v1/incidents/" + id
	huge := strings.Repeat("x", 70<<10)
	many := `["` + strings.TrimSuffix(strings.Repeat(other+`", "`, 101), `, "`) + `]`
	for _, tc := range []struct{ path, body string }{
		{p + "/actions", `{"text": "call back", "public": "yes"}`},
		{p + "/actions", `{"text": "` + huge + `", "public": true}`},
		{p + "/actions", `{"text": "", "public": true}`},
		{p + "/children", `{"children": "` + other + `"}`},
		{p + "/children", `{"children": [1, 2]}`},
		{p + "/children", `{"children": ` + many + `}`},
		{p + "/children", `{"children": ["` + other + `"], "note": 5}`},
		{p + "/children", `{"children": ["` + other + `"], "note": "` + huge + `"}`},
		{p + "/children", `{"children": ["` + id + `"]}`},
		{p + "/children", `{"children": ["` + other + `"]} {}`},
		{"/api/v1/incidents/" + other + "/ungroup", `{"note": ["x"]}`},
		{"/api/v1/incidents/nope/ungroup", `{}`},
		{"/api/v1/incidents/nope/children", `{"children": ["` + other + `"]}`},
	} {
		a.expect("root", "POST", tc.path, tc.body, 400)
	}
	for _, body := range []string{`{"editor": "yes"}`, `{"editor": 1}`, `{}`, `{"editor": null}`, `[]`, `{"editor": true, "admin": true}`} {
		a.expect("root", "PUT", "/api/v1/agents/alice/editor", body, 400)
	}
	a.expect("root", "POST", "/api/v1/agents", `{"name": "eve", "editor": "yes"}`, 400)
	// The refused side: an agent who is no admin sets no editor flag, not
	// even her own; an unknown agent is a 404.
	a.expect("alice", "PUT", "/api/v1/agents/alice/editor", `{"editor": true}`, 403)
	a.expect("root", "PUT", "/api/v1/agents/nobody/editor", `{"editor": true}`, 404)
	if inc := a.expect("root", "GET", "/api/v1/incidents/"+other, "", 200); inc["parent_id"] != nil || len(inc["actions"].([]any)) != 0 {
		t.Fatalf("a refused request changed %s: %v", other, inc)
	}
}
