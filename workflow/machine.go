// Package workflow is the six-step service model: the transition table, the
// pure function that decides what an event does to an incident, and the
// Engine that applies decisions through a Store and queues what the reporter
// must be told.
package workflow

import (
	"fmt"
	"slices"
	"strings"

	"github.com/intakebot/intakebot/intake"
)

// Who may cause a transition.
type Who string

// The kinds of permission a rule asks for.
const (
	// AnyAgent is any authenticated agent.
	AnyAgent Who = "agent"
	// OwnerOrAdmin is the incident's owner or an admin agent.
	OwnerOrAdmin Who = "owner"
	// OwnerOrUnowned is any agent while nobody owns the incident, and its
	// owner or an admin once somebody does: otherwise any agent could take
	// a colleague's case (say in review) and then close it as its owner.
	OwnerOrUnowned Who = "owner_or_unowned"
	// Answerer is the reporter, an agent recording a phone answer, or the
	// system (timeouts and system events).
	Answerer Who = "answerer"
	// Participant is anyone: reporter, agent or system.
	Participant Who = "participant"
	// System is the bot itself, moving on at once from a transient state.
	System Who = "system"
	// Bot is the bot acting on a timer or a system event: only an actor of
	// kind system may cause these events.
	Bot Who = "bot"
)

// Rule is one row of the transition table. To is empty for events that do not
// change the state; Notify names the message the reporter is sent on it.
type Rule struct {
	From   intake.State
	Event  intake.EventKind
	To     intake.State
	Who    Who
	Notify intake.NoticeKind
}

// Table is the whole service model as data. Every rule the API, Slack and
// email paths obey is here or in Decide, and nowhere else.
func Table() []Rule {
	t := []Rule{
		{From: intake.Analysis, Event: intake.EventMove, To: intake.Solution, Who: AnyAgent},
		{From: intake.Solution, Event: intake.EventMove, To: intake.Validation, Who: AnyAgent, Notify: intake.NoticeValidation},
		{From: intake.Validation, Event: intake.EventAnswerYes, To: intake.Satisfaction, Who: Answerer, Notify: intake.NoticeSatisfaction},
		{From: intake.Validation, Event: intake.EventAnswerNo, To: intake.NoSolution, Who: Answerer},
		{From: intake.NoSolution, Event: intake.EventReopen, To: intake.Analysis, Who: System, Notify: intake.NoticeReopened},
		{From: intake.Satisfaction, Event: intake.EventRating, To: intake.Review, Who: Answerer},
		{From: intake.Review, Event: intake.EventMove, To: intake.Closed, Who: OwnerOrAdmin, Notify: intake.NoticeClosed},
		// The reporter says an article we suggested solved it: nothing is
		// left to validate, so the case goes straight to the rating.
		{From: intake.Analysis, Event: intake.EventSolved, To: intake.Satisfaction, Who: Answerer, Notify: intake.NoticeSatisfaction},
		{From: intake.Solution, Event: intake.EventSolved, To: intake.Satisfaction, Who: Answerer, Notify: intake.NoticeSatisfaction},

		{From: intake.Analysis, Event: intake.EventAction, Who: AnyAgent},
		{From: intake.Solution, Event: intake.EventAction, Who: AnyAgent},
		{From: intake.Analysis, Event: intake.EventEscalate, Who: AnyAgent},
		{From: intake.Solution, Event: intake.EventEscalate, Who: AnyAgent},
		{From: intake.Analysis, Event: intake.EventRecategorize, Who: AnyAgent},
		{From: intake.Solution, Event: intake.EventRecategorize, Who: AnyAgent},
		// Linking a known error is diagnosis (analysis, solution) or the
		// owner's final check (review); never while the reporter validates.
		{From: intake.Analysis, Event: intake.EventKnownError, Who: AnyAgent},
		{From: intake.Solution, Event: intake.EventKnownError, Who: AnyAgent},
		{From: intake.Review, Event: intake.EventKnownError, Who: OwnerOrAdmin},
		{From: intake.Analysis, Event: intake.EventAssign, Who: OwnerOrUnowned},
		{From: intake.Solution, Event: intake.EventAssign, Who: OwnerOrUnowned},
		{From: intake.Satisfaction, Event: intake.EventAssign, Who: OwnerOrUnowned},
		{From: intake.Review, Event: intake.EventAssign, Who: OwnerOrUnowned},

		{From: intake.Analysis, Event: intake.EventComment, Who: Participant},
		{From: intake.Solution, Event: intake.EventComment, Who: Participant},
		{From: intake.Validation, Event: intake.EventComment, Who: Participant},
		{From: intake.Satisfaction, Event: intake.EventComment, Who: Participant},
		{From: intake.Review, Event: intake.EventComment, Who: Participant},

		{From: intake.Validation, Event: intake.EventReask, Who: Answerer, Notify: intake.NoticeValidation},
		{From: intake.Satisfaction, Event: intake.EventReask, Who: Answerer, Notify: intake.NoticeSatisfaction},

		{From: intake.Validation, Event: intake.EventRemind, Who: Bot, Notify: intake.NoticeRemindValidation},
		{From: intake.Satisfaction, Event: intake.EventRemind, Who: Bot, Notify: intake.NoticeRemindSatisfaction},
		{From: intake.Satisfaction, Event: intake.EventSkipSurvey, To: intake.Review, Who: Bot},
	}
	// What the bot notes on any open incident: SLA warnings and breaches,
	// and what an alert's source says again.
	for _, s := range []intake.State{intake.Analysis, intake.Solution, intake.Validation, intake.Satisfaction, intake.Review} {
		t = append(t, Rule{From: s, Event: intake.EventSLA, Who: Bot}, Rule{From: s, Event: intake.EventRepeat, Who: Bot})
		if s != intake.Validation {
			t = append(t, Rule{From: s, Event: intake.EventRecovered, Who: Bot})
		}
	}
	return t
}

