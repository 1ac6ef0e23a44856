package redisstore_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/poll"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/robfig/cron/v3"
)

// gate is a notifier whose first delivery waits until released, so that a
// test can hold a drain in the middle of its work.
type gate struct {
	entered, release chan struct{}
	once             sync.Once
	mu               sync.Mutex
	sent             map[string]int // message id -> deliveries
}

func newGate() *gate {
	return &gate{entered: make(chan struct{}), release: make(chan struct{}), sent: map[string]int{}}
}

func (g *gate) Deliver(_ context.Context, msg intake.Outgoing, _ *intake.Incident) error {
	g.once.Do(func() {
		close(g.entered)
		<-g.release
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	g.sent[msg.ID]++
	return nil
}

func (g *gate) count() (messages, deliveries int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, n := range g.sent {
		deliveries += n
	}
	return len(g.sent), deliveries
}

// eventually fails the test when cond is still false after a generous
// deadline; it bounds a wait, it does not time anything.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Until(t, what, 20*time.Second, cond)
}

// runLoop runs the route's drain loop of w with d, counting the drains
// that finished, until the test ends or cancel is called; done closes
// when the loop has returned.
func runLoop(t *testing.T, w *workflow.Wakeups, d *workflow.Dispatcher, route intake.Route) (finished *atomic.Int64, done chan struct{}, cancel func()) {
	t.Helper()
	finished = &atomic.Int64{}
	loop := w.DrainLoop(route, func(ctx context.Context) {
		if _, err := d.Drain(ctx); err != nil && ctx.Err() == nil {
			t.Errorf("drain: %v", err)
		}
		finished.Add(1)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() {
		defer close(done)
		loop(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return finished, done, cancel
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

// wakingEngine is an engine on f's store whose commits wake w's loops.
func wakingEngine(f *fixture) (*workflow.Wakeups, *workflow.Engine) {
	w := workflow.NewWakeups(nil, quiet())
	return w, workflow.NewEngine(workflow.WakeOnCommit(f.store, w), f.rules, f.m, f.clock.Now)
}

// A burst of commits while a drain is busy leaves one pending wake-up: the
// busy drain delivers everything, and at most one more drain finds nothing.
func TestBurstOfCommitsCoalescesIntoFewDrains(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w, engine := wakingEngine(f)
	g := newGate()
	finished, done, cancel := runLoop(t, w, f.dispatcher(intake.RouteEmail, g), intake.RouteEmail)
	const n = 300
	for i := range n {
		must(t)(engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "burst", Reporter: intake.Reporter{Email: "u@example.com"}}))
		if i == 0 {
			<-g.entered // a drain is busy with the first message from here on
		}
	}
	close(g.release)
	eventually(t, "every acknowledgment delivered", func() bool { m, _ := g.count(); return m == n })
	cancel()
	<-done
	if m, d := g.count(); m != n || d != n {
		t.Fatalf("%d messages in %d deliveries, want %d once each", m, d, n)
	}
	// At most: one at start (empty), the one held by the gate, the one
	// left pending by the burst.
	if got := finished.Load(); got > 3 {
		t.Fatalf("%d commits caused %d drains, want at most 3", n, got)
	}
}

// A batch of reports registered together (a fetched mail batch) wakes the
// delivery like one report does: with no poll running, every
// acknowledgment goes out at once.
func TestBatchRegistrationWakesTheRoute(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w, engine := wakingEngine(f)
	g := newGate()
	close(g.release)
	finished, _, _ := runLoop(t, w, f.dispatcher(intake.RouteEmail, g), intake.RouteEmail)
	eventually(t, "the loop's first drain", func() bool { return finished.Load() >= 1 })
	reps := make([]intake.Report, 20)
	for i := range reps {
		reps[i] = intake.Report{Channel: intake.ChannelEmail, Subject: "batch", Reporter: intake.Reporter{Email: "u@example.com"}}
	}
	if _, errs := engine.RegisterMany(ctx, reps); errors.Join(errs...) != nil {
		t.Fatal(errors.Join(errs...))
	}
	eventually(t, "every acknowledgment delivered", func() bool { m, _ := g.count(); return m == len(reps) })
}

// A wake-up published by one bot makes another deliver at once, with no
// poll running anywhere.
func TestWakeUpFromAnotherBotDelivers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	// Bot B delivers e-mail; it has no poll.
	storeB := redisstore.New(f.rdb, f.prefix, intake.RouteEmail, intake.RouteSlack)
	wB := workflow.NewWakeups(storeB, quiet())
	g := newGate()
	close(g.release)
	dB := workflow.NewDispatcher(storeB, storeB, intake.RouteEmail, g, quiet(), f.m, f.clock.Now)
	finished, _, _ := runLoop(t, wB, dB, intake.RouteEmail)
	runBus(t, wB)
	// B has joined the channel, and the drain its joining woke is over:
	// from here on only a wake-up can make B drain again.
	eventually(t, "bot B listening", func() bool {
		n, err := f.rdb.PubSubNumSub(ctx, f.prefix+":{outbox}:wake").Result()
		return err == nil && n[f.prefix+":{outbox}:wake"] == 1 && finished.Load() == 2
	})

	// What is not a wake-up on the channel changes nothing and stops nothing.
	for _, junk := range []string{"", "garbage", "bot nosuchroute,", "bot ,,"} {
		if err := f.rdb.Publish(ctx, f.prefix+":{outbox}:wake", junk).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// Bot A commits; it delivers e-mail too but its loop is not running.
	wA := workflow.NewWakeups(f.store, quiet())
	wA.DrainLoop(intake.RouteEmail, func(context.Context) { t.Error("bot A drained") })
	runBus(t, wA)
	engineA := workflow.NewEngine(workflow.WakeOnCommit(f.store, wA), f.rules, f.m, f.clock.Now)
	must(t)(engineA.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "from A", Reporter: intake.Reporter{Email: "u@example.com"}}))
	eventually(t, "bot B delivering A's acknowledgment", func() bool { m, _ := g.count(); return m == 1 })
}

func runBus(t *testing.T, w *workflow.Wakeups) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// A message queued without a wake-up (lost on the way) goes out at the
// next outbox poll, which pokes the loop as serve's schedule does.
func TestPollCoversAMissedWakeUp(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w := workflow.NewWakeups(nil, quiet())
	g := newGate()
	close(g.release)
	finished, _, _ := runLoop(t, w, f.dispatcher(intake.RouteEmail, g), intake.RouteEmail)
	eventually(t, "the drain at start", func() bool { return finished.Load() == 1 })
	// f.engine commits without waking anyone.
	must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "missed", Reporter: intake.Reporter{Email: "u@example.com"}}))
	poll := cron.New()
	if _, err := poll.AddFunc("@every 1s", func() { w.Poke(intake.RouteEmail) }); err != nil {
		t.Fatal(err)
	}
	poll.Start()
	defer func() { <-poll.Stop().Done() }()
	eventually(t, "the poll delivering", func() bool { m, _ := g.count(); return m == 1 })
}

