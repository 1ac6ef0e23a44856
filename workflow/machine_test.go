package workflow

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

var (
	alice    = intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	bob      = intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "api"}
	admin    = intake.Actor{Kind: intake.ActorAgent, Name: "root", Admin: true, Via: "api"}
	phone    = intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "phone"}
	reporter = intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email"}
	system   = intake.Actor{Kind: intake.ActorSystem, Name: "intakebot"}
)

// allEvents is every event an actor can send, with every move target.
func allEvents() []Event {
	var evs []Event
	for _, to := range intake.States() {
		evs = append(evs, Event{Kind: intake.EventMove, To: to})
	}
	for _, k := range []intake.EventKind{intake.EventAction, intake.EventAssign, intake.EventEscalate, intake.EventRecategorize, intake.EventAnswerYes, intake.EventAnswerNo, intake.EventRating, intake.EventComment, intake.EventReopen, intake.EventReask, intake.EventSolved} {
		evs = append(evs, Event{Kind: k})
	}
	return evs
}

// expected is the service model written out by hand, independent of Table:
// for each state, the events an agent (owner alice) may send and where each
// leads. Anything not listed must be refused.
var expected = map[intake.State]map[string][]intake.State{
	intake.Analysis: {"move:solution": {intake.Solution}, "action": nil, "assign": nil, "escalate": nil, "recategorize": nil, "comment": nil},
	intake.Solution: {"move:validation": {intake.Validation}, "action": nil, "assign": nil, "escalate": nil, "recategorize": nil, "comment": nil},
	// In validation an agent can do nothing but record a phone answer.
	intake.Validation:   {"comment": nil},
	intake.NoSolution:   {},
	intake.Satisfaction: {"assign": nil, "comment": nil},
	intake.Review:       {"move:closed": {intake.Closed}, "assign": nil, "comment": nil},
	intake.Closed:       {},
}

var expectedAnswers = map[intake.State]map[string][]intake.State{
	intake.Validation:   {"answer_yes": {intake.Satisfaction}, "answer_no": {intake.NoSolution, intake.Analysis}, "comment": nil, "reask": nil},
	intake.Satisfaction: {"rating": {intake.Review}, "comment": nil, "reask": nil},
	// "This solved my problem" on a suggested article skips validation.
	intake.Analysis: {"comment": nil, "solved": {intake.Satisfaction}},
	intake.Solution: {"comment": nil, "solved": {intake.Satisfaction}},
	intake.Review:   {"comment": nil},
}

func key(ev Event) string {
	if ev.Kind == intake.EventMove {
		return "move:" + string(ev.To)
	}
	return string(ev.Kind)
}

// TestEveryStateAndEvent covers every (state, event) pair for an owning
// agent and for the reporter.
func TestEveryStateAndEvent(t *testing.T) {
	for _, s := range intake.States() {
		for _, base := range allEvents() {
			for _, who := range []struct {
				name  string
				actor intake.Actor
				want  map[intake.State]map[string][]intake.State
			}{{"agent", alice, expected}, {"reporter", reporter, expectedAnswers}} {
				ev := base
				ev.Actor = who.actor
				t.Run(fmt.Sprintf("%s/%s/%s", s, key(ev), who.name), func(t *testing.T) {
					d, err := Decide(Facts{State: s, Owner: "alice"}, ev)
					path, ok := who.want[s][key(ev)]
					if !ok {
						var re *intake.Refusal
						if !errors.As(err, &re) {
							t.Fatalf("allowed (%v), want a refusal", d.Path)
						}
						if !errors.Is(err, intake.ErrConflict) && !errors.Is(err, intake.ErrForbidden) {
							t.Fatalf("refusal %v wraps neither conflict nor forbidden", err)
						}
						if re.State != s {
							t.Fatalf("refusal names state %s, want %s", re.State, s)
						}
						if want := wantCode(s, ev, who.want); re.Code != want {
							t.Fatalf("refusal code %s, want %s (%s)", re.Code, want, re.Message)
						}
						return
					}
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					if !slices.Equal(d.Path, path) {
						t.Fatalf("path %v, want %v", d.Path, path)
					}
				})
			}
		}
	}
}

func TestValidationLocksAgents(t *testing.T) {
	for _, ev := range []Event{{Kind: intake.EventAction}, {Kind: intake.EventMove, To: intake.Solution}, {Kind: intake.EventMove, To: intake.Analysis},
		{Kind: intake.EventAssign}, {Kind: intake.EventEscalate}, {Kind: intake.EventRecategorize}, {Kind: intake.EventMove, To: intake.Closed}} {
		ev.Actor = admin
		_, err := Decide(Facts{State: intake.Validation, Owner: "alice"}, ev)
		var re *intake.Refusal
		if !errors.As(err, &re) || re.Code != intake.CodeLocked || !errors.Is(err, intake.ErrConflict) {
			t.Errorf("%s in validation: %v, want locked conflict", key(ev), err)
		}
	}
}

