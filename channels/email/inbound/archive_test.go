package inbound_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/email/inbound"
	"github.com/intakebot/intakebot/channels/email/message"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// envOn wires a processor to a store on an existing Redis and prefix: a
// bot (re)started on the same data.
func envOn(t *testing.T, rdb redis.UniversalClient, prefix string) *env {
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	rules, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	proc := inbound.New(inbound.Config{
		Detector: message.Detector{OwnAddresses: []string{"helpdesk@example.test"}, LoopHeader: "X-Intakebot-Loop"},
	}, inbound.Deps{Incidents: engine, Ledger: store, Threads: store, Files: store, Acts: store, Tokens: testTokens(),
		Log: slog.New(slog.DiscardHandler), Now: time.Now})
	return &env{t: t, store: store, engine: engine, proc: proc}
}

// TestReplyToAnArchivedIncidentOpensALinkedOne: an incident is closed,
// archived, the bot restarts, and the reporter answers one of its mails:
// every way a reply threads leads to a new incident linked to the archived
// one.
func TestReplyToAnArchivedIncidentOpensALinkedOne(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	ctx := context.Background()
	e := envOn(t, rdb, prefix)
	id := e.deliver(mail(ana, "Correo", "a0@example.test", "", "no funciona el correo")).Incident
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	by := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "phone"}
	if _, err := e.engine.AnswerValidation(ctx, id, by, true, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := e.engine.Rate(ctx, id, by, 4, ""); err != nil {
		t.Fatal(err)
	}
	e.agent(id, intake.Closed)
	// Archived as if 500 days had gone by.
	res, err := e.store.Archiver(t.TempDir(), 400*24*time.Hour, func() time.Time { return time.Now().Add(500 * 24 * time.Hour) }).Run(ctx)
	if err != nil || res.Archived != 1 {
		t.Fatalf("archive: %+v %v", res, err)
	}

	e = envOn(t, rdb, prefix) // the restart
	if _, err := e.engine.Get(ctx, id); !errors.As(err, new(*intake.ArchivedError)) {
		t.Fatalf("get %s after archiving: %v", id, err)
	}
	for name, raw := range map[string]string{
		"our Message-ID":             mail(ana, "Re: Correo", "a1@example.test", ours(id, "closed"), "Ha vuelto a fallar"),
		"her reply address":          to(replyAddress(id, "ana@example.test"), mail(ana, "Re: Correo", "a2@example.test", "", "Otra vez")),
		"the thread of her own mail": mail(ana, "Re: Correo", "a3@example.test", "a0@example.test", "Sigue igual"),
		"the subject tag":            mail(ana, "Re: ["+id+"] Correo", "a4@example.test", "", "De nuevo"),
	} {
		rec := e.deliver(raw)
		if rec.Outcome != intake.OutcomeCreated || rec.Incident == id {
			t.Errorf("%s: %+v, want a new incident", name, rec)
			continue
		}
		if got := e.get(rec.Incident); got.RelatedID != id {
			t.Errorf("%s: new incident %s related to %q, want %s", name, got.ID, got.RelatedID, id)
		}
	}
	// A stranger's subject tag proves nothing: a new incident, not linked.
	rec := e.deliver(mail("mallory@example.test", "["+id+"] hola", "a5@example.test", "", "hola"))
	if rec.Outcome != intake.OutcomeCreated || e.get(rec.Incident).RelatedID != "" {
		t.Fatalf("stranger with the tag: %+v related %q", rec, e.get(rec.Incident).RelatedID)
	}
}
