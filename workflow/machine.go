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

// The states of the service model, with the ids the API and Redis use.
const (
	Analysis     intake.State = "analysis"
	Solution     intake.State = "solution"
	Validation   intake.State = "validation"
	NoSolution   intake.State = "no_solution"
	Satisfaction intake.State = "satisfaction"
	Review       intake.State = "review"
	Closed       intake.State = "closed"
)

// States lists every state in service-model order.
func States() []intake.State {
	return []intake.State{Analysis, Solution, Validation, NoSolution, Satisfaction, Review, Closed}
}

// EventKind is something that can happen to an incident.
type EventKind string

// The events of the service model.
const (
	EventMove         EventKind = "move"         // an agent moves the case (solution, validation, closed)
	EventAction       EventKind = "action"       // an agent documents work
	EventAssign       EventKind = "assign"       // an owner is set
	EventEscalate     EventKind = "escalate"     // another group or level takes over
	EventRecategorize EventKind = "recategorize" // the category is corrected
	EventAnswerYes    EventKind = "answer_yes"   // validation: the service works again
	EventAnswerNo     EventKind = "answer_no"    // validation: it still fails
	EventRating       EventKind = "rating"       // satisfaction survey answered
	EventComment      EventKind = "comment"      // the reporter says something more
	EventReopen       EventKind = "reopen"       // automatic: no_solution sends the case back
	EventReask        EventKind = "reask"        // an unclear answer: the question is sent again
	EventRemind       EventKind = "remind"       // timer: the open question is asked again
	EventSkipSurvey   EventKind = "skip_survey"  // timer or system event: satisfaction ends without a rating
	EventSLA          EventKind = "sla"          // timer: an SLA target is near or missed
	EventRepeat       EventKind = "repeat"       // system event: the same alert fired again
	EventRecovered    EventKind = "recovered"    // system event: the alert resolved
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
	Event  EventKind
	To     intake.State
	Who    Who
	Notify NoticeKind
}

// NoticeKind names a message to the reporter; it is also the template name.
type NoticeKind string

// The messages the workflow sends to reporters.
const (
	NoticeAck          NoticeKind = "ack"
	NoticeValidation   NoticeKind = "validation"
	NoticeSatisfaction NoticeKind = "satisfaction"
	NoticeReopened     NoticeKind = "reopened"
	NoticeClosed       NoticeKind = "closed"
	// Reminders ask the open question again after a while without answer.
	NoticeRemindValidation   NoticeKind = "remind_validation"
	NoticeRemindSatisfaction NoticeKind = "remind_satisfaction"
)

// NoticeChange tells the watchers (the Slack triage channel and open Slack
// prompts) that an incident changed. It goes out on ChannelWatch, never to
// a reporter, and has no template: its channel shows the incident as it is.
const NoticeChange NoticeKind = "change"

// ChannelWatch is the outbox route of change notices.
const ChannelWatch intake.Channel = "watch"

// Notices lists every notice kind; each has a template in every language.
func Notices() []NoticeKind {
	return []NoticeKind{NoticeAck, NoticeValidation, NoticeSatisfaction, NoticeReopened, NoticeClosed,
		NoticeRemindValidation, NoticeRemindSatisfaction}
}

