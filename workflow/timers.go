package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// Timers is the timed part of the service model: survey reminders and
// timeouts, and SLA targets. A zero duration turns its step off.
type Timers struct {
	// ValidationReminders are offsets from entering validation.
	ValidationReminders []time.Duration
	// ValidationAcceptAfter: no answer by then counts as "yes" (silence).
	ValidationAcceptAfter time.Duration
	SatisfactionReminders []time.Duration
	// SatisfactionCloseAfter: no rating by then moves the case to review.
	SatisfactionCloseAfter time.Duration
	// SLA holds the targets per priority.
	SLA map[intake.Priority]SLATarget
	// WarnAt is the share of a target after which a warning is raised (0.8).
	WarnAt float64
	// Hours counts SLA time in business hours only; nil counts all hours.
	Hours *BusinessHours
}

// SLATarget is how long the first response and the resolution may take.
type SLATarget struct {
	Response   time.Duration
	Resolution time.Duration
}

// The flags SLA steps set on an incident.
const (
	FlagResponseWarning   = "sla_response_warning"
	FlagResponseBreach    = "sla_response_breach"
	FlagResolutionWarning = "sla_resolution_warning"
	FlagResolutionBreach  = "sla_resolution_breach"
)

// timedStep is one thing the timers must do to an incident.
type timedStep struct {
	kind intake.EventKind // EventRemind, EventAnswerYes (silence), EventSkipSurvey, EventSLA
	flag string
	at   time.Time
	ref  string
	note string
}

// Due lists what is due for the incident at now, in the order to do it,
// and when the next step will be due (zero: nothing more). It is pure.
func (t Timers) Due(inc *intake.Incident, now time.Time) (steps []timedStep, next time.Time) {
	consider := func(s timedStep, done bool) {
		switch {
		case done:
		case !s.at.After(now):
			steps = append(steps, s)
		case next.IsZero() || s.at.Before(next):
			next = s.at
		}
	}
	if inc.State == intake.Closed {
		return nil, time.Time{}
	}
	switch inc.State {
	case intake.Validation:
		t.survey(inc, intake.Validation, t.ValidationReminders, t.ValidationAcceptAfter, now, consider)
	case intake.Satisfaction:
		t.survey(inc, intake.Satisfaction, t.SatisfactionReminders, t.SatisfactionCloseAfter, now, consider)
	}
	t.sla(inc, consider)
	return steps, next
}

// survey plans the reminders and the timeout of an open question. Only
// the latest reminder due is sent (a bot that was down sends one, not
// all), and none once the timeout itself is due.
func (t Timers) survey(inc *intake.Incident, step intake.State, reminders []time.Duration, timeout time.Duration, now time.Time,
	consider func(timedStep, bool)) {
	entered := inc.EnteredAt[step]
	round := fmt.Sprintf("%d", entered.UnixNano())
	if step == intake.Satisfaction && inc.Channel == intake.ChannelEvent {
		// Nobody to survey: a system reported it.
		consider(timedStep{kind: intake.EventSkipSurvey, at: entered, ref: "timer:skip:" + round,
			note: "satisfaction survey skipped: the incident came from a system event"}, false)
		return
	}
	if timeout > 0 {
		s := timedStep{kind: intake.EventSkipSurvey, at: entered.Add(timeout), ref: "timer:timeout:" + round,
			note: fmt.Sprintf("no rating: no answer within %s", timeout)}
		if step == intake.Validation {
			s.kind, s.note = intake.EventAnswerYes, fmt.Sprintf("validated by silence: no answer within %s", timeout)
		}
		if !s.at.After(now) {
			consider(s, false)
			return
		}
		consider(s, false)
	}
	lastRemind := time.Time{}
	for _, h := range inc.History {
		if h.Event == string(intake.EventRemind) && !h.At.Before(entered) && h.At.After(lastRemind) {
			lastRemind = h.At
		}
	}
	for i, d := range reminders {
		if d <= 0 {
			continue
		}
		at := entered.Add(d)
		later := i+1 < len(reminders) && !entered.Add(reminders[i+1]).After(now)
		consider(timedStep{kind: intake.EventRemind, at: at, ref: fmt.Sprintf("timer:remind:%d:%s", i+1, round),
			note: fmt.Sprintf("reminder %d: no answer after %s", i+1, d)}, later || !lastRemind.Before(at))
	}
}

