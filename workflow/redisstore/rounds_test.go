package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/redis/go-redis/v9"
)

// bot is the timers' actor: reminders come from it.
var bot = intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "timer"}

// Each entry into a survey step numbers a new round, in the same write;
// the questions and reminders queued carry it, and an answer for another
// round of the open step is refused without changing anything, while a
// second answer to the same round stays the harmless conflict it was.
func TestSurveyRoundsNumberTheQuestions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ok, did := must(t), done(t)
	id := reach(t, f, intake.Validation)
	if inc := ok(f.engine.Get(ctx, id)); inc.Round != 1 {
		t.Fatalf("round %d in the first validation, want 1", inc.Round)
	}
	did(f.engine.Remind(ctx, id, bot, "no answer yet"))
	did(f.engine.AnswerValidation(ctx, id, reporter, false, "still broken"))
	did(f.engine.Move(ctx, id, alice, intake.Solution, ""))
	did(f.engine.Move(ctx, id, alice, intake.Validation, ""))
	before := ok(f.engine.Get(ctx, id))
	if before.Round != 2 {
		t.Fatalf("round %d in the second validation, want 2", before.Round)
	}

	old := reporter
	old.Round = 1
	_, err := f.engine.AnswerValidation(ctx, id, old, true, "")
	var refused *intake.Refusal
	if !errors.As(err, &refused) || refused.Code != intake.CodeReplaced || !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("an answer for round 1 in round 2: %v, want question_replaced", err)
	}
	if after := ok(f.engine.Get(ctx, id)); after.Version != before.Version || len(after.Surveys) != 1 {
		t.Fatalf("a refused answer changed the incident: v%d -> v%d", before.Version, after.Version)
	}
	current := reporter
	current.Round = 2
	did(f.engine.AnswerValidation(ctx, id, current, true, ""))
	// The same answer again: the step is closed, a conflict as before.
	if _, err := f.engine.AnswerValidation(ctx, id, current, true, ""); !errors.As(err, &refused) || refused.Code == intake.CodeReplaced {
		t.Fatalf("a double answer: %v, want the ordinary conflict", err)
	}
	if inc := ok(f.engine.Get(ctx, id)); inc.State != intake.Satisfaction || inc.Round != 3 {
		t.Fatalf("after yes: %s round %d", inc.State, inc.Round)
	}

	list, err := f.store.Outbox(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, q := range list {
		got = append(got, string(q.Kind)+":"+string(rune('0'+q.Round)))
	}
	slices.Sort(got)
	want := []string{"ack:0", "remind_validation:1", "reopened:1", "satisfaction:3", "validation:1", "validation:2"}
	if !slices.Equal(got, want) {
		t.Fatalf("queued kind:round %v, want %v", got, want)
	}
}

