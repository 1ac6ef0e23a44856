package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// A public note ("tell the reporter") is an action the store keeps with
// its flag, the history names as a note to the reporter, and the outbox
// sends exactly once, with the note's text; an internal action is never
// sent. A double submit (the same Ref) queues nothing more.
func TestPublicNoteReachesTheReporterOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ok, did := must(t), done(t)
	id := ok(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "The VPN does not connect",
		Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test"}})).ID
	rec := &recorder{}
	drain := func() int {
		t.Helper()
		n, err := f.dispatcher(intake.RouteEmail, rec).Drain(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := drain(); n != 1 {
		t.Fatalf("acknowledgment: %d sent", n)
	}
	did(f.engine.AddAction(ctx, id, alice, "INTERNAL: gateway password reset"))
	if n := drain(); n != 0 {
		t.Fatalf("an internal action sent %d messages", n)
	}
	once := alice
	once.Ref = "console:alice:nonce-1:action"
	did(f.engine.AddPublicNote(ctx, id, once, "The new VPN client is ready.\nPlease install it."))
	did(f.engine.AddPublicNote(ctx, id, once, "The new VPN client is ready.\nPlease install it."))
	did(f.engine.AddAction(ctx, id, alice, "INTERNAL: second thought"))
	if n := drain(); n != 1 {
		t.Fatalf("public note: %d sent, want 1", n)
	}
	if n := drain(); n != 0 {
		t.Fatalf("drained again: %d more sent", n)
	}

	inc := ok(f.engine.Get(ctx, id))
	var public []bool
	for _, a := range inc.Actions {
		public = append(public, a.Public)
	}
	if !slices.Equal(public, []bool{false, true, false}) {
		t.Fatalf("stored actions' flags %v, want [false true false]", public)
	}
	got := slices.DeleteFunc(historyEvents(inc), func(e string) bool { return e != "action" && e != "note" })
	if !slices.Equal(got, []string{"action", "note", "action"}) {
		t.Fatalf("history %v: the note to the reporter is not told from the actions", got)
	}

	msg := rec.sent[len(rec.sent)-1]
	if msg.Kind != intake.NoticeNote || msg.Action != 2 {
		t.Fatalf("sent %+v, want the note of action 2", msg)
	}
	note, err := msg.Note(rec.incs[len(rec.incs)-1])
	if err != nil || !strings.HasPrefix(note.Text, "The new VPN client") {
		t.Fatalf("note %+v, %v", note, err)
	}
	for i, m := range rec.mails(t, f) {
		if strings.Contains(m.Text, "INTERNAL") || strings.Contains(m.HTML, "INTERNAL") {
			t.Errorf("mail %d tells an internal action:\n%s", i, m.Text)
		}
	}
	if m := rec.mails(t, f)[1]; !strings.Contains(m.Text, "Please install it.") || !strings.Contains(m.Subject, id) {
		t.Errorf("note mail:\n%s\n%s", m.Subject, m.Text)
	}
}

// A public note obeys the rules of actions: refused in validation (the
// lock) and when closed, and nothing is queued then.
func TestPublicNoteFollowsTheActionRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, s := range []intake.State{intake.Validation, intake.Closed} {
		id := reach(t, f, s)
		if _, err := f.engine.AddPublicNote(ctx, id, alice, "hello"); !errors.Is(err, intake.ErrConflict) {
			t.Fatalf("%s: %v, want a conflict", s, err)
		}
		if _, err := f.engine.AddPublicNote(ctx, id, alice, " "); !errors.Is(err, intake.ErrInvalid) {
			t.Fatalf("%s: empty note: %v, want invalid", s, err)
		}
	}
	id := reach(t, f, intake.Solution)
	if _, err := f.engine.AddPublicNote(ctx, id, alice, "done"); err != nil {
		t.Fatal(err)
	}
	if inc := must(t)(f.engine.Get(ctx, id)); !inc.Actions[0].Public {
		t.Fatalf("actions %+v", inc.Actions)
	}
}
