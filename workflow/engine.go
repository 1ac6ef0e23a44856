package workflow

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/intakebot/intakebot/intake"
)

// Store keeps incidents. Create and Apply are each atomic: a crash leaves
// either all of a change (state, history, indexes, queued messages) or none.
type Store interface {
	// Create allocates an id, stores the incident in analysis and queues the
	// notices, and returns the incident as stored. A non-empty key makes it
	// idempotent: creating with a key used before returns that incident.
	Create(ctx context.Context, key string, inc *intake.Incident, notify []intake.NoticeKind) (*intake.Incident, error)
	// CreateMany creates several incidents as Create would each (keys[i]
	// for incs[i]), sharing its round trips among them; one incident or one
	// error per entry.
	CreateMany(ctx context.Context, keys []string, incs []*intake.Incident, notify []intake.NoticeKind) ([]*intake.Incident, []error)
	// Apply picks the plan's outcome for the incident's current facts and,
	// when allowed, applies it with the change, in one round trip; a refusal
	// is the outcome's *RuleError. It reads nothing back: Get does.
	Apply(ctx context.Context, id string, ch Change) (Applied, error)
	// Get returns the incident with its actions, comments, surveys and history.
	Get(ctx context.Context, id string) (*intake.Incident, error)
}

// Applied is what Store.Apply tells about a change it applied.
type Applied struct {
	intake.Changed
	// Duplicate: a change with the same Ref was applied before; this one
	// changed nothing.
	Duplicate bool
	// Asked is when the incident entered AskedStep, the step whose survey
	// the change answered (zero for a change that answered none), for the
	// time-to-answer metric.
	Asked     time.Time
	AskedStep intake.State
}

// Change is everything one event writes, besides what the plan decides.
type Change struct {
	Plan Plan `json:"plan"`
	// Ref is the source message's id; a change whose Ref was already
	// applied to the incident is a no-op that succeeds.
	Ref      string               `json:"ref,omitempty"`
	Event    intake.EventKind     `json:"event"`
	Actor    string               `json:"actor"`
	Via      string               `json:"via"`
	Note     string               `json:"note"`
	At       time.Time            `json:"at"`
	Owner    string               `json:"owner,omitempty"`    // assign
	Group    string               `json:"group,omitempty"`    // escalate
	Level    int                  `json:"level,omitempty"`    // escalate
	Category string               `json:"category,omitempty"` // recategorize
	Action   *intake.Action       `json:"action,omitempty"`
	Comment  *intake.Comment      `json:"comment,omitempty"`
	Survey   *intake.SurveyResult `json:"survey,omitempty"`
	// Flag marks the incident (an SLA warning or breach) with the time.
	Flag string `json:"flag,omitempty"`
	// KnownError links the incident to this known error (KE-000001);
	// UnlinkKnownError removes its link instead.
	KnownError       string `json:"known_error,omitempty"`
	UnlinkKnownError bool   `json:"unlink_known_error,omitempty"`
	// Round, on a survey answer, is the round the answer was asked in
	// (intake.Actor.Round): the store refuses it with intake.CodeReplaced
	// when the incident is in the answer's step with another round open.
	// Zero answers whatever round is open.
	Round int64 `json:"round,omitempty"`
}

// AlertOf is the agent alert a change raises when it applies: an SLA
// flag's, or the reporter's "no" (intake.AlertRejected); "" for none. The
// store queues it with the change (see redisstore.AlertTarget).
func AlertOf(ch Change) intake.Alert {
	if ch.Flag != "" {
		return intake.AlertOfFlag(ch.Flag)
	}
	if ch.Event == intake.EventAnswerNo {
		return intake.AlertRejected
	}
	return ""
}

// Replaced is the refusal of a survey answer whose round was replaced by
// a newer one (the store returns it; see Change.Round).
func Replaced(step string, asked, open int64) *intake.Refusal {
	return &intake.Refusal{Code: intake.CodeReplaced, State: intake.State(step),
		Message: fmt.Sprintf("this question (round %d) was replaced by a newer one (round %d): answer the newest question", asked, open)}
}

