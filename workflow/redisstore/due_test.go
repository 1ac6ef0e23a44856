package redisstore_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

func timers() workflow.Timers {
	return workflow.Timers{
		ValidationReminders: []time.Duration{24 * time.Hour, 72 * time.Hour}, ValidationAcceptAfter: 7 * 24 * time.Hour,
		SatisfactionReminders: []time.Duration{48 * time.Hour}, SatisfactionCloseAfter: 5 * 24 * time.Hour,
		SLA:    map[intake.Priority]workflow.SLATarget{"P3": {Response: 4 * time.Hour, Resolution: 72 * time.Hour}},
		WarnAt: 0.75,
	}
}

func (f *fixture) scheduler() *workflow.Scheduler {
	return workflow.NewScheduler(f.engine, f.store, timers(), slog.New(slog.DiscardHandler), f.m)
}

func (f *fixture) queued(t *testing.T, kind intake.NoticeKind) int {
	t.Helper()
	list, err := f.store.Outbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range list {
		if q.Kind == kind {
			n++
		}
	}
	return n
}

// The whole timed path of one incident: SLA warning and breach, two
// reminders, validation by silence, a satisfaction reminder and review
// with no rating, each once and in the history.
func TestTimersWalkAnUnansweredIncident(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	s := f.scheduler()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "printer offline",
		Reporter: intake.Reporter{Email: "eva@example.test"}}))
	if inc.Priority != "P3" {
		t.Fatalf("priority %s: the test's SLA is for P3", inc.Priority)
	}
	tick := func(d time.Duration) {
		t.Helper()
		f.clock.Add(d)
		if _, err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	tick(0)
	tick(3*time.Hour + time.Minute) // 75% of the 4 h response target
	tick(time.Hour)                 // the target is missed
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	done(t)(f.engine.Move(ctx, inc.ID, agent, "solution", ""))
	done(t)(f.engine.Move(ctx, inc.ID, agent, "validation", ""))
	tick(0)
	tick(24*time.Hour + time.Minute)
	tick(time.Minute) // nothing new
	tick(48 * time.Hour)
	if n := f.queued(t, "remind_validation"); n != 2 {
		t.Fatalf("%d validation reminders queued, want 2", n)
	}
	tick(4 * 24 * time.Hour) // a week without answer
	got := must(t)(f.engine.Get(ctx, inc.ID))
	if got.State != "satisfaction" || len(got.Surveys) != 1 || got.Surveys[0].Answer != "yes" || got.Surveys[0].Via != "timer" {
		t.Fatalf("after a week of silence: %s %+v", got.State, got.Surveys)
	}
	tick(48*time.Hour + time.Minute)
	tick(3 * 24 * time.Hour)
	got = must(t)(f.engine.Get(ctx, inc.ID))
	if got.State != "review" || f.queued(t, "remind_satisfaction") != 1 {
		t.Fatalf("after the satisfaction timeout: %s, %d reminders", got.State, f.queued(t, "remind_satisfaction"))
	}
	var steps []string
	for _, h := range got.History {
		if h.Actor == "intakebot" && h.Event != "notified" {
			steps = append(steps, h.Event+":"+string(h.To))
		}
	}
	want := "sla: sla: remind: remind: answer_yes:satisfaction remind: skip_survey:review"
	if strings.Join(steps, " ") != want {
		t.Fatalf("timed history = %v\nwant %s", steps, want)
	}
	if got.Flags[workflow.FlagResponseWarning].IsZero() || got.Flags[workflow.FlagResponseBreach].IsZero() || !got.Flags[workflow.FlagResolutionBreach].IsZero() {
		t.Fatalf("flags = %v", got.Flags)
	}
	last := got.History[len(got.History)-1]
	if !strings.Contains(last.Note, "no rating") {
		t.Fatalf("the history does not say why: %+v", last)
	}
}

// A tick looks only at what is due: 100,000 incidents waiting for later
// cost nothing.
func TestTickWorksOnlyWhatIsDue(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	later := f.clock.Now().Add(time.Hour).UnixMilli()
	pipe := f.rdb.Pipeline()
	for n := 1000; n < 101000; n++ {
		shard := fmt.Sprintf("%s:{s%02d}:due", f.prefix, n%16)
		pipe.ZAdd(ctx, shard, redis.Z{Score: float64(later), Member: intake.FormatID(int64(n))})
		if n%5000 == 0 {
			if _, err := pipe.Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: fmt.Sprint("due ", i),
			Reporter: intake.Reporter{Email: "eva@example.test"}}))
	}
	worked, err := f.scheduler().Tick(ctx)
	if err != nil || worked != 10 {
		t.Fatalf("tick worked %d incidents (%v), want the 10 due", worked, err)
	}
	if worked, _ := f.scheduler().Tick(ctx); worked != 0 {
		t.Fatalf("a second tick worked %d", worked)
	}
}

// Several bots tick at once: each step happens once.
func TestConcurrentTicksDoEachStepOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ids []string
	for i := range 20 {
		inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: fmt.Sprint("vpn ", i),
			Reporter: intake.Reporter{Email: "eva@example.test"}}))
		agent := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
		done(t)(f.engine.Move(ctx, inc.ID, agent, "solution", ""))
		done(t)(f.engine.Move(ctx, inc.ID, agent, "validation", ""))
		ids = append(ids, inc.ID)
	}
	f.clock.Add(25 * time.Hour)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.scheduler().Tick(ctx); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for _, id := range ids {
		n := 0
		for _, h := range must(t)(f.engine.Get(ctx, id)).History {
			if h.Event == "remind" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%s reminded %d times", id, n)
		}
	}
}

// An answer's time since the question is measured from what the answering
// call itself returns: no extra round trip.
func TestTimeToAnswerIsMeasured(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg := prometheus.NewRegistry()
	engine := workflow.NewEngine(f.store, f.rules, workflow.NewMetrics(reg), f.clock.Now)
	inc := must(t)(engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "x", Reporter: intake.Reporter{Email: "eva@example.test"}}))
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	done(t)(engine.Move(ctx, inc.ID, agent, "solution", ""))
	done(t)(engine.Move(ctx, inc.ID, agent, "validation", ""))
	f.clock.Add(2 * time.Hour)
	done(t)(engine.AnswerValidation(ctx, inc.ID, intake.Actor{Kind: intake.ActorReporter, Name: "Eva", Via: "email"}, true, ""))
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range families {
		if fam.GetName() == "intakebot_survey_answer_seconds" {
			h := fam.GetMetric()[0].GetHistogram()
			if h.GetSampleCount() != 1 || h.GetSampleSum() != 7200 {
				t.Fatalf("time to answer: %d samples, sum %v", h.GetSampleCount(), h.GetSampleSum())
			}
			return
		}
	}
	t.Fatal("no intakebot_survey_answer_seconds")
}
