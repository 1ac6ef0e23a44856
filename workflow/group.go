package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/intakebot/intakebot/intake"
)

// Grouper links incidents into one outage: a parent and its children. The
// Redis store does; each call is idempotent.
type Grouper interface {
	// Group puts child under parent (an agent's doing).
	Group(ctx context.Context, parent, child, actor, via, note string) error
	// Ungroup takes child out of parent's group.
	Ungroup(ctx context.Context, parent, child, actor, via, note string) error
}

// WithGrouper lets the engine follow grouped incidents: a parent's
// validation asks each child's reporter, a "no" detaches that child, the
// parent's closure closes each child once its reporter has answered.
// Without it grouped incidents are worked one by one. Returns e.
func (e *Engine) WithGrouper(g Grouper) *Engine {
	e.groups = g
	return e
}

// groupActor acts on a child on behalf of its parent: the engine follows
// the parent, so it may close a child whoever owns it.
func groupActor(name string) intake.Actor {
	if name == "" {
		name = "intakebot"
	}
	return intake.Actor{Kind: intake.ActorAgent, Name: name, Admin: true, Via: "group"}
}

// MaxGroupAtOnce bounds the incidents one request groups: each is a few
// round trips.
const MaxGroupAtOnce = 100

// Group puts each child under parent (an agent grouping by hand).
func (e *Engine) Group(ctx context.Context, parent string, children []string, by intake.Actor, note string) error {
	if e.groups == nil {
		return fmt.Errorf("%w: grouping is not available", intake.ErrInvalid)
	}
	if by.Kind != intake.ActorAgent {
		return &intake.Refusal{Code: intake.CodeForbidden, Message: "only an agent may group incidents"}
	}
	if len(children) == 0 {
		return fmt.Errorf("%w: name at least one incident to group under %s", intake.ErrInvalid, parent)
	}
	if len(children) > MaxGroupAtOnce {
		return fmt.Errorf("%w: at most %d incidents at once, not %d", intake.ErrInvalid, MaxGroupAtOnce, len(children))
	}
	if err := checkText(note, MaxTextBytes); err != nil {
		return err
	}
	for _, id := range append([]string{parent}, children...) {
		if _, err := intake.ParseID(id); err != nil {
			return err
		}
	}
	for _, child := range children {
		if err := e.groups.Group(ctx, parent, child, by.Name, by.Via, note); err != nil {
			return fmt.Errorf("group %s under %s: %w", child, parent, err)
		}
	}
	return nil
}

// Ungroup takes child out of its parent's group: it is worked on its own
// again. A child of no group is an invalid request.
func (e *Engine) Ungroup(ctx context.Context, child string, by intake.Actor, note string) error {
	if e.groups == nil {
		return fmt.Errorf("%w: grouping is not available", intake.ErrInvalid)
	}
	if by.Kind != intake.ActorAgent {
		return &intake.Refusal{Code: intake.CodeForbidden, Message: "only an agent may ungroup incidents"}
	}
	if err := checkText(note, MaxTextBytes); err != nil {
		return err
	}
	inc, err := e.Get(ctx, child)
	if err != nil {
		return err
	}
	if inc.ParentID == "" {
		return fmt.Errorf("%w: %s is not grouped under another incident", intake.ErrInvalid, child)
	}
	return e.groups.Ungroup(ctx, inc.ParentID, child, by.Name, by.Via, note)
}

// followParent carries a parent's move to its children: into validation
// (each child's reporter is asked, with the parent's note), or closed
// (each child whose reporter has answered closes; the others close when
// they answer, see childAnswered). The parent's move stands whatever
// happens here; a child that cannot follow is logged in the error.
func (e *Engine) followParent(ctx context.Context, id string, to intake.State, by intake.Actor, note string) error {
	if e.groups == nil || (to != intake.Validation && to != intake.Closed) {
		return nil
	}
	parent, err := e.store.Get(ctx, id)
	if err != nil || len(parent.Children) == 0 {
		return err
	}
	var errs []error
	for _, child := range parent.Children {
		inc, err := e.store.Get(ctx, child)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		switch to {
		case intake.Validation:
			err = e.askChild(ctx, parent, inc, by, note)
		case intake.Closed:
			err = e.closeChild(ctx, parent, inc, by.Name)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", child, err))
		}
	}
	return errors.Join(errs...)
}