func TestAnswerNoReturnsToAnalysisAtOnce(t *testing.T) {
	d, err := Decide(Facts{State: intake.Validation, Owner: "alice"}, Event{Kind: intake.EventAnswerNo, Actor: reporter})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Path, []intake.State{intake.NoSolution, intake.Analysis}) || !d.Reopen || d.Final() != intake.Analysis {
		t.Fatalf("decision %+v", d)
	}
	if !slices.Equal(d.Events, []intake.EventKind{intake.EventAnswerNo, intake.EventReopen}) || !slices.Equal(d.Notify, []intake.NoticeKind{intake.NoticeReopened}) {
		t.Fatalf("events %v notify %v", d.Events, d.Notify)
	}
}

func TestWhoMayAnswer(t *testing.T) {
	for _, c := range []struct {
		actor intake.Actor
		ok    bool
	}{{reporter, true}, {phone, true}, {system, true}, {alice, false}, {admin, false}} {
		_, err := Decide(Facts{State: intake.Validation, Owner: "alice"}, Event{Kind: intake.EventAnswerYes, Actor: c.actor})
		if (err == nil) != c.ok {
			t.Errorf("%+v answering: err=%v, want ok=%v", c.actor, err, c.ok)
		}
		_, err = Decide(Facts{State: intake.Satisfaction, Owner: "alice"}, Event{Kind: intake.EventRating, Actor: c.actor})
		if (err == nil) != c.ok {
			t.Errorf("%+v rating: err=%v, want ok=%v", c.actor, err, c.ok)
		}
	}
	_, err := Decide(Facts{State: intake.Satisfaction}, Event{Kind: intake.EventRating, Actor: alice})
	if !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("agent rating not via phone: %v, want forbidden", err)
	}
}

func TestOnlyOwnerOrAdminCloses(t *testing.T) {
	close := func(a intake.Actor, owner string) error {
		_, err := Decide(Facts{State: intake.Review, Owner: owner}, Event{Kind: intake.EventMove, To: intake.Closed, Actor: a})
		return err
	}
	if err := close(alice, "alice"); err != nil {
		t.Fatalf("owner: %v", err)
	}
	if err := close(admin, "alice"); err != nil {
		t.Fatalf("admin: %v", err)
	}
	if err := close(bob, "alice"); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("other agent: %v, want forbidden", err)
	}
	if err := close(bob, ""); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("no owner, plain agent: %v, want forbidden", err)
	}
}

// TestTakingOverNeedsOwnerOrAdmin: an incident another agent owns changes
// hands only by its owner or an admin, in every state where assign is
// allowed at all; an unowned one may be taken by any agent. Otherwise a
// plain agent could take a colleague's case in review and close it.
func TestTakingOverNeedsOwnerOrAdmin(t *testing.T) {
	for _, s := range []intake.State{intake.Analysis, intake.Solution, intake.Satisfaction, intake.Review} {
		for _, c := range []struct {
			actor intake.Actor
			owner string
			ok    bool
		}{
			{bob, "alice", false}, {alice, "alice", true}, {admin, "alice", true},
			{bob, "", true}, {admin, "", true}, {reporter, "", false}, {system, "alice", false},
		} {
			_, err := Decide(Facts{State: s, Owner: c.owner}, Event{Kind: intake.EventAssign, Actor: c.actor})
			if c.ok && err != nil {
				t.Errorf("%s: %s assigning (owner %q): %v", s, c.actor.Name, c.owner, err)
			}
			var re *intake.Refusal
			if !c.ok && (!errors.As(err, &re) || re.Code != intake.CodeForbidden || !errors.Is(err, intake.ErrForbidden)) {
				t.Errorf("%s: %s assigning (owner %q): %v, want forbidden", s, c.actor.Name, c.owner, err)
			}
		}
	}
	// The attack of the finding, step by step: bob cannot take alice's case
	// in review, so he never becomes the owner who may close it.
	if _, err := Decide(Facts{State: intake.Review, Owner: "alice"}, Event{Kind: intake.EventAssign, Actor: bob}); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("take-over in review: %v", err)
	}
	if _, err := Decide(Facts{State: intake.Review, Owner: "alice"}, Event{Kind: intake.EventMove, To: intake.Closed, Actor: bob}); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("close by another agent: %v", err)
	}
}

