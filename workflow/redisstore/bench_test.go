package redisstore_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
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

// benchClients is how many goroutines drive Redis at once, as in the
// issue's target ("8 concurrent clients"), whatever GOMAXPROCS is.
const benchClients = 8

func benchFixture(b *testing.B) (*fixture, *roundTrips) {
	rdb, prefix := redistest.New(b, redisstore.Connect)
	rt := &roundTrips{}
	rdb.AddHook(rt)
	f := newFixtureOn(b, rdb, prefix)
	// Real time: the bench measures the store, not a frozen clock.
	f.engine = workflow.NewEngine(f.store, rules(b), f.m, time.Now)
	return f, rt
}

// clients runs b.N calls of op spread over exactly benchClients goroutines;
// each client keeps its own state in the closure newClient returns.
func clients(b *testing.B, newClient func() func() error) {
	ops := make([]func() error, benchClients)
	for i := range ops {
		ops[i] = newClient()
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for _, op := range ops {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
}

func BenchmarkRegister(b *testing.B) {
	f, rt := benchFixture(b)
	ctx := context.Background()
	rep := intake.Report{Channel: intake.ChannelEmail, Subject: "Outlook does not open since this morning",
		Description: "Hello, since 9:00 Outlook shows a spinning wheel and nothing else. Colleagues are fine.",
		Reporter:    intake.Reporter{Name: "Ana", Email: "ana@example.test"}}
	before := rt.n.Load()
	clients(b, func() func() error {
		return func() error { _, err := f.engine.Register(ctx, rep); return err }
	})
	b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
}

// BenchmarkRegisterWithSuggestions is BenchmarkRegister with the seed
// knowledge base in memory: the suggestions are searched in Go and ride
// the same create call (roundtrips/op must stay that of BenchmarkRegister).
func BenchmarkRegisterWithSuggestions(b *testing.B) {
	f, rt := benchFixture(b)
	seed, err := kb.Seed()
	if err != nil {
		b.Fatal(err)
	}
	f.engine.UseKB(workflow.Suggestions{Index: kb.NewIndex(seed...), MinScore: kb.DefaultMinScore, Counter: f.store})
	ctx := context.Background()
	rep := intake.Report{Channel: intake.ChannelEmail, Subject: "Outlook does not open since this morning",
		Description: "Hello, since 9:00 Outlook shows a spinning wheel and nothing else. Colleagues are fine.",
		Reporter:    intake.Reporter{Name: "Ana", Email: "ana@example.test"}}
	if inc, err := f.engine.Register(ctx, rep); err != nil || len(inc.Suggestions) == 0 {
		b.Fatalf("no suggestions for the benchmark's report: %v", err)
	}
	before := rt.n.Load()
	clients(b, func() func() error {
		return func() error { _, err := f.engine.Register(ctx, rep); return err }
	})
	b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
}

// BenchmarkRegisterGrouped registers alike reports on one CI with outage
// grouping on: every client contends for the same outage hash (the worst
// case: one outage, every report a child of it).
func BenchmarkRegisterGrouped(b *testing.B) {
	f, rt := benchFixture(b)
	f.store.WithGrouping(workflow.Grouping{Enabled: true, Window: time.Hour, MinScore: 0.5})
	ctx := context.Background()
	rep := intake.Report{Channel: intake.ChannelEmail, Subject: "The VPN is down", CI: "vpn", Category: "network",
		Description: "Hello, since 9:00 the VPN does not connect from home.",
		Reporter:    intake.Reporter{Name: "Ana", Email: "ana@example.test"}}
	before := rt.n.Load()
	clients(b, func() func() error {
		return func() error { _, err := f.engine.Register(ctx, rep); return err }
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
	clients(b, func() func() error {
		var id string
		step := 0
		return func() error {
			if step%stepsPerIncident == 0 {
				id = <-fresh
			}
			defer func() { step++ }()
			var err error
			switch step % 3 {
			case 0:
				_, err = f.engine.Move(ctx, id, alice, intake.Solution, "")
			case 1:
				_, err = f.engine.Move(ctx, id, alice, intake.Validation, "")
			case 2:
				_, err = f.engine.AnswerValidation(ctx, id, reporter, false, "still broken")
			}
			return err
		}
	})
	b.ReportMetric(float64(rt.n.Load()-before)/float64(b.N), "roundtrips/op")
}
