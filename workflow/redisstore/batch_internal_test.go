package redisstore

import (
	"context"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
)

// TestCreateManyFinishesACrashedBatch covers a crash between a batch's
// numbering and its storing: the numbers are claimed by the reports' keys
// and nothing is stored. The retry must store each report once, under the
// number it was given, and a retry of the retry must add nothing.
func TestCreateManyFinishesACrashedBatch(t *testing.T) {
	rdb, prefix := redistest.New(t, Connect)
	s := New(rdb, prefix, intake.RouteEmail)
	ctx := context.Background()
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{"mid:a@example.test", "mid:b@example.test", "mid:c@example.test", "mid:d@example.test"}
	incs := func() []*intake.Incident {
		out := make([]*intake.Incident, len(keys))
		for i, k := range keys {
			inc, err := rules.Register(intake.Report{Channel: intake.ChannelEmail, Subject: "Report " + k, Key: k,
				Reporter: intake.Reporter{Email: "eva@example.test"}}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			inc.State = intake.Analysis
			out[i] = &inc
		}
		return out
	}
	ack := []intake.NoticeKind{intake.NoticeAck}

	// The batch is numbered, then the bot dies.
	nums, err := s.pipelineEach(ctx, s.scripts.allocate, len(keys), func(i int) ([]string, []any) {
		return s.allocateKeys(keys[i]), []any{int(keyClaimTTL.Seconds()), "0"}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, len(keys))
	for i, c := range nums {
		n, err := c.Int64()
		if err != nil {
			t.Fatal(err)
		}
		want[i] = intake.FormatID(n)
	}

	for run := range 2 {
		got, errs := s.CreateMany(ctx, keys, incs(), ack)
		for i := range keys {
			if errs[i] != nil {
				t.Fatalf("run %d, %s: %v", run, keys[i], errs[i])
			}
			if got[i].ID != want[i] || got[i].Subject != "Report "+keys[i] {
				t.Fatalf("run %d, %s: got %s %q, want %s", run, keys[i], got[i].ID, got[i].Subject, want[i])
			}
		}
		if n, err := rdb.Get(ctx, s.seqKey()).Int(); err != nil || n != len(keys) {
			t.Fatalf("run %d: the counter is at %d, want %d: a report was numbered twice (%v)", run, n, len(keys), err)
		}
		queued, err := s.Outbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(queued) != len(keys) {
			t.Fatalf("run %d: %d acknowledgments queued, want %d", run, len(queued), len(keys))
		}
	}
	// One by one finds the same incidents.
	for i, k := range keys {
		inc, err := s.Create(ctx, k, incs()[i], ack)
		if err != nil || inc.ID != want[i] {
			t.Fatalf("Create %s after the batch: %v %v", k, inc, err)
		}
	}
}
