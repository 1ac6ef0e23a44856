package web_test

import (
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
)

// Agents group and ungroup through the API; the incident's JSON shows
// parent and children; bad requests get clear errors.
func TestGroupAndUngroupThroughTheAPI(t *testing.T) {
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
	a.agent("alice", false)
	var ids []string
	for range 3 {
		inc := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "VPN down", "reporter": {"name": "Ana", "email": "ana@example.test"}}`, 201)
		ids = append(ids, inc["id"].(string))
	}
	parent := a.expect("alice", "POST", "/api/v1/incidents/"+ids[0]+"/children", `{"children": ["`+ids[1]+`", "`+ids[2]+`"], "note": "one outage"}`, 200)
	if ch, _ := parent["children"].([]any); len(ch) != 2 || ch[0] != ids[1] {
		t.Fatalf("children %v", parent["children"])
	}
	if child := a.expect("alice", "GET", "/api/v1/incidents/"+ids[1], "", 200); child["parent_id"] != ids[0] {
		t.Fatalf("parent_id %v", child["parent_id"])
	}
	child := a.expect("alice", "POST", "/api/v1/incidents/"+ids[1]+"/ungroup", `{"note": "another problem"}`, 200)
	if _, ok := child["parent_id"]; ok {
		t.Fatalf("after ungroup: parent_id %v", child["parent_id"])
	}
	for _, tc := range []struct {
		as, path, body string
		status         int
	}{
		{"", "/api/v1/incidents/" + ids[0] + "/children", `{"children": ["` + ids[1] + `"]}`, 401},
		{"alice", "/api/v1/incidents/" + ids[0] + "/children", `{"children": []}`, 400},
		{"alice", "/api/v1/incidents/" + ids[0] + "/children", `{"children": ["nope"]}`, 400},
		{"alice", "/api/v1/incidents/" + ids[0] + "/children", `{"kids": ["` + ids[1] + `"]}`, 400},
		{"alice", "/api/v1/incidents/" + ids[0] + "/children", `{"children": ["INC-999999"]}`, 404},
		{"alice", "/api/v1/incidents/" + ids[1] + "/children", `{"children": ["` + ids[2] + `"]}`, 409},
		{"alice", "/api/v1/incidents/" + ids[1] + "/ungroup", `{}`, 400},
	} {
		a.expect(tc.as, "POST", tc.path, tc.body, tc.status)
	}
}
