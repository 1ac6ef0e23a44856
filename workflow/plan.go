package workflow

import (
	"encoding/json"

	"github.com/intakebot/intakebot/intake"
)

// Owner relations a Plan distinguishes: the incident has no owner, the actor
// owns it, or someone else does.
const (
	OwnerNone = iota
	OwnerSelf
	OwnerOther
)

// Plan is Decide evaluated in advance for every fact a store may find, so
// that the store can pick the outcome and apply it in one atomic round trip
// without a read beforehand. Decide stays the only place rules live.
type Plan struct {
	Actor    string                  `json:"actor"`
	Outcomes []Outcome               `json:"outcomes"`
	Pick     map[intake.State][3]int `json:"pick"` // state -> owner relation -> index into Outcomes
}

// Outcome is the decision, or the refusal, for one set of facts.
type Outcome struct {
	Path          []intake.State      `json:"path,omitempty"`
	Events        []intake.EventKind  `json:"events,omitempty"`
	TakeOwnership bool                `json:"own,omitempty"`
	Reopen        bool                `json:"reopen,omitempty"`
	Notify        []intake.NoticeKind `json:"notify,omitempty"`
	Err           *intake.Refusal     `json:"err,omitempty"`
}

// PlanFor evaluates Decide for ev in every state and owner relation.
func PlanFor(ev Event) Plan {
	p := Plan{Actor: ev.Actor.Name, Pick: map[intake.State][3]int{}}
	seen := map[string]int{}
	other := "\x00another agent"
	if ev.Actor.Name == other {
		other += "'"
	}
	for _, s := range intake.States() {
		var pick [3]int
		for rel, owner := range []string{"", ev.Actor.Name, other} {
			if rel == OwnerSelf && owner == "" {
				pick[rel] = pick[OwnerNone]
				continue
			}
			d, err := Decide(Facts{State: s, Owner: owner}, ev)
			o := Outcome{Path: d.Path, Events: d.Events, TakeOwnership: d.TakeOwnership, Reopen: d.Reopen, Notify: d.Notify}
			if err != nil {
				o = Outcome{Err: err.(*intake.Refusal)}
			}
			key, _ := json.Marshal(o)
			i, ok := seen[string(key)]
			if !ok {
				i = len(p.Outcomes)
				seen[string(key)] = i
				p.Outcomes = append(p.Outcomes, o)
			}
			pick[rel] = i
		}
		p.Pick[s] = pick
	}
	return p
}

// For returns the outcome the plan gives for the facts.
func (p Plan) For(f Facts) Outcome {
	rel := OwnerNone
	switch {
	case f.Owner == "":
	case f.Owner == p.Actor:
		rel = OwnerSelf
	default:
		rel = OwnerOther
	}
	pick, ok := p.Pick[f.State]
	if !ok {
		return Outcome{Err: &intake.Refusal{Code: intake.CodeInvalidTransition, State: f.State, Message: "unknown state " + string(f.State)}}
	}
	return p.Outcomes[pick[rel]]
}
