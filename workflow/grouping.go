package workflow

import (
	"slices"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// Grouping is the outage-grouping policy: when fifty people report "the
// VPN is down" within minutes, that is one outage, worked once. A new
// report on a CI joins an open outage of that CI (becomes a child of its
// parent incident) when an alert's incident is open there, or when its
// text is alike (kb.Overlap >= MinScore) to an outage whose last report
// came within Window. The decision is pure; the store makes it atomic.
type Grouping struct {
	Enabled  bool
	Window   time.Duration
	MinScore float64
	// Never lists categories whose reports are never grouped (a stolen
	// laptop is never "the same" as another).
	Never []string
}

// Outage is an open outage of a CI that a new report may join.
type Outage struct {
	// Parent is the incident the outage's reports are grouped under.
	Parent string
	// Event: the parent is a system event's incident (an alert): every
	// report on its CI joins while it is open, alike or not, late or not.
	Event bool
	// Last is when the outage's last report arrived.
	Last time.Time
	// Terms are the parent report's terms (kb.Terms).
	Terms []string
}

// Applies says whether a new incident takes part in grouping at all: it
// names a CI and its category is not one never grouped.
func (g Grouping) Applies(inc *intake.Incident) bool {
	return g.Enabled && strings.TrimSpace(inc.CI) != "" && !slices.Contains(g.Never, inc.Category)
}

// Open reports whether the outage still takes reports at now.
func (g Grouping) Open(o Outage, now time.Time) bool {
	return o.Event || now.Sub(o.Last) <= g.Window
}

// Pick chooses the outage a new report with terms joins, or "" for none:
// an alert's outage first (the oldest), else the most alike open outage
// scoring at least MinScore (on a tie, the oldest).
func (g Grouping) Pick(terms []string, open []Outage, now time.Time) string {
	event, best, bestScore := "", "", 0.0
	for _, o := range open {
		switch {
		case o.Event:
			if event == "" || o.Parent < event {
				event = o.Parent
			}
		case g.Open(o, now):
			score := kb.Overlap(terms, o.Terms)
			if score >= g.MinScore && (best == "" || score > bestScore || (score == bestScore && o.Parent < best)) {
				best, bestScore = o.Parent, score
			}
		}
	}
	if event != "" {
		return event
	}
	return best
}
