package console

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
)

// PageSize is how many incidents the queue shows at once.
const PageSize = 50

// filter is the queue's query, every part served by the store's indexes.
type filter struct {
	State, Priority, Group string
	Owner                  string // "me", "none" or "" (anyone)
	Channel                string
	SLA                    string // "warning", "breached" or ""
	// Grouped shows the reports grouped under an outage's parent too;
	// by default the parent stands for them (one row, with a count).
	Grouped bool
	Q       string // words to search for
	Before  int64
}

// maxQueryBytes bounds the search box: a few words, not a document.
const maxQueryBytes = 200

func readFilter(q url.Values) filter {
	f := filter{State: q.Get("state"), Priority: q.Get("priority"), Group: q.Get("group"), Owner: q.Get("owner"),
		Channel: q.Get("channel"), SLA: q.Get("sla"), Grouped: q.Get("grouped") == "1", Q: strings.TrimSpace(q.Get("q"))}
	if len(f.Q) > maxQueryBytes {
		f.Q = intake.Clip(f.Q, maxQueryBytes)
	}
	if !intake.State(f.State).Valid() {
		f.State = ""
	}
	if !intake.Priority(f.Priority).Valid() {
		f.Priority = ""
	}
	if f.Owner != "me" && f.Owner != "none" {
		f.Owner = ""
	}
	if !intake.Channel(f.Channel).Valid() {
		f.Channel = ""
	}
	if f.SLA != "warning" && f.SLA != "breached" {
		f.SLA = ""
	}
	if len(f.Group) > intake.MaxNameBytes {
		f.Group = ""
	}
	f.Before, _ = strconv.ParseInt(q.Get("before"), 10, 64)
	return f
}

// query is the filter as a query string, without the page cursor.
func (f filter) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"state": f.State, "priority": f.Priority, "group": f.Group, "owner": f.Owner, "channel": f.Channel, "sla": f.SLA, "q": f.Q} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.Grouped {
		q.Set("grouped", "1")
	}
	return q
}

// sla is an incident's SLA badge: its class (ok, warning, breached, or ""
// when no target runs), and the time left to the resolution target.
type sla struct {
	Class string
	Left  string
	Due   time.Time
}

func (s *Server) slaOf(inc *intake.Incident, now time.Time) sla {
	if inc.State == intake.Closed {
		return sla{}
	}
	var b sla
	switch {
	case !inc.Flags[workflow.FlagResolutionBreach].IsZero() || !inc.Flags[workflow.FlagResponseBreach].IsZero():
		b.Class = "breached"
	case !inc.Flags[workflow.FlagResolutionWarning].IsZero() || !inc.Flags[workflow.FlagResponseWarning].IsZero():
		b.Class = "warning"
	}
	target, ok := s.d.Timers.SLA[inc.Priority]
	resolving := inc.State == intake.Analysis || inc.State == intake.Solution
	if ok && target.Resolution > 0 && resolving {
		b.Due = s.d.Timers.Hours.Add(inc.RegisteredAt, target.Resolution)
		b.Left = short(b.Due.Sub(now))
		if b.Class == "" {
			b.Class = "ok"
		}
	}
	return b
}

// short writes a duration the way a person reads it at a glance: 2d 3h,
// 3h 20m, 12m; negative is overdue (the page says so in its language).
func short(d time.Duration) string {
	neg := d < 0
	if neg {
		d = -d
	}
	var s string
	switch {
	case d >= 48*time.Hour:
		s = strconv.Itoa(int(d/(24*time.Hour))) + "d " + strconv.Itoa(int(d%(24*time.Hour)/time.Hour)) + "h"
	case d >= time.Hour:
		s = strconv.Itoa(int(d/time.Hour)) + "h " + strconv.Itoa(int(d%time.Hour/time.Minute)) + "m"
	default:
		s = strconv.Itoa(int(d/time.Minute)) + "m"
	}
	if neg {
		return "−" + s
	}
	return s
}

type row struct {
	*intake.Incident
	SLA sla
}

type queueView struct {
	F          filter
	Rows       []row
	Older      string // the next page's address, "" on the last
	Newest     string // the first page's address, "" on it
	States     []intake.State
	Priorities []intake.Priority
	Channels   []intake.Channel
	Groups     []string
	Export     string
}

// rows reads one page of the filtered queue, newest first, and the cursor
// of the next (0 on the last): one List, every filter and the search
// served by the store's indexes.
func (s *Server) rows(r *http.Request, f filter, m me, size int) ([]*intake.Incident, int64, error) {
	lf := intake.ListFilter{State: f.State, Priority: f.Priority, Group: f.Group, Channel: f.Channel, SLA: f.SLA,
		Unassigned: f.Owner == "none", Query: f.Q, Before: f.Before, Limit: size}
	if f.Owner == "me" {
		lf.Owner = m.Name
	}
	page, err := s.d.Lister.List(r.Context(), lf)
	if err != nil {
		return nil, 0, err
	}
	if !f.Grouped {
		// An outage's parent stands for its reports (one row, with a
		// count). They are dropped from the page here, not by an index,
		// so a page of mostly grouped reports shows fewer rows; the
		// cursor still pages through every one.
		page.Incidents = slices.DeleteFunc(page.Incidents, func(inc *intake.Incident) bool { return inc.ParentID != "" })
	}
	return page.Incidents, page.Next, nil
}

func (s *Server) queue(w http.ResponseWriter, r *http.Request, m me) {
	f := readFilter(r.URL.Query())
	list, next, err := s.rows(r, f, m, PageSize)
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	now := s.d.Now()
	v := queueView{F: f, States: slices.DeleteFunc(intake.States(), func(st intake.State) bool { return st == intake.NoSolution }),
		Priorities: []intake.Priority{"P1", "P2", "P3", "P4", "P5"},
		Channels:   []intake.Channel{intake.ChannelEmail, intake.ChannelSlack, intake.ChannelWeb, intake.ChannelPhone, intake.ChannelEvent},
		Groups:     s.d.Groups}
	for _, inc := range list {
		v.Rows = append(v.Rows, row{Incident: inc, SLA: s.slaOf(inc, now)})
	}
	q := f.query()
	if next > 0 {
		q.Set("before", strconv.FormatInt(next, 10))
		v.Older = "/console/?" + q.Encode()
		q.Del("before")
	}
	if f.Before > 0 {
		v.Newest = "/console/?" + q.Encode()
	}
	v.Export = "/console/export.csv?" + q.Encode()
	s.render(w, r, http.StatusOK, m.lang, "queue", s.view(r, m, "queue", v))
}