// Shutting down waits for the drain under way: the delivery it holds is
// finished and recorded before the loop returns.
func TestShutdownWaitsForTheDrainLoop(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w, engine := wakingEngine(f)
	g := newGate()
	_, done, cancel := runLoop(t, w, f.dispatcher(intake.RouteEmail, g), intake.RouteEmail)
	must(t)(engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "in flight", Reporter: intake.Reporter{Email: "u@example.com"}}))
	<-g.entered
	// Stop as serve does: cancel, then wait.
	cancel()
	select {
	case <-done:
		t.Fatal("the loop returned while its delivery was under way")
	default:
	}
	close(g.release)
	<-done
	if m, d := g.count(); m != 1 || d != 1 {
		t.Fatalf("%d messages in %d deliveries, want 1", m, d)
	}
	if list, err := f.store.Outbox(ctx, 10); err != nil || len(list) != 0 {
		t.Fatalf("outbox after shutdown = %+v (%v): the delivery was not recorded", list, err)
	}
}

// A wake-up does not break Slack's 429 hold: a woken drain within the
// pause calls nobody.
func TestRateLimitPauseHoldsAWokenLoop(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	w, engine := wakingEngine(f)
	// Queued before the loop starts, without a wake-up: the drain at
	// start is the only one it causes.
	must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Subject: "one", Reporter: intake.Reporter{SlackID: "U1"}}))
	rec := &recorder{fail: &intake.RetryLater{After: 40 * time.Second, Err: errors.New("429 ratelimited")}}
	d := f.dispatcher(intake.RouteSlack, rec).WithPause(f.store)
	finished, _, _ := runLoop(t, w, d, intake.RouteSlack)
	eventually(t, "the drain at start", func() bool { return finished.Load() == 1 })
	if rec.calls != 1 {
		t.Fatalf("%d calls to Slack, want 1", rec.calls)
	}
	f.clock.Add(20 * time.Second)
	must(t)(engine.Register(ctx, intake.Report{Channel: intake.ChannelSlack, Subject: "two", Reporter: intake.Reporter{SlackID: "U2"}}))
	eventually(t, "the woken drain", func() bool { return finished.Load() == 2 })
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.calls != 1 {
		t.Fatalf("a woken drain called Slack within its 429 wait: %d calls", rec.calls)
	}
}