func TestFirstAgentToActBecomesOwner(t *testing.T) {
	d, _ := Decide(Facts{State: intake.Analysis}, Event{Kind: intake.EventAction, Actor: bob})
	if !d.TakeOwnership {
		t.Fatal("first acting agent did not take ownership")
	}
	d, _ = Decide(Facts{State: intake.Analysis, Owner: "alice"}, Event{Kind: intake.EventAction, Actor: bob})
	if d.TakeOwnership {
		t.Fatal("an owned incident changed hands on an action")
	}
	d, _ = Decide(Facts{State: intake.Analysis}, Event{Kind: intake.EventAssign, Actor: bob})
	if d.TakeOwnership {
		t.Fatal("assign must set the named owner, not the actor")
	}
	d, _ = Decide(Facts{State: intake.Analysis}, Event{Kind: intake.EventComment, Actor: reporter})
	if d.TakeOwnership {
		t.Fatal("a reporter took ownership")
	}
}

func TestRefusalNamesStateAndTargets(t *testing.T) {
	_, err := Decide(Facts{State: intake.Analysis}, Event{Kind: intake.EventMove, To: intake.Closed, Actor: alice})
	var re *intake.Refusal
	if !errors.As(err, &re) || re.Code != intake.CodeInvalidTransition || !slices.Equal(re.Allowed, []intake.State{intake.Solution}) {
		t.Fatalf("err = %#v", err)
	}
	if want := `cannot move from analysis to "closed"; allowed from analysis: solution`; re.Message != want {
		t.Fatalf("message %q, want %q", re.Message, want)
	}
}

func TestPlanAgreesWithDecide(t *testing.T) {
	for _, base := range allEvents() {
		for _, actor := range []intake.Actor{alice, bob, admin, phone, reporter, system} {
			ev := base
			ev.Actor = actor
			p := PlanFor(ev)
			for _, s := range intake.States() {
				for _, owner := range []string{"", "alice", "bob", "root", "zed"} {
					f := Facts{State: s, Owner: owner}
					d, err := Decide(f, ev)
					o := p.For(f)
					if (err != nil) != (o.Err != nil) || (err != nil && err.Error() != o.Err.Error()) ||
						!slices.Equal(d.Path, o.Path) || d.TakeOwnership != o.TakeOwnership || d.Reopen != o.Reopen ||
						!slices.Equal(d.Notify, o.Notify) {
						t.Fatalf("%s by %s with %+v: plan %+v, decide %+v %v", key(ev), actor.Name, f, o, d, err)
					}
				}
			}
		}
	}
}

func TestReaskSendsTheOpenQuestionAgain(t *testing.T) {
	for s, want := range map[intake.State]intake.NoticeKind{intake.Validation: intake.NoticeValidation, intake.Satisfaction: intake.NoticeSatisfaction} {
		d, err := Decide(Facts{State: s}, Event{Kind: intake.EventReask, Actor: reporter})
		if err != nil || len(d.Path) != 0 || !slices.Equal(d.Notify, []intake.NoticeKind{want}) {
			t.Errorf("%s: %+v %v", s, d, err)
		}
	}
	if _, err := Decide(Facts{State: intake.Analysis}, Event{Kind: intake.EventReask, Actor: reporter}); err == nil {
		t.Error("reask outside a survey step accepted")
	}
}

// wantCode is the refusal an event must get where the tables above do not
// allow it, derived independently of Table.
func wantCode(s intake.State, ev Event, allowedFor map[intake.State]map[string][]intake.State) intake.RefusalCode {
	other := expected
	if ev.Actor.Kind == intake.ActorAgent {
		other = expectedAnswers
	}
	_, allowedForOther := other[s][key(ev)]
	switch {
	case s == intake.Closed:
		return intake.CodeClosed
	case allowedForOther && ev.Kind != intake.EventComment:
		return intake.CodeForbidden // the event exists here, for someone else
	case s == intake.Validation && ev.Actor.Kind == intake.ActorAgent:
		return intake.CodeLocked
	case ev.Kind == intake.EventMove:
		return intake.CodeInvalidTransition
	}
	return intake.CodeNotAllowedInState
}

// A public note is an action (same states, same people) that also tells
// the reporter; an internal action tells nobody.
func TestPublicNoteNotifiesTheReporter(t *testing.T) {
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "alice"}
	for _, s := range []intake.State{intake.Analysis, intake.Solution} {
		d, err := Decide(Facts{State: s}, Event{Kind: intake.EventAction, Actor: agent, Public: true})
		if err != nil || !slices.Equal(d.Notify, []intake.NoticeKind{intake.NoticeNote}) || d.Final() != "" {
			t.Fatalf("%s: %+v %v", s, d, err)
		}
		d, err = Decide(Facts{State: s}, Event{Kind: intake.EventAction, Actor: agent})
		if err != nil || len(d.Notify) != 0 {
			t.Fatalf("%s internal: %+v %v", s, d, err)
		}
	}
	if _, err := Decide(Facts{State: intake.Validation}, Event{Kind: intake.EventAction, Actor: agent, Public: true}); err == nil {
		t.Fatal("a public note passed the validation lock")
	}
}
