package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func TestOutboxRetriesWithBackoffThenDeadLetters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "VPN down",
		Reporter: intake.Reporter{Email: "eva@example.test"}}))
	rec := &recorder{fail: errors.New("smtp: 451 try later")}
	d := f.dispatcher(intake.RouteEmail, rec)
	d.MaxAttempts = 3

	if n, err := d.Drain(ctx); n != 0 || err != nil {
		t.Fatalf("failing drain: %d %v", n, err)
	}
	list, err := f.store.Outbox(ctx, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("outbox %v %v", list, err)
	}
	if q := list[0]; q.Attempts != 1 || q.LastError != "smtp: 451 try later" || q.Dead || !q.DueAt.Equal(f.clock.Now().Add(workflow.Backoff(1)).Truncate(time.Millisecond)) {
		t.Fatalf("after one failure: %+v", q)
	}
	// Not due yet: nothing is attempted.
	if n, _ := d.Drain(ctx); n != 0 {
		t.Fatal("retried before the backoff ended")
	}
	f.clock.Add(workflow.Backoff(1))
	d.Drain(ctx)
	f.clock.Add(workflow.Backoff(2))
	d.Drain(ctx)
	list, _ = f.store.Outbox(ctx, 10)
	if len(list) != 1 || !list[0].Dead || list[0].Attempts != 3 {
		t.Fatalf("after 3 failures: %+v", list)
	}
	// A dead message is never claimed again.
	rec.fail = nil
	f.clock.Add(24 * time.Hour)
	if n, _ := d.Drain(ctx); n != 0 || len(rec.sent) != 0 {
		t.Fatalf("dead letter delivered: %d", n)
	}
	got := must(t)(f.engine.Get(ctx, inc.ID))
	if h := historyEvents(got); len(h) != 1 {
		t.Fatalf("history records a delivery that did not happen: %v", h)
	}
}

func TestOutboxLeaseHidesClaimedMessages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "x", Reporter: intake.Reporter{Email: "a@example.test"}}))
	first, err := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), time.Minute, 10)
	if err != nil || len(first) != 1 {
		t.Fatalf("claim: %v %v", first, err)
	}
	// A second bot claiming at the same time gets nothing...
	if again, _ := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), time.Minute, 10); len(again) != 0 {
		t.Fatalf("claimed twice: %v", again)
	}
	// ...until the lease of a crashed claimer runs out.
	f.clock.Add(time.Minute + time.Second)
	later, _ := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), time.Minute, 10)
	if len(later) != 1 || later[0].ID != first[0].ID {
		t.Fatalf("after the lease: %v", later)
	}
	// Delivered is idempotent: the history notes it once.
	for range 2 {
		if err := f.store.Delivered(ctx, later[0], f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	inc := must(t)(f.engine.Get(ctx, later[0].Incident))
	if h := strings.Join(historyEvents(inc), ","); h != "registered:>analysis,notified" {
		t.Fatalf("history %s", h)
	}
	// A late failure report for a delivered message changes nothing.
	if err := f.store.Failed(ctx, later[0], "late", f.clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.store.Outbox(ctx, 10); len(list) != 0 {
		t.Fatalf("delivered message came back: %v", list)
	}
}

func TestNoReachableReporterQueuesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "walk-in", Reporter: intake.Reporter{Name: "Visitor"}}))
	if list, _ := f.store.Outbox(ctx, 10); len(list) != 0 {
		t.Fatalf("queued %v for a reporter with no address", list)
	}
	if inc.State != intake.Analysis {
		t.Fatal(inc.State)
	}
}

func TestSlackReporterIsAnsweredOnSlack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Description: "no me funciona el correo",
		Reporter: intake.Reporter{Name: "Ana", SlackID: "U123", Email: "ana@example.test"}}))
	q, err := f.store.Claim(ctx, intake.RouteSlack, f.clock.Now(), time.Minute, 10)
	if err != nil || len(q) != 1 || q[0].SlackID != "U123" || q[0].Lang != intake.Spanish {
		t.Fatalf("slack queue %+v %v", q, err)
	}
	if e, _ := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), time.Minute, 10); len(e) != 0 {
		t.Fatalf("also queued by email: %v", e)
	}
}

func TestUndeliverableGoesStraightToDeadLetters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "x", Reporter: intake.Reporter{Email: "nobody@example.test"}}))
	rec := &recorder{fail: fmt.Errorf("550 no such user: %w", intake.ErrUndeliverable)}
	if _, err := f.dispatcher(intake.RouteEmail, rec).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	list, _ := f.store.Outbox(ctx, 10)
	if len(list) != 1 || !list[0].Dead || list[0].Attempts != 1 {
		t.Fatalf("after a permanent failure: %+v", list)
	}
}