// Facts is what Decide needs to know about an incident.
type Facts struct {
	State intake.State
	Owner string
}

// Event is one thing that happens to an incident. To is the target of a move.
// Public marks an action the reporter is told about (a public note).
type Event struct {
	Kind   intake.EventKind
	Actor  intake.Actor
	To     intake.State
	Public bool
}

// Decision is what an allowed event does.
type Decision struct {
	// Path is every state entered, in order; empty when the state stays.
	// A "no" in validation enters no_solution and at once analysis.
	Path []intake.State
	// Events names the event of each step of Path: the event itself, then
	// the automatic ones (reopen).
	Events []intake.EventKind
	// TakeOwnership is set when an agent acts on an incident nobody owns.
	TakeOwnership bool
	// Reopen is set when the case goes back to analysis after a "no".
	Reopen bool
	// Notify lists the messages the reporter must be sent.
	Notify []intake.NoticeKind
}

// Final is the state the incident rests in after the decision, or "" when
// the state does not change.
func (d Decision) Final() intake.State {
	if len(d.Path) == 0 {
		return ""
	}
	return d.Path[len(d.Path)-1]
}

// Decide applies the transition table to one event. It is pure: the same
// facts and event always give the same answer.
func Decide(f Facts, ev Event) (Decision, error) {
	rule, err := findRule(f.State, ev)
	if err != nil {
		return Decision{}, err
	}
	if err := allowed(rule.Who, f, ev.Actor); err != nil {
		return Decision{}, err
	}
	var d Decision
	if ev.Actor.Kind == intake.ActorAgent && f.Owner == "" && ev.Kind != intake.EventAssign {
		d.TakeOwnership = true
	}
	if rule.To == "" && rule.Notify != "" {
		d.Notify = append(d.Notify, rule.Notify)
	}
	// A public note is an action like any other (same states, same
	// people), and the reporter is sent it.
	if ev.Kind == intake.EventAction && ev.Public {
		d.Notify = append(d.Notify, intake.NoticeNote)
	}
	for rule.To != "" {
		d.Path = append(d.Path, rule.To)
		d.Events = append(d.Events, rule.Event)
		if rule.Notify != "" {
			d.Notify = append(d.Notify, rule.Notify)
		}
		next, ok := automatic(rule.To)
		if !ok {
			break
		}
		rule = next
		d.Reopen = d.Reopen || rule.Event == intake.EventReopen
	}
	return d, nil
}