// Table is the whole service model as data. Every rule the API, Slack and
// email paths obey is here or in Decide, and nowhere else.
func Table() []Rule {
	t := []Rule{
		{From: Analysis, Event: EventMove, To: Solution, Who: AnyAgent},
		{From: Solution, Event: EventMove, To: Validation, Who: AnyAgent, Notify: NoticeValidation},
		{From: Validation, Event: EventAnswerYes, To: Satisfaction, Who: Answerer, Notify: NoticeSatisfaction},
		{From: Validation, Event: EventAnswerNo, To: NoSolution, Who: Answerer},
		{From: NoSolution, Event: EventReopen, To: Analysis, Who: System, Notify: NoticeReopened},
		{From: Satisfaction, Event: EventRating, To: Review, Who: Answerer},
		{From: Review, Event: EventMove, To: Closed, Who: OwnerOrAdmin, Notify: NoticeClosed},

		{From: Analysis, Event: EventAction, Who: AnyAgent},
		{From: Solution, Event: EventAction, Who: AnyAgent},
		{From: Analysis, Event: EventEscalate, Who: AnyAgent},
		{From: Solution, Event: EventEscalate, Who: AnyAgent},
		{From: Analysis, Event: EventRecategorize, Who: AnyAgent},
		{From: Solution, Event: EventRecategorize, Who: AnyAgent},
		{From: Analysis, Event: EventAssign, Who: OwnerOrUnowned},
		{From: Solution, Event: EventAssign, Who: OwnerOrUnowned},
		{From: Satisfaction, Event: EventAssign, Who: OwnerOrUnowned},
		{From: Review, Event: EventAssign, Who: OwnerOrUnowned},

		{From: Analysis, Event: EventComment, Who: Participant},
		{From: Solution, Event: EventComment, Who: Participant},
		{From: Validation, Event: EventComment, Who: Participant},
		{From: Satisfaction, Event: EventComment, Who: Participant},
		{From: Review, Event: EventComment, Who: Participant},

		{From: Validation, Event: EventReask, Who: Answerer, Notify: NoticeValidation},
		{From: Satisfaction, Event: EventReask, Who: Answerer, Notify: NoticeSatisfaction},

		{From: Validation, Event: EventRemind, Who: Bot, Notify: NoticeRemindValidation},
		{From: Satisfaction, Event: EventRemind, Who: Bot, Notify: NoticeRemindSatisfaction},
		{From: Satisfaction, Event: EventSkipSurvey, To: Review, Who: Bot},
	}
	// What the bot notes on any open incident: SLA warnings and breaches,
	// and what an alert's source says again.
	for _, s := range []intake.State{Analysis, Solution, Validation, Satisfaction, Review} {
		t = append(t, Rule{From: s, Event: EventSLA, Who: Bot}, Rule{From: s, Event: EventRepeat, Who: Bot})
		if s != Validation {
			t = append(t, Rule{From: s, Event: EventRecovered, Who: Bot})
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
type Event struct {
	Kind  EventKind
	Actor intake.Actor
	To    intake.State
}

// Decision is what an allowed event does.
type Decision struct {
	// Path is every state entered, in order; empty when the state stays.
	// A "no" in validation enters no_solution and at once analysis.
	Path []intake.State
	// Events names the event of each step of Path: the event itself, then
	// the automatic ones (reopen).
	Events []EventKind
	// TakeOwnership is set when an agent acts on an incident nobody owns.
	TakeOwnership bool
	// Reopen is set when the case goes back to analysis after a "no".
	Reopen bool
	// Notify lists the messages the reporter must be sent.
	Notify []NoticeKind
}

// Final is the state the incident rests in after the decision, or "" when
// the state does not change.
func (d Decision) Final() intake.State {
	if len(d.Path) == 0 {
		return ""
	}
	return d.Path[len(d.Path)-1]
}

// RuleError is a refusal by the service model. It wraps intake.ErrConflict
// (409) or intake.ErrForbidden (403).
type RuleError struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	State   intake.State   `json:"state"`
	Allowed []intake.State `json:"allowed,omitempty"`
	kind    error
}

func (e *RuleError) Error() string { return e.Message }
func (e *RuleError) Unwrap() error { return e.kind }

// Refusal codes.
const (
	CodeInvalidTransition = "invalid_transition"
	CodeNotAllowedInState = "not_allowed_in_state"
	CodeLocked            = "locked_in_validation"
	CodeClosed            = "closed"
	CodeForbidden         = "forbidden"
)

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
	if ev.Actor.Kind == intake.ActorAgent && f.Owner == "" && ev.Kind != EventAssign {
		d.TakeOwnership = true
	}
	if rule.To == "" && rule.Notify != "" {
		d.Notify = append(d.Notify, rule.Notify)
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
		d.Reopen = d.Reopen || rule.Event == EventReopen
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
	if s == Closed {
		return Rule{}, &RuleError{Code: CodeClosed, State: s, kind: intake.ErrConflict,
			Message: "the incident is closed; a new report opens a new incident linked to it"}
	}
	for _, r := range Table() {
		if r.From == s && r.Event == ev.Kind && (ev.Kind != EventMove || r.To == ev.To) && r.Who != System {
			return r, nil
		}
	}
	if s == Validation && ev.Actor.Kind == intake.ActorAgent && ev.Actor.Via != "phone" {
		return Rule{}, &RuleError{Code: CodeLocked, State: s, Allowed: moveTargets(s), kind: intake.ErrConflict,
			Message: "the incident is in validation: only the reporter's answer may change it now"}
	}
	if ev.Kind == EventMove {
		targets := moveTargets(s)
		return Rule{}, &RuleError{Code: CodeInvalidTransition, State: s, Allowed: targets, kind: intake.ErrConflict,
			Message: fmt.Sprintf("cannot move from %s to %q; allowed from %s: %s", s, ev.To, s, list(targets))}
	}
	states := statesFor(ev.Kind)
	return Rule{}, &RuleError{Code: CodeNotAllowedInState, State: s, Allowed: moveTargets(s), kind: intake.ErrConflict,
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
	return &RuleError{Code: CodeForbidden, State: f.State, Allowed: moveTargets(f.State), Message: msg, kind: intake.ErrForbidden}
}

func moveTargets(s intake.State) []intake.State {
	var out []intake.State
	for _, r := range Table() {
		if r.From == s && r.Event == EventMove {
			out = append(out, r.To)
		}
	}
	return out
}

func statesFor(k EventKind) []intake.State {
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

// ErrorCode is the stable code of the refusal, for API clients.
func (e *RuleError) ErrorCode() string { return e.Code }

// Refusal gives the incident's state and the moves allowed from it, so that
// an API answer can carry them without knowing this type.
func (e *RuleError) Refusal() (intake.State, []intake.State) { return e.State, e.Allowed }
