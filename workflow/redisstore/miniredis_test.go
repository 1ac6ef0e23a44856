package redisstore_test

import (
	"context"
	"testing"

	"github.com/alicebob/miniredis/v2"
	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// TestEmbeddedStoreRunsTheScripts checks that the embedded store that
// "intakebot serve" uses without Redis runs every script the same way.
func TestEmbeddedStoreRunsTheScripts(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	f := newFixtureOn(t, rdb, "embedded")
	ctx := context.Background()
	ok, did := must(t), done(t)
	id := ok(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "VPN caída", Reporter: intake.Reporter{Email: "a@example.test"}})).ID
	did(f.engine.Move(ctx, id, alice, intake.Solution, ""))
	did(f.engine.Move(ctx, id, alice, intake.Validation, ""))
	did(f.engine.AnswerValidation(ctx, id, reporter, false, "no"))
	did(f.engine.Move(ctx, id, alice, intake.Solution, ""))
	did(f.engine.Move(ctx, id, alice, intake.Validation, ""))
	did(f.engine.AnswerValidation(ctx, id, reporter, true, ""))
	did(f.engine.Rate(ctx, id, reporter, 5, ""))
	did(f.engine.Move(ctx, id, alice, intake.Closed, ""))
	inc := ok(f.engine.Get(ctx, id))
	if inc.State != intake.Closed || inc.ReopenCount != 1 || len(inc.History) != 10 {
		t.Fatalf("%s reopen %d history %d", inc.State, inc.ReopenCount, len(inc.History))
	}
	page, err := f.store.List(ctx, intake.ListFilter{State: "closed"})
	if err != nil || len(page.Incidents) != 1 {
		t.Fatalf("list %v %v", page, err)
	}
	// Drained only now, the questions were all answered before their
	// turn: they are dropped, the rest is delivered.
	rec := &recorder{}
	if n, err := f.dispatcher(intake.RouteEmail, rec).Drain(ctx); n != 3 || err != nil {
		t.Fatalf("drained %d %v", n, err)
	}
	if inc.Round != 3 {
		t.Fatalf("round %d after three questions", inc.Round)
	}
	// The search and the filter indexes, on both of page.lua's ways.
	ok(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "Impresora atascada", Reporter: intake.Reporter{Email: "a@example.test"}}))
	for _, budget := range []int{400, 1} {
		f.store.SetPageBudget(budget)
		for _, fl := range []intake.ListFilter{{Query: "vpn caida", State: "closed", Channel: "email"}, {Query: "caíd"}} {
			page, err := f.store.List(ctx, fl)
			if err != nil || len(page.Incidents) != 1 || page.Incidents[0].ID != id {
				t.Fatalf("budget %d, %+v: %v %v", budget, fl, page, err)
			}
		}
	}
}
