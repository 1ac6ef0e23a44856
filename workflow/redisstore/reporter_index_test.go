package redisstore_test

import (
	"context"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
)

// The portal lists a reporter's incidents from the reporter index: only
// theirs, newest first, whatever the case of the address; incidents
// stored before the index existed are added by Migrate.
func TestListByReporterIsTheirsNewestFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	var anas []string
	for i := range 20 {
		email := "bob@example.test"
		if i%3 == 0 {
			email = "Ana@Example.test"
		}
		inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "printer jam",
			Reporter: intake.Reporter{Name: "x", Email: email}}))
		if i%3 == 0 {
			anas = append([]string{inc.ID}, anas...)
		}
	}
	list := func() []string {
		page, err := f.store.List(ctx, intake.ListFilter{Reporter: "ana@example.TEST", Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, inc := range page.Incidents {
			ids = append(ids, inc.ID)
		}
		return ids
	}
	if got := list(); len(got) != len(anas) || got[0] != anas[0] || got[len(got)-1] != anas[len(anas)-1] {
		t.Fatalf("ana's incidents %v, want %v", got, anas)
	}
	// An index lost (as before it existed) comes back with Migrate.
	keys, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:reporter:*")
	if err != nil || len(keys) == 0 {
		t.Fatalf("no reporter index keys: %v", err)
	}
	for _, k := range keys { // one at a time: on a Cluster they sit in several slots
		f.rdb.Del(ctx, k)
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("after deleting the index: %v", got)
	}
	if err := f.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != len(anas) {
		t.Fatalf("after Migrate: %v, want %v", got, anas)
	}
}
