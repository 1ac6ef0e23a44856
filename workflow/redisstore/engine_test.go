package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
)

func must(t testing.TB) func(*intake.Incident, error) *intake.Incident {
	return func(inc *intake.Incident, err error) *intake.Incident {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return inc
	}
}

func done(t testing.TB) func(intake.Changed, error) intake.Changed {
	return func(c intake.Changed, err error) intake.Changed {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

func historyEvents(inc *intake.Incident) []string {
	var out []string
	for _, h := range inc.History {
		s := h.Event
		if h.To != "" {
			s += ":" + string(h.From) + ">" + string(h.To)
		}
		out = append(out, s)
	}
	return out
}

// TestServiceModelEndToEnd walks one incident per language through the
// whole model, as the "done means" describes.
func TestServiceModelEndToEnd(t *testing.T) {
	for _, c := range []struct {
		lang                intake.Lang
		subject, ackPhrase  string
		valPhrase, reopened string
	}{
		{intake.English, "Outlook does not open for everyone, urgent", "Category: E-mail", "Please reply YES or NO", "We are working on it again"},
		{intake.Spanish, "No me funciona el correo desde esta mañana", "Categoría: Correo electrónico", "Responda SÍ o NO", "Volvemos a trabajar en ello"},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			ok, did := must(t), done(t)
			inc := ok(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: c.subject,
				Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test"}}))
			if inc.State != intake.Analysis || inc.Reporter.Language != c.lang || inc.Category != "email" || inc.CI != "exchange" {
				t.Fatalf("registered %+v", inc)
			}
			if !strings.HasPrefix(inc.ID, "INC-") || inc.Version != 1 {
				t.Fatalf("id %q version %d", inc.ID, inc.Version)
			}
			id := inc.ID

			did(f.engine.AddAction(ctx, id, alice, "checked the mail server"))
			did(f.engine.Move(ctx, id, alice, intake.Solution, "restarted the service"))
			if c := did(f.engine.Move(ctx, id, alice, intake.Validation, "")); c.Owner != "alice" {
				t.Fatalf("owner %q, want the first agent who acted", c.Owner)
			}
			_, err := f.engine.AddAction(ctx, id, alice, "one more thing")
			if !errors.Is(err, intake.ErrConflict) {
				t.Fatalf("action in validation: %v, want conflict", err)
			}
			did(f.engine.AnswerValidation(ctx, id, reporter, false, "still broken"))
			inc = ok(f.engine.Get(ctx, id))
			if inc.State != intake.Analysis || inc.ReopenCount != 1 {
				t.Fatalf("after no: state %s reopen %d", inc.State, inc.ReopenCount)
			}
			did(f.engine.Move(ctx, id, alice, intake.Solution, ""))
			did(f.engine.Move(ctx, id, alice, intake.Validation, ""))
			if c := did(f.engine.AnswerValidation(ctx, id, reporter, true, "")); c.State != intake.Satisfaction {
				t.Fatalf("after yes: %s", c.State)
			}
			if c := did(f.engine.Rate(ctx, id, reporter, 4, "quick, thanks")); c.State != intake.Review {
				t.Fatalf("after rating: %s, want review at once", c.State)
			}
			if _, err := f.engine.Move(ctx, id, bob, intake.Closed, ""); !errors.Is(err, intake.ErrForbidden) {
				t.Fatalf("non-owner close: %v, want forbidden", err)
			}
			if c := did(f.engine.Move(ctx, id, alice, intake.Closed, "done")); c.State != intake.Closed {
				t.Fatalf("not closed: %+v", c)
			}
			if inc = ok(f.engine.Get(ctx, id)); inc.State != intake.Closed || inc.ClosedAt == nil {
				t.Fatalf("not closed: %+v", inc)
			}

			got := ok(f.engine.Get(ctx, id))
			want := []string{
				"registered:>analysis", "action", "move:analysis>solution", "move:solution>validation",
				"answer_no:validation>no_solution", "reopen:no_solution>analysis",
				"move:analysis>solution", "move:solution>validation", "answer_yes:validation>satisfaction",
				"rating:satisfaction>review", "move:review>closed",
			}
			if h := historyEvents(got); !slices.Equal(h, want) {
				t.Fatalf("history\n got %v\nwant %v", h, want)
			}
			if len(got.Actions) != 1 || len(got.Surveys) != 3 || got.Surveys[0].Answer != "no" || got.Surveys[0].Comment != "still broken" ||
				got.Surveys[2].Rating != 4 {
				t.Fatalf("actions %+v surveys %+v", got.Actions, got.Surveys)
			}
			for _, s := range []intake.State{intake.Analysis, intake.Solution, intake.Validation, intake.NoSolution, intake.Satisfaction, intake.Review, intake.Closed} {
				if got.EnteredAt[s].IsZero() {
					t.Errorf("no time for entering %s", s)
				}
			}

			// Every message the reporter must get, in their language, once.
			rec := &recorder{}
			n, err := f.dispatcher(intake.RouteEmail, rec).Drain(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var kinds []string
			for _, m := range rec.mails(t, f) {
				kinds = append(kinds, string(m.Kind))
				if m.Lang != c.lang || m.Email != "ana@example.test" || !strings.Contains(m.Subject, id) {
					t.Errorf("message %+v", m)
				}
			}
			slices.Sort(kinds)
			if wantKinds := []string{"ack", "closed", "reopened", "satisfaction", "validation", "validation"}; n != 6 || !slices.Equal(kinds, wantKinds) {
				t.Fatalf("sent %d %v, want %v", n, kinds, wantKinds)
			}
			texts := map[string]string{}
			for _, m := range rec.mails(t, f) {
				texts[string(m.Kind)] = m.Subject + "\n" + m.Text
			}
			for kind, phrase := range map[string]string{"ack": c.ackPhrase, "validation": c.valPhrase, "reopened": c.reopened} {
				if !strings.Contains(texts[kind], phrase) {
					t.Errorf("%s message lacks %q:\n%s", kind, phrase, texts[kind])
				}
			}
			if again, _ := f.dispatcher(intake.RouteEmail, rec).Drain(ctx); again != 0 {
				t.Fatalf("second drain sent %d more", again)
			}
			got = ok(f.engine.Get(ctx, id))
			if h := historyEvents(got); h[len(h)-1] != "notified" {
				t.Fatalf("deliveries not in history: %v", h)
			}
		})
	}
}

// reach drives a fresh incident owned by alice into state s.
func reach(t *testing.T, f *fixture, s intake.State) string {
	t.Helper()
	ctx := context.Background()
	ok, did := must(t), done(t)
	id := ok(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "printer", Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test"}})).ID
	steps := map[intake.State][]func() (intake.Changed, error){
		intake.Analysis: {func() (intake.Changed, error) { return f.engine.Assign(ctx, id, alice, "alice", "") }},
	}
	steps[intake.Solution] = append(steps[intake.Analysis], func() (intake.Changed, error) { return f.engine.Move(ctx, id, alice, intake.Solution, "") })
	steps[intake.Validation] = append(steps[intake.Solution], func() (intake.Changed, error) { return f.engine.Move(ctx, id, alice, intake.Validation, "") })
	steps[intake.Satisfaction] = append(steps[intake.Validation], func() (intake.Changed, error) { return f.engine.AnswerValidation(ctx, id, reporter, true, "") })
	steps[intake.Review] = append(steps[intake.Satisfaction], func() (intake.Changed, error) { return f.engine.Rate(ctx, id, reporter, 5, "") })
	steps[intake.Closed] = append(steps[intake.Review], func() (intake.Changed, error) { return f.engine.Move(ctx, id, alice, intake.Closed, "") })
	for _, step := range steps[s] {
		did(step())
	}
	return id
}

// TestStoreObeysDecide applies every event in every restable state through
// Redis and checks the stored result against the pure decision.
func TestStoreObeysDecide(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	type call struct {
		name string
		ev   workflow.Event
		do   func(id string) (intake.Changed, error)
	}
	calls := []call{
		{"action", workflow.Event{Kind: intake.EventAction, Actor: alice}, func(id string) (intake.Changed, error) { return f.engine.AddAction(ctx, id, alice, "x") }},
		{"assign", workflow.Event{Kind: intake.EventAssign, Actor: alice}, func(id string) (intake.Changed, error) { return f.engine.Assign(ctx, id, alice, "bob", "") }},
		{"escalate", workflow.Event{Kind: intake.EventEscalate, Actor: alice}, func(id string) (intake.Changed, error) { return f.engine.Escalate(ctx, id, alice, "networks", 2, "") }},
		{"recategorize", workflow.Event{Kind: intake.EventRecategorize, Actor: alice}, func(id string) (intake.Changed, error) {
			return f.engine.Recategorize(ctx, id, alice, "network", "")
		}},
		{"comment", workflow.Event{Kind: intake.EventComment, Actor: reporter}, func(id string) (intake.Changed, error) { return f.engine.Comment(ctx, id, reporter, "more") }},
		{"yes by phone", workflow.Event{Kind: intake.EventAnswerYes, Actor: byPhone}, func(id string) (intake.Changed, error) {
			return f.engine.AnswerValidation(ctx, id, byPhone, true, "")
		}},
		{"no", workflow.Event{Kind: intake.EventAnswerNo, Actor: reporter}, func(id string) (intake.Changed, error) {
			return f.engine.AnswerValidation(ctx, id, reporter, false, "")
		}},
		{"rating", workflow.Event{Kind: intake.EventRating, Actor: reporter}, func(id string) (intake.Changed, error) { return f.engine.Rate(ctx, id, reporter, 3, "") }},
		{"reask", workflow.Event{Kind: intake.EventReask, Actor: reporter}, func(id string) (intake.Changed, error) { return f.engine.Reask(ctx, id, reporter) }},
	}
	for _, to := range intake.States() {
		calls = append(calls, call{"move " + string(to), workflow.Event{Kind: intake.EventMove, To: to, Actor: alice},
			func(id string) (intake.Changed, error) { return f.engine.Move(ctx, id, alice, to, "") }})
	}
	for _, s := range []intake.State{intake.Analysis, intake.Solution, intake.Validation, intake.Satisfaction, intake.Review, intake.Closed} {
		for _, c := range calls {
			t.Run(fmt.Sprintf("%s/%s", s, c.name), func(t *testing.T) {
				id := reach(t, f, s)
				before := must(t)(f.engine.Get(ctx, id))
				d, wantErr := workflow.Decide(workflow.Facts{State: s, Owner: "alice"}, c.ev)
				got, err := c.do(id)
				if wantErr != nil {
					if err == nil || err.Error() != wantErr.Error() {
						t.Fatalf("err %v, want %v", err, wantErr)
					}
					after := must(t)(f.engine.Get(ctx, id))
					if after.Version != before.Version || len(after.History) != len(before.History) {
						t.Fatalf("a refused event changed the incident")
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				want := s
				if fin := d.Final(); fin != "" {
					want = fin
				}
				if got.State != want || got.Version != before.Version+1 {
					t.Fatalf("state %s version %d, want %s %d", got.State, got.Version, want, before.Version+1)
				}
				page, err := f.store.List(ctx, intake.ListFilter{State: string(want), Limit: 1000})
				if err != nil || !containsID(page.Incidents, id) {
					t.Fatalf("incident not in the %s index: %v", want, err)
				}
				if want != s {
					page, _ = f.store.List(ctx, intake.ListFilter{State: string(s), Limit: 1000})
					if containsID(page.Incidents, id) {
						t.Fatalf("incident still in the %s index", s)
					}
				}
			})
		}
	}
}

// TestConcurrentTransitionsOneWins races many agents for the same move.
func TestConcurrentTransitionsOneWins(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for round := 0; round < 5; round++ {
		id := reach(t, f, intake.Solution)
		const n = 16
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = f.engine.Move(ctx, id, alice, intake.Validation, "")
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, intake.ErrConflict):
				t.Fatalf("loser got %v, want a conflict", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d moves succeeded, want exactly 1", wins)
		}
		inc := must(t)(f.engine.Get(ctx, id))
		if got := historyEvents(inc); slices.Index(got, "move:solution>validation") != len(got)-1 {
			t.Fatalf("history %v", got)
		}
	}
}

func TestUnknownIncident(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.engine.Get(ctx, "INC-999999"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("get: %v", err)
	}
	if _, err := f.engine.AddAction(ctx, "INC-999999", alice, "x"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("action: %v", err)
	}
	if _, err := f.engine.Get(ctx, "INC-1'); DROP"); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("bad id: %v", err)
	}
}

func TestInputLimits(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Analysis)
	for name, err := range map[string]error{
		"huge action":  second(f.engine.AddAction(ctx, id, alice, strings.Repeat("x", workflow.MaxTextBytes+1))),
		"empty action": second(f.engine.AddAction(ctx, id, alice, "  ")),
		"bad utf8":     second(f.engine.AddAction(ctx, id, alice, "\xff\xfe")),
		"rating 6":     second(f.engine.Rate(ctx, id, reporter, 6, "")),
		"level 4":      second(f.engine.Escalate(ctx, id, alice, "", 4, "")),
		"no category":  second(f.engine.Recategorize(ctx, id, alice, "nope", "")),
		"no owner":     second(f.engine.Assign(ctx, id, alice, " ", "")),
	} {
		if !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func second(_ intake.Changed, err error) error { return err }

func containsID(list []*intake.Incident, id string) bool {
	return slices.ContainsFunc(list, func(i *intake.Incident) bool { return i.ID == id })
}

func TestHistoryRecordsWhatChanged(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Analysis) // assigned to alice
	done(t)(f.engine.Assign(ctx, id, alice, "bob", "holiday"))
	done(t)(f.engine.Escalate(ctx, id, bob, "networks", 2, "needs L2"))
	done(t)(f.engine.Recategorize(ctx, id, bob, "network", ""))
	inc := must(t)(f.engine.Get(ctx, id))
	var details []string
	for _, h := range inc.History {
		details = append(details, h.Event+"="+h.Detail)
	}
	want := []string{"registered=", "assign=owner:  -> alice", "assign=owner: alice -> bob",
		"escalate=group: service-desk -> networks; level: 1 -> 2", "recategorize=category: general -> network"}
	if !slices.Equal(details, want) {
		t.Fatalf("history details\n got %q\nwant %q", details, want)
	}
}

func TestCounterGoingBackNeverReusesAnIncident(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "Ana's printer"}))
	keyed := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "keyed", Key: "<k@x>"}))
	// A failover that lost the counter's latest writes.
	keys, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:seq")
	if err != nil || len(keys) == 0 {
		t.Fatalf("counter keys %q: %v", keys, err)
	}
	for _, k := range keys {
		if err := f.rdb.Set(ctx, k, 0, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	second := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "printer on fire"}))
	if second.ID == first.ID || second.ID == keyed.ID || second.Subject != "printer on fire" {
		t.Fatalf("new report answered with %s %q", second.ID, second.Subject)
	}
	if got := must(t)(f.engine.Get(ctx, first.ID)); got.Subject != "Ana's printer" {
		t.Fatalf("first incident overwritten: %q", got.Subject)
	}
	again := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "keyed", Key: "<k@x>"}))
	if again.ID != keyed.ID {
		t.Fatalf("the keyed report's retry gave %s, want %s", again.ID, keyed.ID)
	}
}