// Limits on what people may write (see intake).
const (
	MaxTextBytes = intake.MaxTextBytes
	MaxNameBytes = intake.MaxNameBytes
)

// Engine applies the service model to incidents kept in a Store.
type Engine struct {
	store   Store
	rules   *intake.Rules
	metrics *Metrics
	now     func() time.Time
	kb      Suggestions // set by UseKB; no index: no suggestions
	plans   sync.Map    // planKey -> Plan: Decide's answers never change
	groups  Grouper     // nil: grouped incidents are not followed (WithGrouper)
}

// planKey is everything about an event that Decide looks at, except the
// actor's name, which the store compares with the owner.
type planKey struct {
	kind      intake.EventKind
	to        intake.State
	actorKind intake.ActorKind
	admin     bool
	via       string
	public    bool
}

// NewEngine returns an engine; now is the clock (time.Now in production).
func NewEngine(store Store, rules *intake.Rules, metrics *Metrics, now func() time.Time) *Engine {
	return &Engine{store: store, rules: rules, metrics: metrics, now: now}
}

// Register classifies a report, stores it as a new incident in analysis and
// queues the acknowledgment, all in one atomic step.
func (e *Engine) Register(ctx context.Context, rep intake.Report) (*intake.Incident, error) {
	inc, err := e.prepare(ctx, rep)
	if err != nil {
		return nil, err
	}
	stored, err := e.store.Create(ctx, rep.Key, &inc, []intake.NoticeKind{intake.NoticeAck})
	if err != nil {
		return nil, err
	}
	e.metrics.registered(inc.Channel)
	return stored, nil
}

// RegisterMany registers several reports as Register would each, with their
// numbering and storing shared in a few round trips. It returns one
// incident or one error per report, in order.
func (e *Engine) RegisterMany(ctx context.Context, reps []intake.Report) ([]*intake.Incident, []error) {
	out, errs := make([]*intake.Incident, len(reps)), make([]error, len(reps))
	prepared := make([]intake.Incident, len(reps))
	// Classifying is CPU work of its own per report: on every core, or
	// the batch waits for it one report at a time.
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), len(reps))
	for w := range workers {
		wg.Go(func() {
			for i := w; i < len(reps); i += workers {
				prepared[i], errs[i] = e.prepare(ctx, reps[i])
			}
		})
	}
	wg.Wait()
	var keys []string
	var incs []*intake.Incident
	var at []int
	for i, rep := range reps {
		if errs[i] == nil {
			keys, incs, at = append(keys, rep.Key), append(incs, &prepared[i]), append(at, i)
		}
	}
	if len(incs) == 0 {
		return out, errs
	}
	stored, serrs := e.store.CreateMany(ctx, keys, incs, []intake.NoticeKind{intake.NoticeAck})
	for k, i := range at {
		out[i], errs[i] = stored[k], serrs[k]
		if serrs[k] == nil {
			e.metrics.registered(incs[k].Channel)
		}
	}
	return out, errs
}

// prepare checks and classifies a report into the incident to store.
func (e *Engine) prepare(ctx context.Context, rep intake.Report) (intake.Incident, error) {
	for _, s := range []string{rep.Subject, rep.Description} {
		if err := checkText(s, MaxTextBytes); err != nil {
			return intake.Incident{}, err
		}
	}
	for _, s := range []string{rep.Reporter.Name, rep.Reporter.Email, rep.Reporter.SlackID, rep.CI, rep.Group} {
		if err := checkText(s, MaxNameBytes); err != nil {
			return intake.Incident{}, err
		}
	}
	inc, err := e.rules.Register(rep, e.now().UTC())
	if err != nil {
		return intake.Incident{}, err
	}
	if inc.RelatedID != "" {
		_, err := e.store.Get(ctx, inc.RelatedID)
		switch {
		case errors.As(err, new(*intake.ArchivedError)):
			// It exists, in its archive file: it can be linked.
		case errors.Is(err, intake.ErrNotFound):
			return intake.Incident{}, fmt.Errorf("%w: related incident %s does not exist", intake.ErrInvalid, inc.RelatedID)
		case err != nil:
			return intake.Incident{}, err
		}
	}
	inc.State = intake.Analysis
	inc.Suggestions = e.suggest(&inc)
	return inc, nil
}