func TestOutgoingCapsHoldBackAStorm(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 5 {
		must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "loop?", Reporter: intake.Reporter{Email: "robot@example.test"}}))
	}
	rec := &recorder{}
	d := f.dispatcher(intake.RouteEmail, rec).WithCaps(f.store, workflow.Caps{PerRecipient: 3, PerIncident: 10, Window: time.Hour})
	if n, err := d.Drain(ctx); n != 3 || err != nil {
		t.Fatalf("first hour sent %d (%v), want 3", n, err)
	}
	list, _ := f.store.Outbox(ctx, 10)
	if len(list) != 2 || list[0].Dead || !strings.Contains(list[0].LastError, "cap") || list[0].DueAt.Before(f.clock.Now().Add(59*time.Minute)) {
		t.Fatalf("held back: %+v", list)
	}
	f.clock.Add(time.Hour)
	if n, _ := d.Drain(ctx); n != 2 {
		t.Fatalf("next hour sent %d, want the 2 held back", n)
	}
}

func TestZeroCapIsNoCap(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 3 {
		must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "x", Reporter: intake.Reporter{Email: "eva@example.test"}}))
	}
	d := f.dispatcher(intake.RouteEmail, &recorder{}).WithCaps(f.store, workflow.Caps{PerRecipient: 0, PerIncident: 1, Window: time.Hour})
	if n, err := d.Drain(ctx); n != 3 || err != nil {
		t.Fatalf("sent %d (%v), want all 3: a zero cap is no cap", n, err)
	}
}

// cancelling is a notifier that delivers and then finds the process
// shutting down, as when SIGTERM arrives during an SMTP conversation.
type cancelling struct {
	recorder
	cancel context.CancelFunc
}

func (c *cancelling) Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	err := c.recorder.Deliver(ctx, msg, inc)
	c.cancel()
	return err
}

func TestDeliveryIsRecordedDuringShutdown(t *testing.T) {
	f := newFixture(t)
	must(t)(f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: "x", Reporter: intake.Reporter{Email: "eva@example.test"}}))
	ctx, cancel := context.WithCancel(context.Background())
	n := &cancelling{cancel: cancel}
	f.dispatcher(intake.RouteEmail, n).Drain(ctx)
	if len(n.sent) != 1 {
		t.Fatalf("sent %d", len(n.sent))
	}
	if list, _ := f.store.Outbox(context.Background(), 10); len(list) != 0 {
		t.Fatalf("a sent message is still queued after a shutdown: %+v", list)
	}
}

// TestOutboxRoutesAreTheCallersOnly checks that the store queues notices
// only on the routes its caller registered, and says so when a reporter's
// channel has none, before it changes anything.
func TestOutboxRoutesAreTheCallersOnly(t *testing.T) {
	f := newFixture(t) // routes: email, slack
	ctx := context.Background()
	emailOnly := redisstore.New(f.rdb, f.prefix, intake.RouteEmail)
	engine := workflow.NewEngine(emailOnly, f.rules, f.m, f.clock.Now)
	slackReport := intake.Report{Channel: intake.ChannelSlack, Subject: "vpn", Reporter: intake.Reporter{Name: "Ana", SlackID: "U1"}}

	_, err := engine.Register(ctx, slackReport)
	if err == nil || !strings.Contains(err.Error(), `no outbox route for channel "slack"`) {
		t.Fatalf("register a Slack reporter without a Slack route: %v", err)
	}

	inc := must(t)(f.engine.Register(ctx, slackReport)) // queued on Slack
	did := done(t)
	did(f.engine.Move(ctx, inc.ID, alice, intake.Solution, ""))
	before := must(t)(f.engine.Get(ctx, inc.ID))
	// Into validation notifies the reporter: refused without a route.
	_, err = engine.Move(ctx, inc.ID, alice, intake.Validation, "")
	if err == nil || !strings.Contains(err.Error(), "no outbox route") || !strings.Contains(err.Error(), "slack") {
		t.Fatalf("move that notifies a Slack reporter without a Slack route: %v", err)
	}
	after := must(t)(f.engine.Get(ctx, inc.ID))
	if after.Version != before.Version || after.State != intake.Solution || len(after.History) != len(before.History) {
		t.Fatalf("a refused change wrote: version %d -> %d, state %s", before.Version, after.Version, after.State)
	}

	waiting, _, err := emailOnly.OutboxDepth(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := waiting[intake.RouteSlack]; ok || len(waiting) != 1 {
		t.Fatalf("depth of unregistered routes: %v", waiting)
	}
	if waiting, _, _ := f.store.OutboxDepth(ctx); waiting[intake.RouteSlack] != 1 {
		t.Fatalf("slack route holds %v, want the acknowledgement only", waiting)
	}
}
