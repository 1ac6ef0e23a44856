package redisstore_test

import (
	"context"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

func TestListFiltersAndPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var ids []string
	for i := range 40 {
		subject := "printer jam"
		if i%4 == 0 {
			subject = "urgent: vpn down for everyone"
		}
		inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: subject}))
		ids = append(ids, inc.ID)
		if i%3 == 0 {
			done(t)(f.engine.Assign(ctx, inc.ID, alice, "bob", ""))
		}
	}
	// Newest first, across all shards, in pages of 7.
	var seen []string
	var cursor int64
	for {
		page, err := f.store.List(ctx, intake.ListFilter{Before: cursor, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range page.Incidents {
			seen = append(seen, inc.ID)
		}
		if page.Next == 0 {
			break
		}
		cursor = page.Next
	}
	if len(seen) != 40 {
		t.Fatalf("paged %d incidents, want 40", len(seen))
	}
	for i, id := range seen {
		if id != ids[39-i] {
			t.Fatalf("position %d: %s, want %s (newest first)", i, id, ids[39-i])
		}
	}
	count := func(fl intake.ListFilter) int {
		fl.Limit = 100
		page, err := f.store.List(ctx, fl)
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Incidents)
	}
	if n := count(intake.ListFilter{Priority: "P1"}); n != 10 {
		t.Errorf("P1: %d, want 10", n)
	}
	if n := count(intake.ListFilter{Owner: "bob"}); n != 14 {
		t.Errorf("owner bob: %d, want 14", n)
	}
	if n := count(intake.ListFilter{Owner: "bob", Priority: "P1", State: string(intake.Analysis)}); n != 4 {
		t.Errorf("bob+P1+analysis: %d, want 4", n)
	}
	if n := count(intake.ListFilter{Group: "networks"}); n != 10 {
		t.Errorf("group networks: %d, want 10", n)
	}
	if n := count(intake.ListFilter{State: string(intake.Closed)}); n != 0 {
		t.Errorf("closed: %d, want 0", n)
	}
}
