package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// roundTrips counts commands and pipelines sent: each is one round trip.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }
func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { r.n.Add(1); return next(ctx, cmd) }
}
func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { r.n.Add(1); return next(ctx, cmds) }
}

// benchClients is how many goroutines hammer Redis at once, as in the
// issue's target ("8 concurrent clients").
const benchClients = 8

func benchFixture(b *testing.B) (*fixture, *roundTrips) {
	rdb, prefix := redistest.New(b, redisstore.Connect)
	if c, ok := rdb.(*redis.Client); ok {
		c.Options().PoolSize = benchClients * 2
	}
	rt := &roundTrips{}
	rdb.AddHook(rt)
	f := newFixtureOn(b, rdb, prefix)
	// Real time: the bench measures the store, not a frozen clock.
	f.engine = workflow.NewEngine(f.store, rules(b), f.m, time.Now)
	return f, rt
}

func parallel(b *testing.B, body func(pb *testing.PB)) {
	procs := max(1, benchClients/runtimeProcs())
	b.SetParallelism(procs)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(body)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

func BenchmarkRegister(b *testing.B) {
	f, rt := benchFixture(b)
	ctx := context.Background()
	rep := intake.Report{Channel: intake.ChannelEmail, Subject: "Outlook does not open since this morning",
		Description: "Hello, since 9:00 Outlook shows a spinning wheel and nothing else. Colleagues are fine.",
		Reporter:    intake.Reporter{Name: "Ana", Email: "ana@example.test"}}
	before := rt.n.Load()
	parallel(b, func(pb *testing.PB) {
		for pb.Next() {
			if _, err := f.engine.Register(ctx, rep); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
}

func BenchmarkTransition(b *testing.B) {
	f, rt := benchFixture(b)
	ctx := context.Background()
	// Each client works its own incidents round the analysis -> solution ->
	// validation -> (no) -> analysis cycle, taking a fresh one every 30
	// steps so that histories keep a realistic length. They are registered
	// before the clock starts.
	const stepsPerIncident = 30
	fresh := make(chan string, b.N/stepsPerIncident+benchClients*2)
	for range cap(fresh) {
		inc, err := f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		fresh <- inc.ID
	}
	before := rt.n.Load()
	parallel(b, func(pb *testing.PB) {
		var id string
		for step := 0; pb.Next(); step++ {
			if step%stepsPerIncident == 0 {
				id = <-fresh
			}
			var err error
			switch step % 3 {
			case 0:
				_, err = f.engine.Move(ctx, id, alice, workflow.Solution, "")
			case 1:
				_, err = f.engine.Move(ctx, id, alice, workflow.Validation, "")
			case 2:
				_, err = f.engine.AnswerValidation(ctx, id, reporter, false, "still broken")
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
}
