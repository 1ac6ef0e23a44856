package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// KnownErrorStore keeps the known errors (workflow/redisstore). Their keys
// share the knowledge base's hash tag, not the incident's, so an incident
// and its known error's list of incidents cannot change in one script:
// the incident (with its history) is written first, then the lists, by
// LinkIncident, which is idempotent and ordered by the incident's version,
// so a retry repairs lists a crash left behind and a late, older link never
// undoes a newer one.
type KnownErrorStore interface {
	KnownError(ctx context.Context, id string) (kb.KnownError, error)
	CreateKnownError(ctx context.Context, key string, k kb.KnownError, now time.Time) (kb.KnownError, error)
	// LinkIncident records that incident links keID ("" for none) as of
	// its version: it joins keID's list and leaves any other.
	LinkIncident(ctx context.Context, incident, keID string, version int64) error
}

// KnownErrors links incidents to known errors and applies their
// workarounds: what the console, the API, Slack and the CLI share.
type KnownErrors struct {
	engine *Engine
	store  KnownErrorStore
}

// NewKnownErrors returns the known errors' operations on engine's incidents.
func NewKnownErrors(engine *Engine, store KnownErrorStore) *KnownErrors {
	return &KnownErrors{engine: engine, store: store}
}

// Link links the incident to the known error keID (which must exist),
// replacing any other link, in one change that the history records.
func (k *KnownErrors) Link(ctx context.Context, id string, by intake.Actor, keID, note string) (intake.Changed, error) {
	if err := kb.ParseKEID(keID); err != nil {
		return intake.Changed{}, err
	}
	if _, err := k.store.KnownError(ctx, keID); err != nil {
		return intake.Changed{}, err
	}
	// Linking it again changes nothing, and no history entry says that
	// nothing happened; the list is made sure of (a retry repairs it).
	if inc, err := k.engine.Get(ctx, id); err != nil {
		return intake.Changed{}, err
	} else if inc.KnownError == keID {
		return changedOf(inc), k.store.LinkIncident(ctx, id, keID, inc.Version)
	}
	res, err := k.engine.applied(ctx, id, Event{Kind: intake.EventKnownError, Actor: by}, Change{KnownError: keID, Note: note})
	if err != nil {
		return intake.Changed{}, err
	}
	return res.Changed, k.store.LinkIncident(ctx, id, keID, res.Version)
}

// Unlink removes the incident's link to its known error, if any.
func (k *KnownErrors) Unlink(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error) {
	// Unlinking what is not linked changes nothing (a second click, a
	// retry): no history entry.
	inc, err := k.engine.Get(ctx, id)
	if err != nil {
		return intake.Changed{}, err
	}
	if inc.KnownError == "" {
		return changedOf(inc), k.store.LinkIncident(ctx, id, "", inc.Version)
	}
	res, err := k.engine.applied(ctx, id, Event{Kind: intake.EventKnownError, Actor: by}, Change{UnlinkKnownError: true, Note: note})
	if err != nil {
		return intake.Changed{}, err
	}
	return res.Changed, k.store.LinkIncident(ctx, id, "", res.Version)
}

// ApplyWorkaround records the known error's workaround as an action on
// the incident, in the known error's language, and links the incident to
// it, all in one change: one click for the agent.
func (k *KnownErrors) ApplyWorkaround(ctx context.Context, id string, by intake.Actor, keID string) (intake.Changed, error) {
	if err := kb.ParseKEID(keID); err != nil {
		return intake.Changed{}, err
	}
	ke, err := k.store.KnownError(ctx, keID)
	if err != nil {
		return intake.Changed{}, err
	}
	text := WorkaroundAction(ke)
	if err := checkText(text, MaxTextBytes); err != nil {
		return intake.Changed{}, err
	}
	ch := Change{Action: &intake.Action{Author: by.Name, Text: text}, KnownError: keID}
	res, err := k.engine.applied(ctx, id, Event{Kind: intake.EventAction, Actor: by}, ch)
	if err != nil {
		return intake.Changed{}, err
	}
	return res.Changed, k.store.LinkIncident(ctx, id, keID, res.Version)
}

func changedOf(inc *intake.Incident) intake.Changed {
	return intake.Changed{ID: inc.ID, State: inc.State, Owner: inc.Owner, Version: inc.Version}
}

// workaroundIntro opens the action a workaround is recorded as, in the
// known error's language (the workaround's own text follows it).
var workaroundIntro = map[intake.Lang]string{
	intake.English: "Workaround of %s applied: %s",
	intake.Spanish: "Solución temporal de %s aplicada: %s",
}

// WorkaroundAction is the action's text that applying k's workaround records.
func WorkaroundAction(k kb.KnownError) string {
	f, ok := workaroundIntro[k.Lang]
	if !ok {
		f = workaroundIntro[intake.English]
	}
	return fmt.Sprintf(f, k.ID, strings.TrimSpace(k.Workaround))
}

// FromIncident makes a known error from an incident ("make a known error
// from this"): the symptom is what the reporter wrote, in their language,
// on the incident's CI; root cause and workaround come from the agent.
// The incident is linked to it at once.
func (k *KnownErrors) FromIncident(ctx context.Context, id string, by intake.Actor, rootCause, workaround string) (kb.KnownError, error) {
	inc, err := k.engine.Get(ctx, id)
	if err != nil {
		return kb.KnownError{}, err
	}
	symptom := strings.TrimSpace(inc.Subject)
	if d := strings.TrimSpace(inc.Description); d != "" && d != symptom {
		symptom = strings.TrimSpace(symptom + "\n\n" + d)
	}
	lang := inc.Reporter.Language
	if !lang.Valid() {
		lang = intake.English
	}
	ke := kb.KnownError{Lang: lang, Symptom: symptom, RootCause: strings.TrimSpace(rootCause),
		Workaround: strings.TrimSpace(workaround), Status: kb.KEOpen, From: id, Author: by.Name}
	if inc.CI != "" {
		ke.CIs = []string{inc.CI}
	}
	// Refuse before creating: a known error made for an incident that may
	// not be linked now (validation, closed) would be an orphan.
	if _, err := Decide(Facts{State: inc.State, Owner: inc.Owner}, Event{Kind: intake.EventKnownError, Actor: by}); err != nil {
		return kb.KnownError{}, err
	}
	// by.Ref (a console nonce, an API idempotency key) makes a double
	// submit one known error.
	created, err := k.store.CreateKnownError(ctx, by.Ref, ke, k.engine.now())
	if err != nil {
		return kb.KnownError{}, err
	}
	if _, err := k.Link(ctx, id, by, created.ID, ""); err != nil {
		return created, err
	}
	created.Incidents = append(created.Incidents, id)
	return created, nil
}