// Get returns one incident.
func (e *Engine) Get(ctx context.Context, id string) (*intake.Incident, error) {
	if _, err := intake.ParseID(id); err != nil {
		return nil, err
	}
	return e.store.Get(ctx, id)
}

// AddAction records an agent's work note. It stays internal: reporters
// never see it (AddPublicNote writes one they do).
func (e *Engine) AddAction(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error) {
	return e.addAction(ctx, id, by, text, false)
}

// AddPublicNote records an action marked "tell the reporter": the same
// action as AddAction, allowed where actions are, and in the same atomic
// change a note (intake.NoticeNote) with its text is queued to the
// reporter on the incident's reply channel.
func (e *Engine) AddPublicNote(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error) {
	return e.addAction(ctx, id, by, text, true)
}

func (e *Engine) addAction(ctx context.Context, id string, by intake.Actor, text string, public bool) (intake.Changed, error) {
	if err := requireText(text); err != nil {
		return intake.Changed{}, err
	}
	ch := Change{Action: &intake.Action{Author: by.Name, Text: text, Public: public}}
	return e.apply(ctx, id, Event{Kind: intake.EventAction, Actor: by, Public: public}, ch)
}

// Move takes the incident to another state (solution, validation, closed).
func (e *Engine) Move(ctx context.Context, id string, by intake.Actor, to intake.State, note string) (intake.Changed, error) {
	if err := checkText(note, MaxTextBytes); err != nil {
		return intake.Changed{}, err
	}
	ch, err := e.apply(ctx, id, Event{Kind: intake.EventMove, Actor: by, To: to}, Change{Note: note})
	if err != nil {
		return ch, err
	}
	if err := e.followParent(ctx, id, to, by, note); err != nil {
		return ch, fmt.Errorf("%s moved to %s, but not all its grouped incidents followed: %w", id, to, err)
	}
	return ch, nil
}

// Assign makes owner the incident's owner.
func (e *Engine) Assign(ctx context.Context, id string, by intake.Actor, owner, note string) (intake.Changed, error) {
	owner = strings.TrimSpace(owner)
	if owner == "" {
		return intake.Changed{}, fmt.Errorf("%w: an owner is required", intake.ErrInvalid)
	}
	if err := checkText(owner, MaxNameBytes); err != nil {
		return intake.Changed{}, err
	}
	return e.apply(ctx, id, Event{Kind: intake.EventAssign, Actor: by}, Change{Owner: owner, Note: note})
}

// Escalate hands the incident to another support group and/or level (1-3).
func (e *Engine) Escalate(ctx context.Context, id string, by intake.Actor, group string, level int, note string) (intake.Changed, error) {
	group = strings.TrimSpace(group)
	if group == "" && level == 0 {
		return intake.Changed{}, fmt.Errorf("%w: escalation needs a group or a level", intake.ErrInvalid)
	}
	if level < 0 || level > 3 {
		return intake.Changed{}, fmt.Errorf("%w: level must be 1, 2 or 3", intake.ErrInvalid)
	}
	if group != "" && !e.rules.HasGroup(group) {
		return intake.Changed{}, fmt.Errorf("%w: unknown group %q", intake.ErrInvalid, group)
	}
	return e.apply(ctx, id, Event{Kind: intake.EventEscalate, Actor: by}, Change{Group: group, Level: level, Note: note})
}

// Recategorize corrects the incident's category.
func (e *Engine) Recategorize(ctx context.Context, id string, by intake.Actor, category, note string) (intake.Changed, error) {
	if !e.rules.HasCategory(category) {
		return intake.Changed{}, fmt.Errorf("%w: unknown category %q", intake.ErrInvalid, category)
	}
	return e.apply(ctx, id, Event{Kind: intake.EventRecategorize, Actor: by}, Change{Category: category, Note: note})
}