func TestMigrateCarriesTheOldCounter(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for range 3 {
		must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "x"}))
	}
	// An older deployment kept the counter at P:seq. Not RENAME: on Redis
	// Cluster the two keys are in different slots (CROSSSLOT).
	seq := f.prefix + ":{keys}:seq"
	n, err := f.rdb.Get(ctx, seq).Result()
	if err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Set(ctx, f.prefix+":seq", n, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Del(ctx, seq).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "after the upgrade"}))
	if inc.ID != "INC-000004" {
		t.Fatalf("after migrating: %s", inc.ID)
	}
	if err := f.store.Migrate(ctx); err != nil { // twice is harmless
		t.Fatal(err)
	}
	if inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "y"})); inc.ID != "INC-000005" {
		t.Fatalf("second migration moved the counter: %s", inc.ID)
	}
}

// TestTakeOverNeedsOwnerOrAdmin checks the take-over rule again through
// Redis, where the owner is read inside the atomic step: another agent
// cannot take alice's case in any state (so cannot close it in review),
// an admin can, and the history says who handed the case from whom to whom.
func TestTakeOverNeedsOwnerOrAdmin(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, s := range []intake.State{intake.Analysis, intake.Solution, intake.Satisfaction, intake.Review} {
		t.Run(string(s), func(t *testing.T) {
			id := reach(t, f, s) // owned by alice
			before := must(t)(f.engine.Get(ctx, id))
			if _, err := f.engine.Assign(ctx, id, bob, "bob", ""); !errors.Is(err, intake.ErrForbidden) {
				t.Fatalf("bob took alice's case: %v", err)
			}
			if s == intake.Review {
				if _, err := f.engine.Move(ctx, id, bob, intake.Closed, ""); !errors.Is(err, intake.ErrForbidden) {
					t.Fatalf("bob closed alice's case: %v", err)
				}
			}
			after := must(t)(f.engine.Get(ctx, id))
			if after.Owner != "alice" || after.Version != before.Version {
				t.Fatalf("a refused take-over changed the incident: owner %q version %d", after.Owner, after.Version)
			}
			done(t)(f.engine.Assign(ctx, id, root, "bob", "alice is away"))
			got := must(t)(f.engine.Get(ctx, id))
			last := got.History[len(got.History)-1]
			if got.Owner != "bob" || last.Event != "assign" || last.Actor != "root" || last.Detail != "owner: alice -> bob" {
				t.Fatalf("owner %q, last history %+v", got.Owner, last)
			}
			if s == intake.Review {
				// Now bob owns it, and may close it.
				done(t)(f.engine.Move(ctx, id, bob, intake.Closed, ""))
			}
		})
	}
	// An unowned incident is open to any agent.
	id := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "scanner", Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test"}})).ID
	if got := done(t)(f.engine.Assign(ctx, id, bob, "bob", "")); got.Owner != "bob" {
		t.Fatalf("bob could not take an unowned case: owner %q", got.Owner)
	}
}
