package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// Change notices keep only the newest per incident (each delivery shows
// the incident as it is then), and are not the reporter's history.
func TestChangeNoticesAreCoalescedAndLeaveNoHistory(t *testing.T) {
	f := newFixture(t)
	f.store.WatchChanges()
	ctx := context.Background()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Subject: "VPN down",
		Reporter: intake.Reporter{Name: "Ana", SlackID: "UANA"}}))
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	done(t)(f.engine.Assign(ctx, inc.ID, agent, "alice", ""))
	done(t)(f.engine.Move(ctx, inc.ID, agent, "solution", ""))

	var changes []intake.Notice
	list, err := f.store.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range list {
		if q.Route == intake.RouteWatch {
			changes = append(changes, q)
		}
	}
	if len(changes) != 1 || changes[0].ID != inc.ID+":change:3" || changes[0].Kind != intake.NoticeChange {
		t.Fatalf("change notices = %+v", changes)
	}
	rec := &recorder{}
	if n, err := f.dispatcher(intake.RouteWatch, rec).Drain(ctx); n != 1 || err != nil {
		t.Fatalf("drain: %d %v", n, err)
	}
	if rec.sent[0].Kind != intake.NoticeChange || rec.sent[0].IncidentID != inc.ID {
		t.Fatalf("change notice rendered as %+v", rec.sent[0])
	}
	for _, h := range must(t)(f.engine.Get(ctx, inc.ID)).History {
		if h.Event == "notified" && h.Note == "change" {
			t.Fatalf("a change notice entered the history: %+v", h)
		}
	}
	// Without WatchChanges nothing is queued for watchers.
	g := newFixture(t)
	must(t)(g.engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Subject: "x", Reporter: intake.Reporter{SlackID: "U1"}}))
	list, _ = g.store.Outbox(ctx, 10)
	for _, q := range list {
		if q.Route == intake.RouteWatch {
			t.Fatalf("change notice queued without watchers: %+v", q)
		}
	}
}

// A channel that asks to wait (Slack's 429) holds the whole batch for
// that long, and waiting is never a step toward the dead letters.
func TestRetryLaterHoldsTheBatchWithoutCountingTowardDeath(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, s := range []string{"one", "two", "three"} {
		must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Subject: s, Reporter: intake.Reporter{SlackID: "U1"}}))
	}
	rec := &recorder{fail: &intake.RetryLater{After: 40 * time.Second, Err: errors.New("429 ratelimited")}}
	d := f.dispatcher(intake.RouteSlack, rec).WithPause(f.store)
	d.MaxAttempts = 2
	for round := range 3 {
		if n, err := d.Drain(ctx); n != 0 || err != nil {
			t.Fatalf("drain under the rate limit: %d %v", n, err)
		}
		list, err := f.store.Outbox(ctx, 10)
		if err != nil {
			t.Fatal(err)
		}
		held := 0
		for _, q := range list {
			if strings.Contains(q.LastError, "429") {
				held++
				if q.Dead || !q.DueAt.Equal(f.clock.Now().Add(40*time.Second).Truncate(time.Millisecond)) {
					t.Fatalf("held message = %+v", q)
				}
			}
		}
		if held != 3+round {
			t.Fatalf("round %d: %d held, want %d: %+v", round, held, 3+round, list)
		}
		// Within the wait no bot calls the channel, not even for a
		// message that was not in the held batch.
		must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Subject: "late", Reporter: intake.Reporter{SlackID: "U2"}}))
		f.clock.Add(20 * time.Second)
		calls := rec.calls
		if n, err := f.dispatcher(intake.RouteSlack, rec).WithPause(f.store).Drain(ctx); n != 0 || err != nil || rec.calls != calls {
			t.Fatalf("a second bot called the channel within the wait: %d %v", n, err)
		}
		f.clock.Add(20 * time.Second)
	}
	waiting, dead, err := f.store.OutboxDepth(ctx)
	if err != nil || waiting[intake.RouteSlack] != 6 || dead[intake.RouteSlack] != 0 || waiting[intake.RouteEmail] != 0 {
		t.Fatalf("depth: waiting %v dead %v (%v)", waiting, dead, err)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	if n, err := d.Drain(ctx); n != 6 || err != nil {
		t.Fatalf("after the wait: %d %v", n, err)
	}
}

