package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
)

// withKB gives the fixture's engine the seed knowledge base, with an
// internal article and a known error beside the public ones.
func withKB(t *testing.T, f *fixture) *kb.Index {
	t.Helper()
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	ix := kb.NewIndex(seed...)
	ix.Put(kb.Article{ID: "printer-driver-internal", Audience: kb.Internal, Texts: map[intake.Lang]kb.Text{
		intake.English: {Title: "Printer jams: reset the tray sensor", Body: "Agents: a printer that jams every page has a dirty tray sensor."}}})
	ix.Put(kb.Article{ID: "KE-000001", Audience: kb.Internal, Texts: map[intake.Lang]kb.Text{
		intake.English: {Title: "Known error: printer jams on the third floor", Body: "The third-floor printer jams with recycled paper."}}})
	f.engine.UseKB(workflow.Suggestions{Index: ix, MinScore: kb.DefaultMinScore, Counter: f.store})
	return ix
}

func TestRegistrationStoresSuggestionsWithWhy(t *testing.T) {
	f := newFixture(t)
	withKB(t, f)
	ctx := context.Background()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "The printer jams",
		Description: "The printer jams on every page, paper stuck in the tray",
		Reporter:    intake.Reporter{Name: "Ann", Email: "ann@example.test", Language: intake.English}}))
	got := must(t)(f.engine.Get(ctx, inc.ID))
	if len(got.Suggestions) == 0 || !slices.EqualFunc(got.Suggestions, inc.Suggestions, func(a, b intake.Suggestion) bool {
		return a.ID == b.ID && a.Score == b.Score && slices.Equal(a.Terms, b.Terms)
	}) {
		t.Fatalf("stored suggestions %+v, registered %+v", got.Suggestions, inc.Suggestions)
	}
	kinds := map[string]string{}
	for i, s := range got.Suggestions {
		kinds[s.ID] = s.Kind
		if len(s.Terms) == 0 || s.Score <= 0 || s.Title == "" {
			t.Errorf("suggestion %d has no why: %+v", i, s)
		}
		if i > 0 && s.Score > got.Suggestions[i-1].Score {
			t.Errorf("not best first: %+v", got.Suggestions)
		}
	}
	if kinds["printer-jam"] != intake.SuggestArticle || kinds["KE-000001"] != intake.SuggestKnownError || kinds["printer-driver-internal"] != intake.SuggestArticle {
		t.Fatalf("kinds %v: want the public article, the internal one and the known error", kinds)
	}
	offered := got.ReporterSuggestions(kb.DefaultMinScore)
	if len(offered) == 0 || offered[0].ID != "printer-jam" {
		t.Fatalf("offered to the reporter %+v, want printer-jam first", offered)
	}
	for _, s := range offered {
		if !s.Public || s.Lang != intake.English || s.Score < kb.DefaultMinScore {
			t.Fatalf("offered %+v: only public articles in the reporter's language above the threshold", s)
		}
	}
}

func TestNothingOfferedBelowTheThreshold(t *testing.T) {
	f := newFixture(t)
	withKB(t, f)
	ctx := context.Background()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "The coffee machine is out of beans",
		Description: "No coffee in the kitchen since lunch",
		Reporter:    intake.Reporter{Name: "Ann", Email: "ann@example.test", Language: intake.English}}))
	if offered := inc.ReporterSuggestions(kb.DefaultMinScore); len(offered) != 0 {
		t.Fatalf("offered %+v for a report the KB does not answer", offered)
	}
	if _, err := f.engine.Solved(ctx, inc.ID, intake.Actor{Kind: intake.ActorReporter, Name: "Ann", Via: "email"}, "printer-jam"); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("solved with an article never offered: %v, want invalid", err)
	}
}

