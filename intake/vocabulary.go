package intake

// The shared vocabulary of the service model: states, events, notices,
// refusals and outbox routes. It lives here, in the leaf, so that every
// channel compares typed constants instead of spelling ids again; the
// workflow package keeps the transition table and the rules that use them.
// The string values are the ids the API, the templates and Redis use:
// changing one is a change of the wire format.

// State is a step of the service model.
type State string

// The states of the service model.
const (
	Analysis     State = "analysis"
	Solution     State = "solution"
	Validation   State = "validation"
	NoSolution   State = "no_solution"
	Satisfaction State = "satisfaction"
	Review       State = "review"
	Closed       State = "closed"
)

// States lists every state in service-model order.
func States() []State {
	return []State{Analysis, Solution, Validation, NoSolution, Satisfaction, Review, Closed}
}

// Valid reports whether s is one of the states.
func (s State) Valid() bool {
	switch s {
	case Analysis, Solution, Validation, NoSolution, Satisfaction, Review, Closed:
		return true
	}
	return false
}

// Survey steps: the states in which a survey question is open. A
// SurveyResult's Step and a survey link name one of them.
const (
	SurveyValidation   = string(Validation)
	SurveySatisfaction = string(Satisfaction)
)

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
	EventKnownError   EventKind = "known_error"  // an agent links (or unlinks) a known error
	EventSolved       EventKind = "solved"       // the reporter says a suggested article solved the problem
)

// NoticeKind names a message the workflow asks a channel to send; for the
// reporter's notices it is also the template name.
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
	// NoticeNote mails (or posts) a public note to the reporter: an action
	// the agent marked "tell the reporter" (Action.Public).
	NoticeNote NoticeKind = "note"
)

// HistoryNote is the history event of a public note: an action
// (EventAction) marked "tell the reporter". It is no event kind of its
// own, since the rules of actions apply to it; the history names it so
// that agents see what the reporter was told.
const HistoryNote = "note"

// NoticeChange tells the watchers (the Slack triage channel and open Slack
// prompts) that an incident changed. It goes out on RouteWatch, never to a
// reporter, and has no template: its channel shows the incident as it is.
const NoticeChange NoticeKind = "change"

// NoticeAgentAlert tells agents (by mail or webhook) that something needs
// them: an Alert names what. It goes out on RouteAgentMail or RouteWebhook,
// never to a reporter.
const NoticeAgentAlert NoticeKind = "agent_alert"

// Alert is the event an agent alert is about; the ids are the ones
// notify.webhooks[].events lists and a webhook's JSON carries.
type Alert string

// The alerts.
const (
	AlertNew        Alert = "new"         // an incident was registered
	AlertSLAWarning Alert = "sla_warning" // an SLA target is near
	AlertSLABreach  Alert = "sla_breach"  // an SLA target was missed
	AlertRejected   Alert = "rejected"    // the reporter said the solution does not work
)

// Alerts lists every alert.
func Alerts() []Alert { return []Alert{AlertNew, AlertSLAWarning, AlertSLABreach, AlertRejected} }

// Valid reports whether a is one of the alerts.
func (a Alert) Valid() bool {
	switch a {
	case AlertNew, AlertSLAWarning, AlertSLABreach, AlertRejected:
		return true
	}
	return false
}

// AlertOfFlag is the alert an incident flag raises: SLA warnings and
// breaches do, other flags raise none ("").
func AlertOfFlag(flag string) Alert {
	switch SLAFlagStatus(flag) {
	case SLAWarning:
		return AlertSLAWarning
	case SLABreached:
		return AlertSLABreach
	}
	return ""
}

// Notices lists every notice to a reporter; each has a template in every
// language.
func Notices() []NoticeKind {
	return []NoticeKind{NoticeAck, NoticeValidation, NoticeSatisfaction, NoticeReopened, NoticeClosed,
		NoticeRemindValidation, NoticeRemindSatisfaction, NoticeNote}
}

// SurveyStep is the survey question the notice asks (SurveyValidation or
// SurveySatisfaction), reminders included, or "".
func (k NoticeKind) SurveyStep() string {
	switch k {
	case NoticeValidation, NoticeRemindValidation:
		return SurveyValidation
	case NoticeSatisfaction, NoticeRemindSatisfaction:
		return SurveySatisfaction
	}
	return ""
}

// Route is an outbox queue and the channel that drains it. A reporter's
// notices wait on the route of the channel they are answered on
// (Incident.ReplyChannel); change notices wait on RouteWatch. A route is
// not a Channel: no report arrives on the watch route, and nobody is
// answered on the phone or web channels.
type Route string

// The outbox routes.
const (
	RouteEmail       = Route(ChannelEmail)
	RouteSlack       = Route(ChannelSlack)
	RouteWatch Route = "watch"
	// Agent alerts: mails to agents and their groups, and signed webhook
	// posts (see NoticeAgentAlert).
	RouteAgentMail Route = "agent_mail"
	RouteWebhook   Route = "webhook"
)

// Routes lists every outbox route.
func Routes() []Route {
	return []Route{RouteEmail, RouteSlack, RouteWatch, RouteAgentMail, RouteWebhook}
}

// Valid reports whether r is one of the routes.
func (r Route) Valid() bool {
	switch r {
	case RouteEmail, RouteSlack, RouteWatch, RouteAgentMail, RouteWebhook:
		return true
	}
	return false
}

// Reporter reports whether the route carries notices to reporters (a
// reply channel), not to agents or watchers.
func (r Route) Reporter() bool { return r == RouteEmail || r == RouteSlack }

// RefusalCode is the stable code of a refusal, for API clients.
type RefusalCode string

// The refusal codes.
const (
	CodeInvalidTransition RefusalCode = "invalid_transition"
	CodeNotAllowedInState RefusalCode = "not_allowed_in_state"
	CodeLocked            RefusalCode = "locked_in_validation"
	CodeClosed            RefusalCode = "closed"
	CodeForbidden         RefusalCode = "forbidden"
	// CodeReplaced refuses an answer to a survey question that a newer
	// round of the same question replaced (an old link or button).
	CodeReplaced RefusalCode = "question_replaced"
)

// Refusal is the service model saying no to an event: the incident's state
// and the moves allowed from it come with it, so that every channel can
// explain the refusal. Find it with errors.As; it wraps ErrForbidden
// (CodeForbidden) or ErrConflict (every other code), for errors.Is.
type Refusal struct {
	Code    RefusalCode `json:"code"`
	Message string      `json:"message"`
	State   State       `json:"state"`
	Allowed []State     `json:"allowed,omitempty"`
}

func (r *Refusal) Error() string { return r.Message }

// Unwrap gives the kind of the refusal: forbidden (who) or conflict (when).
func (r *Refusal) Unwrap() error {
	if r.Code == CodeForbidden {
		return ErrForbidden
	}
	return ErrConflict
}
