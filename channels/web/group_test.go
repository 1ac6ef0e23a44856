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

// Grouping must not get round the service model: bob may not group
// alice's case (closing his parent would close hers), nobody may group a
// case in validation (the reporter's answer alone changes it), a closed
// case, or one already resting in review; nobody ungroups a case in
// validation. Each refused request changes nothing.
func TestGroupRefusesWhatTheServiceModelForbids(t *testing.T) {
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
	a.agent("bob", false)
	a.agent("root", true)
	create := func() string {
		return a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "VPN down", "reporter": {"name": "Ana", "email": "ana@example.test"}}`, 201)["id"].(string)
	}
	p := func(id string) string { return "/api/v1/incidents/" + id }
	bobsParent, alices := create(), create()
	a.expect("bob", "POST", p(bobsParent)+"/assign", `{"owner": "bob"}`, 200)
	a.expect("alice", "POST", p(alices)+"/assign", `{"owner": "alice"}`, 200)

	inValidation := create()
	a.expect("alice", "POST", p(inValidation)+"/transitions", `{"to": "solution"}`, 200)
	a.expect("alice", "POST", p(inValidation)+"/transitions", `{"to": "validation"}`, 200)
	inReview, closed := create(), create()
	for _, id := range []string{inReview, closed} {
		a.expect("alice", "POST", p(id)+"/transitions", `{"to": "solution"}`, 200)
		a.expect("alice", "POST", p(id)+"/transitions", `{"to": "validation"}`, 200)
		a.expect("alice", "POST", p(id)+"/survey", `{"step": "validation", "answer": "yes"}`, 200)
		a.expect("alice", "POST", p(id)+"/survey", `{"step": "satisfaction", "rating": 5}`, 200)
	}
	a.expect("alice", "POST", p(closed)+"/transitions", `{"to": "closed"}`, 200)

	for _, tc := range []struct {
		name, as, parent, child string
		status                  int
		code                    string
	}{
		{"another agent's case", "bob", bobsParent, alices, 403, "forbidden"},
		{"a child in validation", "root", bobsParent, inValidation, 409, "locked_in_validation"},
		{"a closed child", "root", bobsParent, closed, 409, "closed"},
		{"a child in review", "root", bobsParent, inReview, 409, "not_allowed_in_state"},
		{"under a parent in validation", "root", inValidation, alices, 409, "locked_in_validation"},
	} {
		out := a.expect(tc.as, "POST", p(tc.parent)+"/children", `{"children": ["`+tc.child+`"]}`, tc.status)
		if out["code"] != tc.code {
			t.Errorf("%s: code %v, want %s (%v)", tc.name, out["code"], tc.code, out)
		}
		if inc := a.expect("root", "GET", p(tc.child), "", 200); inc["parent_id"] != nil {
			t.Errorf("%s: grouped all the same under %v", tc.name, inc["parent_id"])
		}
	}
	// The owner may group her own case; an admin may group anyone's.
	a.expect("alice", "POST", p(bobsParent)+"/children", `{"children": ["`+alices+`"]}`, 200)

	// Once the child is in validation no agent ungroups it.
	a.expect("alice", "POST", p(alices)+"/transitions", `{"to": "solution"}`, 200)
	a.expect("alice", "POST", p(alices)+"/transitions", `{"to": "validation"}`, 200)
	if out := a.expect("root", "POST", p(alices)+"/ungroup", `{}`, 409); out["code"] != "locked_in_validation" {
		t.Fatalf("ungroup in validation: %v", out)
	}
	if inc := a.expect("root", "GET", p(alices), "", 200); inc["parent_id"] != bobsParent {
		t.Fatalf("ungrouped all the same: parent %v", inc["parent_id"])
	}
}
