package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
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
	must(t)(f.engine.Assign(ctx, inc.ID, agent, "alice", ""))
	must(t)(f.engine.Move(ctx, inc.ID, agent, "solution", ""))

	var changes []intake.Notice
	list, err := f.store.Outbox(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range list {
		if q.Channel == workflow.ChannelWatch {
			changes = append(changes, q)
		}
	}
	if len(changes) != 1 || changes[0].ID != inc.ID+":change:3" || changes[0].Kind != string(workflow.NoticeChange) {
		t.Fatalf("change notices = %+v", changes)
	}
	rec := &recorder{}
	if n, err := f.dispatcher(workflow.ChannelWatch, rec).Drain(ctx); n != 1 || err != nil {
		t.Fatalf("drain: %d %v", n, err)
	}
	if rec.sent[0].Text != "" || rec.sent[0].IncidentID != inc.ID {
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
		if q.Channel == workflow.ChannelWatch {
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
	d := f.dispatcher(intake.ChannelSlack, rec)
	d.MaxAttempts = 2
	for range 3 {
		if n, err := d.Drain(ctx); n != 0 || err != nil {
			t.Fatalf("drain under the rate limit: %d %v", n, err)
		}
		list, err := f.store.Outbox(ctx, 10)
		if err != nil || len(list) != 3 {
			t.Fatalf("outbox = %+v", list)
		}
		for _, q := range list {
			if q.Dead || !strings.Contains(q.LastError, "429") || !q.DueAt.Equal(f.clock.Now().Add(40*time.Second).Truncate(time.Millisecond)) {
				t.Fatalf("held message = %+v", q)
			}
		}
		f.clock.Add(40 * time.Second)
	}
	waiting, dead, err := f.store.OutboxDepth(ctx)
	if err != nil || waiting[intake.ChannelSlack] != 3 || dead[intake.ChannelSlack] != 0 || waiting[intake.ChannelEmail] != 0 {
		t.Fatalf("depth: waiting %v dead %v (%v)", waiting, dead, err)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	if n, err := d.Drain(ctx); n != 3 || err != nil {
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
	ok1, _ := f.store.Lock(ctx, "post:x", time.Minute)
	ok2, _ := f.store.Lock(ctx, "post:x", time.Minute)
	if !ok1 || ok2 {
		t.Fatalf("lock taken twice: %v %v", ok1, ok2)
	}
}
