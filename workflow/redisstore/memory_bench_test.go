package redisstore_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/poll"
	"github.com/intakebot/intakebot/workflow"
	"github.com/redis/go-redis/v9"
)

// discard is a notifier that delivers everything at once and keeps nothing.
type discard struct{ n atomic.Int64 }

func (d *discard) Deliver(context.Context, intake.Outgoing, *intake.Incident) error {
	d.n.Add(1)
	return nil
}

// usedMemory is INFO memory's used_memory, after Redis settles lazy frees.
func usedMemory(b *testing.B, rdb redis.UniversalClient) int64 {
	b.Helper()
	ctx := context.Background()
	// lazyfree: UNLINKed values leave in the background; measure once they
	// are gone (or after a second, as they are then).
	poll.Within(time.Second, func() bool {
		info, err := rdb.Info(ctx, "memory").Result()
		if err != nil {
			b.Fatal(err)
		}
		return strings.Contains(info, "lazyfree_pending_objects:0")
	})
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no used_memory in INFO memory")
	return 0
}

// BenchmarkMemory registers typical incidents through the real store (a
// 300-byte description, the reporter's Message-ID remembered, an agent's
// action, the acknowledgment delivered, the seed knowledge base's
// suggestions stored as serve stores them), closes half of them (validation,
// survey, close, each notice delivered), archives the closed half and
// reports used_memory per incident at each stage (B/archived with their
// mail thread keys still there, B/tombstone once those expired). It runs
// once whatever
// b.N; INTAKEBOT_BENCH_INCIDENTS sets how many (default 2000;
// scripts/bench-memory uses 100000).
func BenchmarkMemory(b *testing.B) {
	n := 2000
	if v := os.Getenv("INTAKEBOT_BENCH_INCIDENTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 2 {
			b.Fatalf("INTAKEBOT_BENCH_INCIDENTS=%q: want a number of incidents, 2 or more", v)
		}
	}
	// The fixture's frozen clock: the archive sees the closed half as old
	// once the clock moves on.
	f := newFixture(b)
	seed, err := kb.Seed()
	if err != nil {
		b.Fatal(err)
	}
	f.engine.UseKB(workflow.Suggestions{Index: kb.NewIndex(seed...), MinScore: kb.DefaultMinScore, Counter: f.store})
	ctx := context.Background()
	mail := f.dispatcher(intake.RouteEmail, &discard{})
	drain := func() {
		if _, err := mail.Drain(ctx); err != nil {
			b.Fatal(err)
		}
	}
	description := strings.Repeat("Outlook hangs on start. ", 13)[:300]
	var seq atomic.Int64
	var mu sync.Mutex
	var closedThreads []string // the thread keys of the closed half
	register := func(close bool) error {
		k := seq.Add(1)
		inc, err := f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "Outlook does not open since this morning",
			Description: description, Reporter: intake.Reporter{Name: "Ana Pérez", Email: fmt.Sprintf("user%06d@example.test", k)}})
		if err != nil {
			return err
		}
		if len(inc.Suggestions) == 0 {
			return fmt.Errorf("%s has no suggestions: the figures would leave them out", inc.ID)
		}
		mid := fmt.Sprintf("<%d.%d@mail.example.test>", k, time.Now().UnixNano())
		if err := f.store.RememberMail(ctx, inc.ID, mid, []string{inc.Reporter.Email}); err != nil {
			return err
		}
		if _, err := f.engine.AddAction(ctx, inc.ID, alice, "Cleared the Outlook profile cache and restarted the client."); err != nil {
			return err
		}
		if !close {
			return nil
		}
		mu.Lock()
		closedThreads = append(closedThreads, f.prefix+":{mail}:thread:"+mid)
		mu.Unlock()
		by := intake.Actor{Kind: intake.ActorReporter, Name: "Ana Pérez", Via: "email"}
		for _, step := range []func() (intake.Changed, error){
			func() (intake.Changed, error) { return f.engine.Move(ctx, inc.ID, alice, intake.Solution, "") },
			func() (intake.Changed, error) { return f.engine.Move(ctx, inc.ID, alice, intake.Validation, "") },
			// The question reaches the reporter before the answer (else
			// it is dropped as stale), as the survey below.
			func() (intake.Changed, error) { drain(); return intake.Changed{}, nil },
			func() (intake.Changed, error) { return f.engine.AnswerValidation(ctx, inc.ID, by, true, "") },
			func() (intake.Changed, error) { drain(); return intake.Changed{}, nil },
			func() (intake.Changed, error) { return f.engine.Rate(ctx, inc.ID, by, 5, "quick, thanks") },
			func() (intake.Changed, error) { return f.engine.Move(ctx, inc.ID, alice, intake.Closed, "") },
		} {
			if _, err := step(); err != nil {
				return err
			}
		}
		return nil
	}
	many := func(count int, close bool) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for range benchClients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for next.Add(1) <= int64(count) {
					if err := register(close); err != nil {
						b.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		drain()
	}
	open, closed := n/2, n-n/2

	b.ResetTimer()
	used0 := usedMemory(b, f.rdb)
	many(open, false)
	used1 := usedMemory(b, f.rdb)
	many(closed, true)
	used2 := usedMemory(b, f.rdb)
	f.clock.Add(500 * 24 * time.Hour)
	res, err := f.store.Archiver(b.TempDir(), 400*24*time.Hour, f.clock.Now).Run(ctx)
	if err != nil || res.Archived != closed {
		b.Fatalf("archive: %+v %v", res, err)
	}
	used3 := usedMemory(b, f.rdb)
	// A Message-ID's thread key outlives its incident by its own expiry
	// (400 days after the mail, so gone by the time a 400d retention
	// archives it); the frozen clock cannot make Redis expire them, so
	// they are deleted here to measure the tombstones alone.
	for start := 0; start < len(closedThreads); start += 1000 {
		if err := f.rdb.Del(ctx, closedThreads[start:min(start+1000, len(closedThreads))]...).Err(); err != nil {
			b.Fatal(err)
		}
	}
	used4 := usedMemory(b, f.rdb)
	b.StopTimer()

	b.ReportMetric(float64(used1-used0)/float64(open), "B/open")
	b.ReportMetric(float64(used2-used1)/float64(closed), "B/closed")
	b.ReportMetric(float64(used3-used1)/float64(closed), "B/archived")
	b.ReportMetric(float64(used4-used1)/float64(closed), "B/tombstone")
	b.Logf("%d open, %d closed then archived: used_memory %d -> %d (open) -> %d (closed) -> %d (archived) -> %d (their thread keys expired)",
		open, closed, used0, used1, used2, used3, used4)
	logKeySizes(b, f)
}