// AnswerValidation records the reporter's answer to "is the service back to
// normal?". Yes moves to satisfaction; no goes back to analysis at once, the
// reason kept.
func (e *Engine) AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error) {
	if err := checkText(note, MaxTextBytes); err != nil {
		return intake.Changed{}, err
	}
	s := &intake.SurveyResult{Step: intake.SurveyValidation, Answer: "no", Comment: note, Via: by.Via}
	kind := intake.EventAnswerNo
	if yes {
		s.Answer, kind = "yes", intake.EventAnswerYes
	}
	if by.Kind == intake.ActorAgent {
		s.Recorder = by.Name
	}
	return e.answered(ctx, id, by, note)(e.apply(ctx, id, Event{Kind: kind, Actor: by}, Change{Survey: s, Note: note}))
}

// answered follows a survey answer (or its timeout) of a grouped child
// (childAnswered); the answer itself stands whatever happens there.
func (e *Engine) answered(ctx context.Context, id string, by intake.Actor, note string) func(intake.Changed, error) (intake.Changed, error) {
	return func(ch intake.Changed, err error) (intake.Changed, error) {
		if err != nil {
			return ch, err
		}
		if err := e.childAnswered(ctx, id, ch, by, note); err != nil {
			return ch, fmt.Errorf("%s: answer recorded, but its outage group did not follow: %w", id, err)
		}
		return ch, nil
	}
}

// Rate records the satisfaction rating (1-5); the incident moves to review.
func (e *Engine) Rate(ctx context.Context, id string, by intake.Actor, rating int, comment string) (intake.Changed, error) {
	if rating < 1 || rating > 5 {
		return intake.Changed{}, fmt.Errorf("%w: rating must be 1 to 5", intake.ErrInvalid)
	}
	if err := checkText(comment, MaxTextBytes); err != nil {
		return intake.Changed{}, err
	}
	s := &intake.SurveyResult{Step: intake.SurveySatisfaction, Rating: rating, Comment: comment, Via: by.Via}
	if by.Kind == intake.ActorAgent {
		s.Recorder = by.Name
	}
	return e.answered(ctx, id, by, "")(e.apply(ctx, id, Event{Kind: intake.EventRating, Actor: by}, Change{Survey: s, Note: comment}))
}

// Reask sends the open survey question again (after an unclear answer).
// Give by.Ref a value unique to the step's current entry to ask only once.
func (e *Engine) Reask(ctx context.Context, id string, by intake.Actor) (intake.Changed, error) {
	return e.apply(ctx, id, Event{Kind: intake.EventReask, Actor: by}, Change{})
}

// Comment records something the reporter (or another participant) said.
func (e *Engine) Comment(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error) {
	if err := requireText(text); err != nil {
		return intake.Changed{}, err
	}
	c := &intake.Comment{Author: by.Name, Text: text, Via: by.Via}
	return e.apply(ctx, id, Event{Kind: intake.EventComment, Actor: by}, Change{Comment: c})
}

func (e *Engine) apply(ctx context.Context, id string, ev Event, ch Change) (intake.Changed, error) {
	res, err := e.applied(ctx, id, ev, ch)
	return res.Changed, err
}

