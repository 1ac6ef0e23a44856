// Package events turns system events (alerts) into incidents: a generic
// JSON event and Prometheus Alertmanager's webhook, each authenticated
// with a bearer token. A firing alert opens an incident unless one it
// opened is still open (then it counts as a repeat); with nobody to ask,
// the alert itself answers the validation question: resolved is "yes",
// firing again is "no".
package events

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// Event is one alert, in the generic format.
type Event struct {
	Source      string            `json:"source"`
	Fingerprint string            `json:"fingerprint"`
	Severity    string            `json:"severity"`
	Summary     string            `json:"summary"`
	Description string            `json:"description"`
	CI          string            `json:"ci"`
	Status      string            `json:"status"` // firing or resolved
	Labels      map[string]string `json:"labels"`
	// StartsAt tells one firing of an alert from the next; a re-sent
	// notification of the same firing changes nothing.
	StartsAt time.Time `json:"starts_at"`
}

// The statuses an event may have.
const (
	Firing   = "firing"
	Resolved = "resolved"
)

// Incidents is the workflow engine as alerts drive it.
type Incidents interface {
	Register(ctx context.Context, rep intake.Report) (*intake.Incident, error)
	Get(ctx context.Context, id string) (*intake.Incident, error)
	AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error)
	SkipSurvey(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error)
	Repeat(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error)
	Recovered(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error)
}

// Fingerprints remembers the last incident each alert opened.
type Fingerprints interface {
	IncidentOfFingerprint(ctx context.Context, fp string) (string, error)
	SetIncidentOfFingerprint(ctx context.Context, fp, incidentID string) error
}

// Ledger claims each event and records its outcome once.
type Ledger interface {
	Begin(ctx context.Context, key, source string, now time.Time) (*intake.InboundRecord, error)
	Record(ctx context.Context, key string, r intake.InboundRecord) (bool, error)
}

// Level is an impact and urgency pair.
type Level struct {
	Impact  intake.Level `yaml:"impact"`
	Urgency intake.Level `yaml:"urgency"`
}

// Config maps severities to impact and urgency.
type Config struct {
	Severities      map[string]Level
	DefaultSeverity string
}

// Receiver handles events.
type Receiver struct {
	cfg       Config
	incidents Incidents
	fps       Fingerprints
	ledger    Ledger
	log       *slog.Logger
	now       func() time.Time
}

// NewReceiver returns a receiver.
func NewReceiver(cfg Config, inc Incidents, fps Fingerprints, ledger Ledger, log *slog.Logger, now func() time.Time) *Receiver {
	return &Receiver{cfg: cfg, incidents: inc, fps: fps, ledger: ledger, log: log, now: now}
}

// Result is what became of one event.
type Result struct {
	Fingerprint string `json:"fingerprint"`
	Outcome     string `json:"outcome"` // as in the inbound ledger
	Incident    string `json:"incident,omitempty"`
	Reason      string `json:"reason,omitempty"`
}

// ErrInvalid marks an event that can never be handled as sent.
var ErrInvalid = intake.ErrInvalid

// Check fills the defaults of an event and says what is wrong with it.
func (r *Receiver) Check(ev *Event) error {
	ev.Source, ev.Status = strings.TrimSpace(ev.Source), strings.ToLower(strings.TrimSpace(ev.Status))
	ev.Summary = strings.TrimSpace(ev.Summary)
	switch {
	case ev.Source == "":
		return fmt.Errorf("%w: source is required (the system that raised the event)", ErrInvalid)
	case ev.Status == "":
		ev.Status = Firing
	case ev.Status != Firing && ev.Status != Resolved:
		return fmt.Errorf("%w: status must be firing or resolved, not %q", ErrInvalid, ev.Status)
	}
	if ev.Summary == "" && ev.Fingerprint == "" {
		return fmt.Errorf("%w: an event needs a summary or a fingerprint", ErrInvalid)
	}
	if ev.Fingerprint == "" {
		ev.Fingerprint = ev.Summary
	}
	if ev.Severity == "" {
		ev.Severity = r.cfg.DefaultSeverity
	}
	for _, s := range []string{ev.Source, ev.Fingerprint, ev.Severity, ev.CI} {
		if len(s) > intake.MaxNameBytes {
			return fmt.Errorf("%w: source, fingerprint, severity and ci are at most %d bytes", ErrInvalid, intake.MaxNameBytes)
		}
	}
	return nil
}

// Handle records exactly one outcome for a checked event. An error means
// nothing final happened and the sender should retry; every step is
// idempotent.
func (r *Receiver) Handle(ctx context.Context, ev Event) (Result, error) {
	fp := ev.Source + "/" + ev.Fingerprint
	occurrence := ev.StartsAt.UTC().Format(time.RFC3339Nano)
	if ev.StartsAt.IsZero() {
		occurrence = digest(ev.Summary + "\x00" + ev.Description)
	}
	key := "event:" + fp + ":" + occurrence + ":" + ev.Status
	res := Result{Fingerprint: ev.Fingerprint}
	prior, err := r.ledger.Begin(ctx, key, "event/"+fp, r.now())
	if err != nil {
		return res, err
	}
	if prior != nil && prior.Outcome != "" {
		res.Outcome, res.Incident, res.Reason = prior.Outcome, prior.Incident, prior.Reason
		return res, nil
	}
	if res, err = r.apply(ctx, ev, fp, key); err != nil {
		return res, err
	}
	rec := intake.InboundRecord{At: r.now().UTC(), Channel: intake.ChannelEvent, Source: "event/" + fp, From: ev.Source,
		Subject: intake.Clip(firstOf(ev.Summary, ev.Fingerprint), 200), Outcome: res.Outcome, Incident: res.Incident, Reason: res.Reason}
	if _, err := r.ledger.Record(ctx, key, rec); err != nil {
		return res, err
	}
	r.log.Info("system event", "source", ev.Source, "fingerprint", ev.Fingerprint, "status", ev.Status,
		"outcome", res.Outcome, "incident", res.Incident, "reason", res.Reason)
	return res, nil
}