// logKeySizes logs MEMORY USAGE of each kind of key of one open and one
// archived incident: where the bytes go.
func logKeySizes(b *testing.B, f *fixture) {
	ctx := context.Background()
	keys, err := f.rdb.Keys(ctx, f.prefix+":{s01}:*").Result()
	if err != nil {
		b.Fatal(err)
	}
	extra, _ := f.rdb.Keys(ctx, f.prefix+":{[^s]*").Result()
	keys = append(keys, extra...)
	byKind := map[string][2]int64{}
	for _, k := range keys {
		kind := strings.TrimPrefix(k, f.prefix+":")
		for _, id := range strings.FieldsFunc(kind, func(r rune) bool { return r == ':' }) {
			if strings.HasPrefix(id, "INC-") || strings.Contains(id, "@") || len(id) == 32 || len(id) == 16 && strings.Trim(id, "0123456789abcdef") == "" {
				kind = strings.Replace(kind, id, "*", 1)
			}
		}
		// One line for all the search terms of each encoding.
		if i := strings.Index(kind, ":idx:tb:"); i >= 0 {
			kind = kind[:i] + ":idx:tb:*"
		}
		size, err := f.rdb.MemoryUsage(ctx, k, 0).Result()
		if err != nil {
			b.Fatal(err)
		}
		enc, _ := f.rdb.ObjectEncoding(ctx, k).Result()
		kind += " (" + enc + ")"
		v := byKind[kind]
		byKind[kind] = [2]int64{v[0] + 1, v[1] + size}
	}
	// The fields of one open incident's hash, largest first.
	if inc, err := f.rdb.Keys(ctx, f.prefix+":{s01}:inc:INC-??????").Result(); err == nil && len(inc) > 0 {
		h := f.rdb.HGetAll(ctx, inc[0]).Val()
		fields := slices.Collect(maps.Keys(h))
		slices.SortFunc(fields, func(x, y string) int { return cmp.Compare(len(h[y])+len(y), len(h[x])+len(x)) })
		for _, k := range fields {
			b.Logf("  %s field %-20s %4d bytes", inc[0][len(f.prefix)+1:], k, len(k)+len(h[k]))
		}
	}
	kinds := slices.Collect(maps.Keys(byKind))
	slices.SortFunc(kinds, func(x, y string) int { return cmp.Compare(byKind[y][1], byKind[x][1]) })
	for _, kind := range kinds {
		v := byKind[kind]
		b.Logf("%-50s %7d keys %10d bytes %8d bytes/key", kind, v[0], v[1], v[1]/v[0])
	}
}