func TestSolvedByTheReporterMovesToSatisfactionAndCountsOnce(t *testing.T) {
	f := newFixture(t)
	withKB(t, f)
	ctx := context.Background()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "La impresora se atasca",
		Description: "La impresora se atasca con cada hoja, el papel queda atascado",
		Reporter:    intake.Reporter{Name: "Ana", Email: "ana@example.test", Language: intake.Spanish}}))
	offered := inc.ReporterSuggestions(kb.DefaultMinScore)
	if len(offered) == 0 || offered[0].ID != "printer-jam" || offered[0].Lang != intake.Spanish {
		t.Fatalf("offered %+v, want the Spanish printer-jam article", offered)
	}
	ana := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "web", Ref: "link-1"}
	ch := done(t)(f.engine.Solved(ctx, inc.ID, ana, "printer-jam"))
	if ch.State != intake.Satisfaction {
		t.Fatalf("state %s, want satisfaction", ch.State)
	}
	// The same click again (same source) changes nothing and counts nothing.
	done(t)(f.engine.Solved(ctx, inc.ID, ana, "printer-jam"))
	got := must(t)(f.engine.Get(ctx, inc.ID))
	last := got.History[len(got.History)-1]
	if last.Event != string(intake.EventSolved) || last.To != intake.Satisfaction || last.Note != "printer-jam" {
		t.Fatalf("history %+v", got.History)
	}
	if len(got.Actions) != 1 || !strings.Contains(got.Actions[0].Text, "Solved by the reporter with article printer-jam") {
		t.Fatalf("actions %+v", got.Actions)
	}
	counts, err := f.store.SolvedCounts(ctx)
	if err != nil || counts["printer-jam"] != 1 {
		t.Fatalf("solved counts %v, %v; want printer-jam once", counts, err)
	}
	// The satisfaction question is queued for the reporter.
	rec := &recorder{}
	if _, err := f.dispatcher(intake.RouteEmail, rec).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	var kinds []intake.NoticeKind
	for _, m := range rec.sent {
		kinds = append(kinds, m.Kind)
	}
	if !slices.Contains(kinds, intake.NoticeSatisfaction) {
		t.Fatalf("sent %v, want the satisfaction question", kinds)
	}
	// Once in satisfaction, another article's "solved" is refused.
	other := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "web", Ref: "link-2"}
	if _, err := f.engine.Solved(ctx, inc.ID, other, "printer-jam"); !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("solved in satisfaction: %v, want a conflict", err)
	}
	if counts, _ := f.store.SolvedCounts(ctx); counts["printer-jam"] != 1 {
		t.Fatalf("a refused solved counted: %v", counts)
	}
}

// Solved is allowed from solution too, and refused once the reporter is
// asked to validate (the store applies Decide's answer).
func TestSolvedFromSolutionAndNotInValidation(t *testing.T) {
	f := newFixture(t)
	withKB(t, f)
	ctx := context.Background()
	alice := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	rep := intake.Report{Channel: intake.ChannelEmail, Subject: "The printer jams",
		Description: "The printer jams on every page, paper stuck in the tray",
		Reporter:    intake.Reporter{Name: "Ann", Email: "ann@example.test", Language: intake.English}}
	ann := intake.Actor{Kind: intake.ActorReporter, Name: "Ann", Via: "email", Ref: "m1"}

	first := must(t)(f.engine.Register(ctx, rep))
	done(t)(f.engine.Move(ctx, first.ID, alice, intake.Solution, ""))
	if ch := done(t)(f.engine.Solved(ctx, first.ID, ann, "printer-jam")); ch.State != intake.Satisfaction {
		t.Fatalf("from solution: %s", ch.State)
	}

	second := must(t)(f.engine.Register(ctx, rep))
	done(t)(f.engine.Move(ctx, second.ID, alice, intake.Solution, ""))
	done(t)(f.engine.Move(ctx, second.ID, alice, intake.Validation, ""))
	_, err := f.engine.Solved(ctx, second.ID, ann, "printer-jam")
	var re *intake.Refusal
	if !errors.As(err, &re) || re.State != intake.Validation {
		t.Fatalf("solved in validation: %v, want a refusal", err)
	}
	if got := must(t)(f.engine.Get(ctx, second.ID)); got.State != intake.Validation || len(got.Actions) != 0 {
		t.Fatalf("refused solved changed %s: %+v", got.State, got.Actions)
	}
}
