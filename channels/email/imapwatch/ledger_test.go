package imapwatch_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakebot/intakebot/channels/email/imapwatch"
	"github.com/intakebot/intakebot/channels/email/inbound"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// processorHandler hands each message to the inbound processor, as serve
// wires the two, and files it where its recorded outcome says.
type processorHandler struct{ p *inbound.Processor }

func (h processorHandler) Handle(ctx context.Context, m imapwatch.Inbound) (imapwatch.Result, error) {
	rec, err := h.p.Process(ctx, inbound.Source{Mailbox: m.Mailbox, UIDValidity: m.UIDValidity, UID: m.UID,
		Truncated: m.Truncated, NoBody: m.NoBody}, m.Raw)
	return imapwatch.Result{Quarantine: rec.Outcome == intake.OutcomeQuarantined, Reason: rec.Reason}, err
}

// Every inbound message gets a recorded outcome, also one whose body the
// server did not return: each of two such mails is recorded as
// quarantined (empty body) under its own source, not taken for a duplicate
// of the other, and the mail between them registers an incident.
func TestEmptyBodyGetsAnOutcomeInTheLedger(t *testing.T) {
	s := startServer(t, serverOpts{noBody: []imap.UID{1, 3}})
	f := newFixture(t)
	want, raws := ids("ledger", 3)
	s.deliver(t, "INBOX", raws...)
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium})
	if err != nil {
		t.Fatal(err)
	}
	store := redisstore.New(f.rdb, f.prefix, intake.RouteEmail) // the same Redis, with the reporter's route
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	p := inbound.New(inbound.Config{}, inbound.Deps{Incidents: engine, Ledger: store, Threads: store, Files: store,
		Acts: store, Log: slog.New(slog.DiscardHandler), Now: time.Now})
	start(t, f.watcher(t, s.config("support"), processorHandler{p}))
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": {want[1]}, "Quarantine": {want[0], want[2]}})

	recs, _, err := store.Inbound(context.Background(), intake.ChannelEmail, 10, "")
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]intake.InboundRecord{}
	for _, r := range recs {
		outcomes[r.Source[strings.LastIndex(r.Source, "/")+1:]] = r
	}
	if len(recs) != 3 || len(outcomes) != 3 {
		t.Fatalf("ledger %+v: want one outcome for each of the three mails", recs)
	}
	for _, uid := range []string{"1", "3"} {
		r := outcomes[uid]
		if r.Outcome != intake.OutcomeQuarantined || !strings.Contains(r.Reason, "empty body") {
			t.Errorf("UID %s: %+v, want quarantined for its empty body", uid, r)
		}
	}
	if r := outcomes["2"]; r.Outcome != intake.OutcomeCreated || r.Incident == "" {
		t.Errorf("UID 2: %+v, want an incident", r)
	}
	keys := []string{outcomes["1"].Key, outcomes["3"].Key}
	if keys[0] == keys[1] || slices.Contains(keys, "") {
		t.Errorf("the empty mails share the claim key %q: one would be lost as a duplicate", keys[0])
	}
}