// applied is apply, telling also whether the change was a duplicate.
func (e *Engine) applied(ctx context.Context, id string, ev Event, ch Change) (Applied, error) {
	if _, err := intake.ParseID(id); err != nil {
		return Applied{}, err
	}
	if ev.Actor.Kind == "" || ev.Actor.Name == "" {
		return Applied{}, fmt.Errorf("%w: every change needs an actor", intake.ErrInvalid)
	}
	// Only known states reach the plan cache, which must stay bounded.
	if ev.Kind == intake.EventMove && !slices.Contains(intake.States(), ev.To) {
		return Applied{}, fmt.Errorf("%w: unknown state %q (states: %s)", intake.ErrInvalid, intake.Clip(string(ev.To), 40), list(intake.States()))
	}
	if err := checkText(ch.Note, MaxTextBytes); err != nil {
		return Applied{}, err
	}
	now := e.now().UTC()
	ch.Plan, ch.Event, ch.Actor, ch.Via, ch.Ref, ch.At = e.plan(ev), ev.Kind, ev.Actor.Name, ev.Actor.Via, ev.Actor.Ref, now
	if ch.Survey != nil {
		ch.Round = ev.Actor.Round
	}
	for _, t := range []*time.Time{timeOf(ch.Action), timeOf(ch.Comment), timeOf(ch.Survey)} {
		if t != nil {
			*t = now
		}
	}
	res, err := e.store.Apply(ctx, id, ch)
	var re *intake.Refusal
	switch {
	case errors.As(err, &re):
		e.metrics.refused(ev.Kind, re.Code)
	case err == nil:
		e.metrics.applied(ev.Kind)
		if ch.Survey != nil {
			e.metrics.answered(ch.Survey)
			if asked := res.Asked; res.AskedStep == intake.State(ch.Survey.Step) && !asked.IsZero() && !ch.Survey.At.Before(asked) {
				e.metrics.answeredAfter(ch.Survey.Step, ch.Survey.At.Sub(asked))
			}
		}
	}
	return res, err
}

// plan returns PlanFor(ev), computed once per kind of event.
func (e *Engine) plan(ev Event) Plan {
	key := planKey{ev.Kind, ev.To, ev.Actor.Kind, ev.Actor.Admin, ev.Actor.Via, ev.Public}
	if p, ok := e.plans.Load(key); ok {
		plan := p.(Plan)
		plan.Actor = ev.Actor.Name
		return plan
	}
	// The outcomes do not depend on the name: compute with a neutral one.
	neutral := ev
	neutral.Actor.Name = "\x00actor"
	plan := PlanFor(neutral)
	e.plans.Store(key, plan)
	plan.Actor = ev.Actor.Name
	return plan
}

func timeOf(v any) *time.Time {
	switch x := v.(type) {
	case *intake.Action:
		if x != nil {
			return &x.At
		}
	case *intake.Comment:
		if x != nil {
			return &x.At
		}
	case *intake.SurveyResult:
		if x != nil {
			return &x.At
		}
	}
	return nil
}

func requireText(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("%w: text is required", intake.ErrInvalid)
	}
	return checkText(s, MaxTextBytes)
}

func checkText(s string, max int) error {
	if len(s) > max {
		return fmt.Errorf("%w: text longer than %d bytes", intake.ErrInvalid, max)
	}
	if !utf8.ValidString(s) {
		return fmt.Errorf("%w: text is not valid UTF-8", intake.ErrInvalid)
	}
	return nil
}

// Remind asks the open survey question again (a timer).
func (e *Engine) Remind(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error) {
	return e.apply(ctx, id, Event{Kind: intake.EventRemind, Actor: by}, Change{Note: note})
}

// SkipSurvey ends the satisfaction step without a rating, saying why.
func (e *Engine) SkipSurvey(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error) {
	return e.answered(ctx, id, by, "")(e.apply(ctx, id, Event{Kind: intake.EventSkipSurvey, Actor: by}, Change{Note: note}))
}

// Flag marks the incident (an SLA warning or breach), saying why.
func (e *Engine) Flag(ctx context.Context, id string, by intake.Actor, flag, note string) (intake.Changed, error) {
	if flag == "" || strings.ContainsAny(flag, " \t\r\n") {
		return intake.Changed{}, fmt.Errorf("%w: a flag is one word", intake.ErrInvalid)
	}
	return e.apply(ctx, id, Event{Kind: intake.EventSLA, Actor: by}, Change{Flag: flag, Note: note})
}

// Repeat counts another firing of the alert behind an open incident.
func (e *Engine) Repeat(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error) {
	return e.apply(ctx, id, Event{Kind: intake.EventRepeat, Actor: by}, Change{Note: note})
}

// Recovered notes that the alert behind an incident resolved.
func (e *Engine) Recovered(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error) {
	return e.apply(ctx, id, Event{Kind: intake.EventRecovered, Actor: by}, Change{Note: note})
}