// askChild takes a child still being worked to validation with the
// parent's note: its reporter gets the question and answers for their
// own incident. Each step carries a Ref, so a repeat changes nothing.
func (e *Engine) askChild(ctx context.Context, parent, child *intake.Incident, by intake.Actor, note string) error {
	ref := fmt.Sprintf("group:%s:r%d", parent.ID, parent.Round)
	steps := map[intake.State][]intake.State{
		intake.Analysis: {intake.Solution, intake.Validation},
		intake.Solution: {intake.Validation},
	}[child.State]
	for _, to := range steps {
		a := groupActor(by.Name)
		a.Ref = ref + ":" + string(to)
		n := fmt.Sprintf("as %s (outage)", parent.ID)
		if to == intake.Validation {
			n = note
		}
		if _, err := e.apply(ctx, child.ID, Event{Kind: intake.EventMove, Actor: a, To: to}, Change{Note: n}); err != nil {
			return err
		}
	}
	return nil
}

// closeChild closes a child whose reporter has answered (it rests in
// review). A child still waiting for its reporter closes when they answer
// or its survey times out; one never asked (grouped after the parent's
// validation) is detached, to be worked on its own.
func (e *Engine) closeChild(ctx context.Context, parent, child *intake.Incident, closer string) error {
	switch child.State {
	case intake.Review:
		a := groupActor(closer)
		a.Ref = "group:" + parent.ID + ":closed"
		_, err := e.apply(ctx, child.ID, Event{Kind: intake.EventMove, Actor: a, To: intake.Closed},
			Change{Note: "closed with " + parent.ID})
		return err
	case intake.Analysis, intake.Solution:
		return e.groups.Ungroup(ctx, parent.ID, child.ID, closer, "group",
			parent.ID+" was closed before this incident was validated: it is worked on its own")
	}
	return nil
}

// childAnswered follows a survey answer of a grouped child: a "no"
// detaches it (it goes back to analysis on its own); reaching review
// while its parent is closed closes it.
func (e *Engine) childAnswered(ctx context.Context, id string, ch intake.Changed, by intake.Actor, note string) error {
	if e.groups == nil || !slices.Contains([]intake.State{intake.Analysis, intake.Review}, ch.State) {
		return nil
	}
	child, err := e.store.Get(ctx, id)
	if err != nil || child.ParentID == "" {
		return err
	}
	if ch.State == intake.Analysis {
		if note == "" {
			note = "the reporter says the service still fails"
		}
		return e.groups.Ungroup(ctx, child.ParentID, id, by.Name, by.Via, note)
	}
	parent, err := e.store.Get(ctx, child.ParentID)
	if err != nil || parent.State != intake.Closed {
		return err
	}
	return e.closeChild(ctx, parent, child, parent.Owner)
}

// WakeGroups wakes the watch route's drain loops after each grouping
// change (it queued change notices), as WakeOnCommit does for the
// Store's changes, so consoles and Slack follow at once.
func WakeGroups(g Grouper, w *Wakeups) Grouper { return wakingGrouper{g, w} }

type wakingGrouper struct {
	Grouper
	wake *Wakeups
}

func (g wakingGrouper) Group(ctx context.Context, parent, child, actor, via, note string) error {
	err := g.Grouper.Group(ctx, parent, child, actor, via, note)
	g.wake.Wake(intake.RouteWatch)
	return err
}

func (g wakingGrouper) Ungroup(ctx context.Context, parent, child, actor, via, note string) error {
	err := g.Grouper.Ungroup(ctx, parent, child, actor, via, note)
	g.wake.Wake(intake.RouteWatch)
	return err
}