// At its turn a question or reminder whose round was answered or replaced
// is dropped, not delivered; the open round's question and its reminder
// go out. A dropped message is kept for the listing, never claimed again.
func TestStaleQuestionsAreDropped(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	did := done(t)
	id := reach(t, f, intake.Validation)
	did(f.engine.Remind(ctx, id, bot, ""))
	did(f.engine.AnswerValidation(ctx, id, reporter, false, ""))
	did(f.engine.Move(ctx, id, alice, intake.Solution, ""))
	did(f.engine.Move(ctx, id, alice, intake.Validation, ""))
	did(f.engine.Remind(ctx, id, bot, ""))

	rec := &recorder{}
	n, err := f.dispatcher(intake.RouteEmail, rec).Drain(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, m := range rec.sent {
		sent = append(sent, string(m.Kind)+":"+string(rune('0'+m.Round)))
	}
	slices.Sort(sent)
	if want := []string{"ack:0", "remind_validation:2", "reopened:0", "validation:2"}; n != 4 || !slices.Equal(sent, want) {
		t.Fatalf("sent %d %v, want %v", n, sent, want)
	}
	list, err := f.store.Outbox(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[intake.NoticeKind]string{}
	for _, q := range list {
		if !q.Dropped || q.Dead || !q.DueAt.IsZero() || !q.DroppedAt.Equal(f.clock.Now().Truncate(time.Millisecond)) {
			t.Fatalf("outbox entry %+v, want only dropped ones", q)
		}
		reasons[q.Kind] = q.DropReason
	}
	if len(reasons) != 2 || !strings.Contains(reasons[intake.NoticeValidation], "replaced") || !strings.Contains(reasons[intake.NoticeRemindValidation], "replaced") {
		t.Fatalf("dropped %v, want the first round's question and reminder, replaced", reasons)
	}
	f.clock.Add(time.Hour)
	if n, _ := f.dispatcher(intake.RouteEmail, rec).Drain(ctx); n != 0 || rec.calls != 4 {
		t.Fatalf("a dropped message was delivered later: %d", n)
	}
	if waiting, _, err := f.store.OutboxDepth(ctx); err != nil || waiting[intake.RouteEmail] != 0 {
		t.Fatalf("waiting %v %v", waiting, err)
	}
}

// Dropping keeps the outbox's lease rules: only a claimed message that is
// still queued is dropped, once; a message another bot delivered after our
// lease ran out is not turned into a drop.
func TestDropIsOnceAndOnlyForALiveMessage(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "x", Reporter: intake.Reporter{Email: "a@example.test"}}))
	claimed, err := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim %v %v", claimed, err)
	}
	if err := f.store.Delivered(ctx, claimed[0], f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Dropped(ctx, claimed[0], "late", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if list, _ := f.store.Outbox(ctx, 10); len(list) != 0 {
		t.Fatalf("a delivered message was listed as dropped: %+v", list)
	}

	must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "y", Reporter: intake.Reporter{Email: "b@example.test"}}))
	claimed, _ = f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), time.Minute, 10)
	for range 2 {
		if err := f.store.Dropped(ctx, claimed[0], "stale", f.clock.Now()); err != nil {
			t.Fatal(err)
		}
	}
	list, _ := f.store.Outbox(ctx, 10)
	if len(list) != 1 || !list[0].Dropped || list[0].DropReason != "stale" {
		t.Fatalf("outbox %+v", list)
	}
	// A late failure report for a dropped message changes nothing.
	if err := f.store.Failed(ctx, claimed[0], "late", f.clock.Now(), false); err != nil {
		t.Fatal(err)
	}
	if again, _ := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now().Add(time.Hour), time.Minute, 10); len(again) != 0 {
		t.Fatalf("a dropped message was claimed again: %+v", again)
	}
}

// The dropped messages a shard keeps for the listing are bounded: the
// oldest go, record and all, so that a busy desk's drops cannot grow
// without end.
func TestDroppedMessagesAreBounded(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	shard := f.prefix + ":{s01}"
	const n = 230
	for i := range n {
		q := intake.Notice{ID: fmt.Sprintf("INC-000001:validation:%d", i+2), Incident: "INC-000001", Kind: intake.NoticeValidation, Route: intake.RouteEmail}
		if err := f.rdb.HSet(ctx, shard+":outbox:msg:"+q.ID, "id", q.ID, "incident", q.Incident, "kind", string(q.Kind), "channel", "email").Err(); err != nil {
			t.Fatal(err)
		}
		if err := f.rdb.ZAdd(ctx, shard+":outbox:email", redis.Z{Score: 0, Member: q.ID}).Err(); err != nil {
			t.Fatal(err)
		}
		if err := f.store.Dropped(ctx, q, "stale", f.clock.Now().Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := f.store.Outbox(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) >= n || len(list) < 100 {
		t.Fatalf("%d dropped messages listed of %d: want a bounded number", len(list), n)
	}
	if newest := list[0]; newest.ID != fmt.Sprintf("INC-000001:validation:%d", n+1) {
		t.Fatalf("the newest drop is not listed first: %+v", newest)
	}
	keys, err := redistest.Keys(ctx, f.rdb, shard+":outbox:msg:*")
	if err != nil || len(keys) != len(list) {
		t.Fatalf("%d records kept for %d listed (%v): the forgotten ones must go", len(keys), len(list), err)
	}
}