func (r *Receiver) apply(ctx context.Context, ev Event, fp, key string) (Result, error) {
	res := Result{Fingerprint: ev.Fingerprint}
	// One read of the fingerprint decides both whether an incident is open
	// and, if not, which one the next follows: read twice, a concurrent
	// first firing could be seen as "the previous" and opened again.
	last, err := r.fps.IncidentOfFingerprint(ctx, fp)
	if err != nil {
		return res, err
	}
	open, err := r.openIncident(ctx, last)
	if err != nil {
		return res, err
	}
	by := intake.Actor{Kind: intake.ActorSystem, Name: ev.Source, Via: "event", Ref: key}
	if open == nil {
		if ev.Status == Resolved {
			res.Outcome, res.Reason = intake.OutcomeIgnored, "resolved, and no open incident has this fingerprint"
			return res, nil
		}
		return r.open(ctx, ev, fp, last)
	}
	res.Incident = open.ID
	switch {
	case open.State == intake.Validation && ev.Status == Resolved:
		if _, err := r.incidents.AnswerValidation(ctx, open.ID, by, true, "the alert resolved: "+ev.Summary); err != nil {
			return res, refusedOr(err)
		}
		// Nobody to survey: the satisfaction step ends at once (the
		// timers would end it too, should this call not happen).
		skip := by
		skip.Ref += ":skip"
		if _, err := r.incidents.SkipSurvey(ctx, open.ID, skip, "satisfaction survey skipped: the incident came from a system event"); err != nil && !isRefusal(err) {
			return res, err
		}
		res.Outcome = intake.OutcomeSurveyAnswer
	case open.State == intake.Validation:
		if _, err := r.incidents.AnswerValidation(ctx, open.ID, by, false, "the alert fired again: "+ev.Summary); err != nil {
			return res, refusedOr(err)
		}
		res.Outcome = intake.OutcomeSurveyAnswer
	case ev.Status == Resolved:
		if _, err := r.incidents.Recovered(ctx, open.ID, by, "the alert resolved: "+ev.Summary); err != nil {
			return res, refusedOr(err)
		}
		res.Outcome, res.Reason = intake.OutcomeAppended, "recovery recorded"
	default:
		if _, err := r.incidents.Repeat(ctx, open.ID, by, "the alert fired again: "+ev.Summary); err != nil {
			return res, refusedOr(err)
		}
		res.Outcome, res.Reason = intake.OutcomeAppended, string(intake.EventRepeat)
	}
	return res, nil
}

// open registers a new incident for a firing alert. The registration key
// names the incident the alert opened before, so that two bots handling
// the same firing at once open one incident, and the next firing after
// it closed opens another.
func (r *Receiver) open(ctx context.Context, ev Event, fp, previous string) (Result, error) {
	res := Result{Fingerprint: ev.Fingerprint}
	level, ok := r.cfg.Severities[strings.ToLower(ev.Severity)]
	if !ok {
		level = r.cfg.Severities[r.cfg.DefaultSeverity]
	}
	desc := ev.Description
	if len(ev.Labels) > 0 {
		desc = strings.TrimSpace(desc + "\n\n" + labelLines(ev.Labels))
	}
	inc, err := r.incidents.Register(ctx, intake.Report{
		Channel: intake.ChannelEvent, Reporter: intake.Reporter{Name: ev.Source},
		Subject: firstOf(ev.Summary, ev.Fingerprint), Description: desc, CI: ev.CI,
		Impact: level.Impact, Urgency: level.Urgency, RelatedID: previous,
		Key: "event:" + fp + ":after:" + previous, ReportedAt: ev.StartsAt,
	})
	if errors.Is(err, intake.ErrInvalid) {
		res.Outcome, res.Reason = intake.OutcomeIgnored, err.Error()
		return res, nil
	}
	if err != nil {
		return res, err
	}
	if err := r.fps.SetIncidentOfFingerprint(ctx, fp, inc.ID); err != nil {
		return res, err
	}
	res.Outcome, res.Incident = intake.OutcomeCreated, inc.ID
	return res, nil
}

// openIncident returns the incident if it is still open.
func (r *Receiver) openIncident(ctx context.Context, id string) (*intake.Incident, error) {
	if id == "" {
		return nil, nil
	}
	inc, err := r.incidents.Get(ctx, id)
	if errors.Is(err, intake.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if inc.State == intake.Closed {
		return nil, nil
	}
	return inc, nil
}

// isRefusal tells a workflow refusal (the incident moved on meanwhile).
func isRefusal(err error) bool {
	return errors.Is(err, intake.ErrConflict) || errors.Is(err, intake.ErrForbidden)
}

// refusedOr turns a refusal into a retryable error: the incident changed
// between reading and acting, and the retry sees its new state.
func refusedOr(err error) error {
	if isRefusal(err) {
		return fmt.Errorf("the incident changed meanwhile, try again: %w", err)
	}
	return err
}

func labelLines(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%s\n", k, labels[k])
	}
	return strings.TrimSpace(b.String())
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

func firstOf(list ...string) string {
	for _, s := range list {
		if s != "" {
			return s
		}
	}
	return ""
}