// sla plans the warnings and breaches of the incident's targets.
func (t Timers) sla(inc *intake.Incident, consider func(timedStep, bool)) {
	target, ok := t.SLA[inc.Priority]
	if !ok {
		return
	}
	check := func(what string, d time.Duration, met bool, warnFlag, breachFlag string) {
		if d <= 0 || met {
			return
		}
		breach := t.Hours.Add(inc.RegisteredAt, d)
		breached := !inc.Flags[breachFlag].IsZero()
		if t.WarnAt > 0 && t.WarnAt < 1 {
			warn := t.Hours.Add(inc.RegisteredAt, time.Duration(float64(d)*t.WarnAt))
			consider(timedStep{kind: intake.EventSLA, flag: warnFlag, at: warn, ref: "timer:" + warnFlag,
				note: fmt.Sprintf("%s target of %s for %s is near (due %s)", what, d, inc.Priority, breach.UTC().Format(time.RFC3339))},
				breached || !inc.Flags[warnFlag].IsZero() || !breach.After(warn))
		}
		consider(timedStep{kind: intake.EventSLA, flag: breachFlag, at: breach, ref: "timer:" + breachFlag,
			note: fmt.Sprintf("%s target of %s for %s missed", what, d, inc.Priority)}, breached)
	}
	check("first response", target.Response, responded(inc), FlagResponseWarning, FlagResponseBreach)
	check("resolution", target.Resolution, resolved(inc), FlagResolutionWarning, FlagResolutionBreach)
}

// responded tells whether an agent has acted on the incident.
func responded(inc *intake.Incident) bool {
	if inc.Owner != "" || len(inc.Actions) > 0 || inc.State != intake.Analysis {
		return true
	}
	for _, h := range inc.History {
		switch intake.EventKind(h.Event) {
		case intake.EventAssign, intake.EventAction, intake.EventMove, intake.EventEscalate, intake.EventRecategorize,
			intake.HistoryNote, intake.EventKnownError:
			return true
		}
	}
	return false
}

// resolved tells whether a solution is in place: the case waits for or
// has passed the reporter's validation. A "no" reopens it, and the
// resolution clock (from registration) counts again.
func resolved(inc *intake.Incident) bool {
	switch inc.State {
	case intake.Validation, intake.Satisfaction, intake.Review, intake.Closed:
		return true
	}
	return false
}

// DueClaim is an incident the timers claimed; Lease is the claim's score
// (ms), which DueDone checks so that a change made meanwhile stands.
type DueClaim struct {
	ID    string
	Lease int64
}

// DueQueue keeps incidents by the time the timers must look at them next.
type DueQueue interface {
	ClaimDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]DueClaim, error)
	DueDone(ctx context.Context, c DueClaim, next time.Time) error
}

// Scheduler runs the timers: each tick works only the incidents that are
// due (a sorted set by due time), each claimed by one bot.
type Scheduler struct {
	engine  *Engine
	queue   DueQueue
	timers  Timers
	log     *slog.Logger
	metrics *Metrics
	// Lease hides a claimed incident from other bots while it is worked.
	Lease time.Duration
	Batch int
}

// NewScheduler returns the timers' runner.
func NewScheduler(e *Engine, q DueQueue, t Timers, log *slog.Logger, m *Metrics) *Scheduler {
	return &Scheduler{engine: e, queue: q, timers: t, log: log, metrics: m, Lease: time.Minute, Batch: 100}
}

// timerActor is who the history names for timed steps.
var timerActor = intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "timer"}

// Tick works every incident that is due now and returns how many it
// looked at.
func (s *Scheduler) Tick(ctx context.Context) (int, error) {
	worked := 0
	for {
		claims, err := s.queue.ClaimDue(ctx, s.engine.now(), s.Lease, s.Batch)
		if err != nil || len(claims) == 0 {
			return worked, err
		}
		for _, c := range claims {
			if err := s.work(ctx, c); err != nil {
				// The claim runs out and another tick tries again.
				return worked, err
			}
			worked++
		}
	}
}

func (s *Scheduler) work(ctx context.Context, c DueClaim) error {
	inc, err := s.engine.store.Get(ctx, c.ID)
	if errors.Is(err, intake.ErrNotFound) {
		return s.queue.DueDone(ctx, c, time.Time{})
	}
	if err != nil {
		return err
	}
	now := s.engine.now()
	steps, next := s.timers.Due(inc, now)
	for _, st := range steps {
		by := timerActor
		by.Ref = st.ref
		switch st.kind {
		case intake.EventRemind:
			_, err = s.engine.Remind(ctx, c.ID, by, st.note)
		case intake.EventAnswerYes:
			_, err = s.engine.AnswerValidation(ctx, c.ID, by, true, st.note)
		case intake.EventSkipSurvey:
			_, err = s.engine.SkipSurvey(ctx, c.ID, by, st.note)
		case intake.EventSLA:
			_, err = s.engine.Flag(ctx, c.ID, by, st.flag, st.note)
			if err == nil {
				s.metrics.sla(st.flag, inc.Priority)
			}
		}
		var refused *intake.Refusal
		if errors.As(err, &refused) {
			// The incident moved on meanwhile; the change re-queued it.
			s.log.Info("timed step no longer applies", "incident", c.ID, "step", st.ref, "reason", refused.Code)
			continue
		}
		if err != nil {
			return fmt.Errorf("timer %s on %s: %w", st.ref, c.ID, err)
		}
		s.log.Info("timed step", "incident", c.ID, "step", st.ref, "note", st.note)
	}
	// After a step the change has made the incident due again, and the
	// claim check below leaves it so; the next look files it.
	return s.queue.DueDone(ctx, c, next)
}