// automatic returns the rule the system applies at once on entering a
// transient state (no_solution), if any.
func automatic(s intake.State) (Rule, bool) {
	for _, r := range Table() {
		if r.From == s && r.Who == System {
			return r, true
		}
	}
	return Rule{}, false
}

func findRule(s intake.State, ev Event) (Rule, error) {
	if s == intake.Closed {
		return Rule{}, &intake.Refusal{Code: intake.CodeClosed, State: s,
			Message: "the incident is closed; a new report opens a new incident linked to it"}
	}
	for _, r := range Table() {
		if r.From == s && r.Event == ev.Kind && (ev.Kind != intake.EventMove || r.To == ev.To) && r.Who != System {
			return r, nil
		}
	}
	if s == intake.Validation && ev.Actor.Kind == intake.ActorAgent && ev.Actor.Via != "phone" {
		return Rule{}, &intake.Refusal{Code: intake.CodeLocked, State: s, Allowed: moveTargets(s),
			Message: "the incident is in validation: only the reporter's answer may change it now"}
	}
	if ev.Kind == intake.EventMove {
		targets := moveTargets(s)
		return Rule{}, &intake.Refusal{Code: intake.CodeInvalidTransition, State: s, Allowed: targets,
			Message: fmt.Sprintf("cannot move from %s to %q; allowed from %s: %s", s, ev.To, s, list(targets))}
	}
	states := statesFor(ev.Kind)
	return Rule{}, &intake.Refusal{Code: intake.CodeNotAllowedInState, State: s, Allowed: moveTargets(s),
		Message: fmt.Sprintf("%s is not allowed in state %s; allowed in: %s", ev.Kind, s, list(states))}
}

func allowed(who Who, f Facts, a intake.Actor) error {
	ok := false
	switch who {
	case AnyAgent:
		ok = a.Kind == intake.ActorAgent
	case OwnerOrAdmin:
		ok = a.Kind == intake.ActorAgent && (a.Admin || (f.Owner != "" && a.Name == f.Owner))
	case OwnerOrUnowned:
		ok = a.Kind == intake.ActorAgent && (a.Admin || f.Owner == "" || a.Name == f.Owner)
	case Answerer:
		ok = a.Kind == intake.ActorReporter || a.Kind == intake.ActorSystem ||
			(a.Kind == intake.ActorAgent && a.Via == "phone")
	case Participant:
		ok = a.Kind != ""
	case Bot:
		ok = a.Kind == intake.ActorSystem
	}
	if ok {
		return nil
	}
	msg := map[Who]string{
		AnyAgent:       "only an agent may do this",
		OwnerOrAdmin:   "only the incident's owner or an admin may do this",
		OwnerOrUnowned: "the incident has an owner: only that owner or an admin may hand it to someone else",
		Answerer:       "only the reporter may answer; an agent may record an answer given by phone",
		Bot:            "only the bot itself does this",
	}[who]
	if msg == "" {
		msg = "not allowed"
	}
	return &intake.Refusal{Code: intake.CodeForbidden, State: f.State, Allowed: moveTargets(f.State), Message: msg}
}

func moveTargets(s intake.State) []intake.State {
	var out []intake.State
	for _, r := range Table() {
		if r.From == s && r.Event == intake.EventMove {
			out = append(out, r.To)
		}
	}
	return out
}

func statesFor(k intake.EventKind) []intake.State {
	var out []intake.State
	for _, r := range Table() {
		if r.Event == k && !slices.Contains(out, r.From) {
			out = append(out, r.From)
		}
	}
	return out
}

func list(states []intake.State) string {
	if len(states) == 0 {
		return "none"
	}
	s := make([]string, len(states))
	for i, st := range states {
		s[i] = string(st)
	}
	return strings.Join(s, ", ")
}
