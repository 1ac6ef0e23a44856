package web_test

import (
	"context"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
)

func TestArchivedIncidentIsGoneWithItsArchiveName(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	a := newAPIOn(t, store)
	a.agent("alice", true)
	ctx := context.Background()
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium})
	if err != nil {
		t.Fatal(err)
	}
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	inc, err := engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "printer jam"})
	if err != nil {
		t.Fatal(err)
	}
	alice := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api", Admin: true}
	by := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "phone"}
	for _, step := range []func() (intake.Changed, error){
		func() (intake.Changed, error) { return engine.Move(ctx, inc.ID, alice, intake.Solution, "") },
		func() (intake.Changed, error) { return engine.Move(ctx, inc.ID, alice, intake.Validation, "") },
		func() (intake.Changed, error) { return engine.AnswerValidation(ctx, inc.ID, by, true, "") },
		func() (intake.Changed, error) { return engine.Rate(ctx, inc.ID, by, 5, "") },
		func() (intake.Changed, error) { return engine.Move(ctx, inc.ID, alice, intake.Closed, "") },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	a.expect("alice", "GET", "/api/v1/incidents/"+inc.ID, "", 200)
	res, err := store.Archiver(t.TempDir(), 400*24*time.Hour, func() time.Time { return time.Now().Add(500 * 24 * time.Hour) }).Run(ctx)
	if err != nil || res.Archived != 1 {
		t.Fatalf("archive %+v %v", res, err)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/incidents/" + inc.ID, ""},
		{"POST", "/api/v1/incidents/" + inc.ID + "/actions", `{"text": "x"}`},
	} {
		out := a.expect("alice", c.method, c.path, c.body, 410)
		if out["code"] != "archived" || out["archive"] != res.File || out["id"] != inc.ID {
			t.Errorf("%s %s: %v, want the archive %s", c.method, c.path, out, res.File)
		}
	}
	// An id that never was stays 404.
	a.expect("alice", "GET", "/api/v1/incidents/INC-999999", "", 404)
}
