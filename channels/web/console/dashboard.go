package console

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// The dashboard reads the store's indexes: every open incident (by state,
// through the state index) and the incidents registered in the last 30
// days, read whole for their history and surveys. Both reads are capped,
// and the page says so when a cap was reached.
const (
	dashOpenCap   = 10000
	dashWindowCap = 1000
)

// bar is one bar of a chart; Width is its share of the longest, in %.
type bar struct {
	Key   string // a word key, or "" when Label is data (a group)
	Label string
	N     int
	Width int
}

type period struct {
	Days                        int
	Incidents                   int
	MedianSolution, MedianFirst string // "" when nothing to measure
	Reopened                    int
	ReopenRate                  string
	Ratings                     []bar // 5..1
	RatingCount                 int
	AverageRating               string
}

type dashboardView struct {
	ByState, ByPriority, ByGroup []bar
	Open, Warnings, Breaches     int
	Periods                      []period
	Capped                       bool
}

func bars(counts map[string]int, order []string, keyPrefix string) []bar {
	out := []bar{}
	max := 0
	for _, k := range order {
		if counts[k] > max {
			max = counts[k]
		}
	}
	for _, k := range order {
		b := bar{Label: k, N: counts[k]}
		if keyPrefix != "" {
			b.Key = keyPrefix + k
		}
		if max > 0 {
			b.Width = counts[k] * 100 / max
		}
		out = append(out, b)
	}
	return out
}

func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, m me) {
	v, err := s.dashboardData(r.Context())
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	s.render(w, r, http.StatusOK, m.lang, "dashboard", s.view(r, m, "dashboard", v))
}

func (s *Server) dashboardData(ctx context.Context) (dashboardView, error) {
	var v dashboardView
	now := s.d.Now()
	byState, byPriority, byGroup := map[string]int{}, map[string]int{}, map[string]int{}
	var groups []string
	for _, st := range []intake.State{intake.Analysis, intake.Solution, intake.Validation, intake.Satisfaction, intake.Review} {
		f := intake.ListFilter{State: string(st), Limit: 500}
		for {
			page, err := s.d.Lister.List(ctx, f)
			if err != nil {
				return v, err
			}
			for _, inc := range page.Incidents {
				v.Open++
				byState[string(inc.State)]++
				byPriority[string(inc.Priority)]++
				if byGroup[inc.Group] == 0 {
					groups = append(groups, inc.Group)
				}
				byGroup[inc.Group]++
				switch s.slaOf(inc, now).Class {
				case "warning":
					v.Warnings++
				case "breached":
					v.Breaches++
				}
			}
			if page.Next == 0 {
				break
			}
			if v.Open >= dashOpenCap {
				v.Capped = true
				break
			}
			f.Before = page.Next
		}
	}
	slices.Sort(groups)
	v.ByState = bars(byState, []string{"analysis", "solution", "validation", "satisfaction", "review"}, "state.")
	v.ByPriority = bars(byPriority, []string{"P1", "P2", "P3", "P4", "P5"}, "priority.")
	v.ByGroup = bars(byGroup, groups, "")

	// The last 30 days, newest first, read whole.
	var recent []*intake.Incident
	f := intake.ListFilter{Limit: 200}
walk:
	for {
		page, err := s.d.Lister.List(ctx, f)
		if err != nil {
			return v, err
		}
		for _, short := range page.Incidents {
			if short.RegisteredAt.Before(now.AddDate(0, 0, -30)) {
				break walk
			}
			if len(recent) >= dashWindowCap {
				v.Capped = true
				break walk
			}
			inc, err := s.d.Engine.Get(ctx, short.ID)
			if err != nil {
				return v, err
			}
			recent = append(recent, inc)
		}
		if page.Next == 0 {
			break
		}
		f.Before = page.Next
	}
	for _, days := range []int{7, 30} {
		v.Periods = append(v.Periods, summarise(recent, days, now))
	}
	return v, nil
}

// summarise measures the incidents registered in the last days.
func summarise(list []*intake.Incident, days int, now time.Time) period {
	p := period{Days: days}
	var solution, first []time.Duration
	ratings := map[string]int{}
	sum := 0
	for _, inc := range list {
		if inc.RegisteredAt.Before(now.AddDate(0, 0, -days)) {
			continue
		}
		p.Incidents++
		if inc.ReopenCount > 0 {
			p.Reopened++
		}
		if at, ok := inc.EnteredAt[intake.Validation]; ok && !at.IsZero() {
			solution = append(solution, at.Sub(inc.RegisteredAt))
		}
		for _, h := range inc.History {
			if isResponse(h) {
				first = append(first, h.At.Sub(inc.RegisteredAt))
				break
			}
		}
		for _, sv := range inc.Surveys {
			if sv.Step == intake.SurveySatisfaction && sv.Rating >= 1 && sv.Rating <= 5 {
				ratings[strconv.Itoa(sv.Rating)]++
				sum += sv.Rating
				p.RatingCount++
			}
		}
	}
	p.MedianSolution, p.MedianFirst = median(solution), median(first)
	if p.Incidents > 0 {
		p.ReopenRate = strconv.Itoa(p.Reopened*100/p.Incidents) + "\u00a0%"
	}
	if p.RatingCount > 0 {
		p.AverageRating = strconv.FormatFloat(float64(sum)/float64(p.RatingCount), 'f', 1, 64)
	}
	p.Ratings = bars(ratings, []string{"5", "4", "3", "2", "1"}, "")
	return p
}

// isResponse tells whether a history entry is an agent's first response:
// the same acts the SLA counts (workflow's responded).
func isResponse(h intake.HistoryEntry) bool {
	switch intake.EventKind(h.Event) {
	case intake.EventAssign, intake.EventAction, intake.EventMove, intake.EventEscalate, intake.EventRecategorize,
		intake.HistoryNote, intake.EventKnownError:
		return true
	}
	return false
}

func median(ds []time.Duration) string {
	if len(ds) == 0 {
		return ""
	}
	slices.Sort(ds)
	m := ds[len(ds)/2]
	if len(ds)%2 == 0 {
		m = (ds[len(ds)/2-1] + ds[len(ds)/2]) / 2
	}
	return short(m)
}