func TestSlackThreadLinks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if id, err := f.store.IncidentOfThread(ctx, "C1", "1.1"); id != "" || err != nil {
		t.Fatalf("unknown thread: %q %v", id, err)
	}
	for _, ts := range []string{"1.1", "2.2"} {
		if err := f.store.LinkThread(ctx, "INC-000001", "C1", ts); err != nil {
			t.Fatal(err)
		}
	}
	refs, err := f.store.SlackRefs(ctx, "INC-000001")
	if err != nil || refs["thread"] != "C1/1.1" {
		t.Fatalf("the first thread must stay the incident's: %v %v", refs, err)
	}
	for _, ts := range []string{"1.1", "2.2"} {
		if id, _ := f.store.IncidentOfThread(ctx, "C1", ts); id != "INC-000001" {
			t.Fatalf("thread %s -> %q", ts, id)
		}
	}
	first, _ := f.store.Lock(ctx, "post:x", time.Minute)
	second, _ := f.store.Lock(ctx, "post:x", time.Minute)
	if first == "" || second != "" {
		t.Fatalf("lock taken twice: %q %q", first, second)
	}
	// Only the holder's token gives it back.
	if err := f.store.Unlock(ctx, "post:x", "not-the-token"); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.store.Lock(ctx, "post:x", time.Minute); again != "" {
		t.Fatal("a stranger's unlock freed the lock")
	}
	if err := f.store.Unlock(ctx, "post:x", first); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.store.Lock(ctx, "post:x", time.Minute); again == "" {
		t.Fatal("the holder's unlock did not free the lock")
	}
	if ok, _ := f.store.ClaimSlackRef(ctx, "INC-000001", "triage_posting", "1"); !ok {
		t.Fatal("first claim refused")
	}
	if ok, _ := f.store.ClaimSlackRef(ctx, "INC-000001", "triage_posting", "1"); ok {
		t.Fatal("second claim granted")
	}
}

// slowChannel takes two and a half (fake) minutes per delivery.
type slowChannel struct {
	clock *clock
	sent  []time.Time
}

func (s *slowChannel) Deliver(context.Context, intake.Outgoing, *intake.Incident) error {
	s.sent = append(s.sent, s.clock.Now())
	s.clock.Add(150 * time.Second)
	return nil
}

// A slow channel never delivers past the claim's lease, when another bot
// could claim the same message: what is left goes back and is claimed anew.
func TestDeliveriesStopBeforeTheLeaseRunsOut(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 3 {
		must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Subject: fmt.Sprint("slow ", i), Reporter: intake.Reporter{SlackID: "U1"}}))
	}
	slow := &slowChannel{clock: f.clock}
	claims := &countingQueue{Store: f.store}
	d := workflow.NewDispatcher(claims, f.store, intake.RouteSlack, slow,
		slog.New(slog.DiscardHandler), f.m, f.clock.Now)
	if n, err := d.Drain(ctx); n != 3 || err != nil {
		t.Fatalf("drain: %d %v", n, err)
	}
	// Claimed together at 0; the third would start at 5 min, past the
	// lease less a 25 s timeout: it went back and was claimed anew.
	list, _ := f.store.Outbox(ctx, 10)
	if len(list) != 0 || len(slow.sent) != 3 || claims.nonEmpty != 2 {
		t.Fatalf("outbox %+v, sent %v, %d claims", list, slow.sent, claims.nonEmpty)
	}
}

// countingQueue counts the claims that handed out messages.
type countingQueue struct {
	*redisstore.Store
	nonEmpty int
}

func (q *countingQueue) Claim(ctx context.Context, ch intake.Route, now time.Time, lease time.Duration, max int) ([]intake.Notice, error) {
	got, err := q.Store.Claim(ctx, ch, now, lease, max)
	if len(got) > 0 {
		q.nonEmpty++
	}
	return got, err
}

// shutdownChannel stops the bot during its first delivery.
type shutdownChannel struct {
	stop func()
	sent int
}

func (s *shutdownChannel) Deliver(ctx context.Context, _ intake.Outgoing, _ *intake.Incident) error {
	s.stop()
	if ctx.Err() != nil {
		return ctx.Err() // a delivery under way must not see the shutdown
	}
	s.sent++
	return nil
}

// On shutdown the delivery under way finishes; the rest of the batch goes
// back to the outbox with no attempt spent.
func TestShutdownFinishesTheDeliveryUnderWay(t *testing.T) {
	f := newFixture(t)
	for i := range 3 {
		must(t)(f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelSlack, Subject: fmt.Sprint("bye ", i), Reporter: intake.Reporter{SlackID: "U1"}}))
	}
	ctx, stop := context.WithCancel(context.Background())
	ch := &shutdownChannel{stop: stop}
	if n, err := f.dispatcher(intake.RouteSlack, ch).Drain(ctx); n != 1 || err != nil || ch.sent != 1 {
		t.Fatalf("drain: %d sent %d, %v", n, ch.sent, err)
	}
	left, err := f.store.Outbox(context.Background(), 10)
	if err != nil || len(left) != 2 {
		t.Fatalf("outbox: %+v %v", left, err)
	}
	for _, q := range left {
		if q.Attempts != 0 || q.Dead || q.DueAt.After(f.clock.Now()) {
			t.Fatalf("returned message = %+v", q)
		}
	}
}
