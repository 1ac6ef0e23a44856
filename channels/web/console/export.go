package console

import (
	"encoding/csv"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// MaxExportRows bounds one export, so that a click cannot read the whole
// store; the file says when it was cut.
const MaxExportRows = 10000

// export answers the filtered queue as CSV, newest first, from the same
// filter as the page (all pages, up to MaxExportRows).
func (s *Server) export(w http.ResponseWriter, r *http.Request, m me) {
	f := readFilter(r.URL.Query())
	f.Before = 0
	now := s.d.Now()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="incidents-`+now.UTC().Format("20060102-1504")+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "subject", "state", "priority", "group", "level", "owner", "channel", "reporter", "reporter_email",
		"category", "ci", "registered_at", "sla", "sla_due"})
	n := 0
	for n < MaxExportRows {
		list, next, err := s.rows(r, f, m, min(500, MaxExportRows-n))
		if err != nil {
			// The header is out already: say so in the file, and log it.
			s.d.Log.Error("console export failed", "err", err)
			_ = cw.Write([]string{"# export failed here; see the server log"})
			break
		}
		for _, inc := range list {
			b := s.slaOf(inc, now)
			due := ""
			if !b.Due.IsZero() {
				due = b.Due.UTC().Format(time.RFC3339)
			}
			_ = cw.Write(cells(inc.ID, inc.Subject, string(inc.State), string(inc.Priority), inc.Group, strconv.Itoa(inc.Level), inc.Owner,
				string(inc.Channel), inc.Reporter.Name, inc.Reporter.Email, inc.Category, inc.CI,
				inc.RegisteredAt.UTC().Format(time.RFC3339), b.Class, due))
			n++
		}
		if next == 0 {
			break
		}
		f.Before = next
	}
	if n >= MaxExportRows {
		_ = cw.Write([]string{"# cut at " + strconv.Itoa(MaxExportRows) + " rows: narrow the filters"})
	}
	cw.Flush()
}

// cells neutralises what a spreadsheet would run as a formula: a subject
// a stranger wrote must not compute anything on the agent's machine.
func cells(vs ...string) []string {
	for i, v := range vs {
		if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
			vs[i] = "'" + v
		}
	}
	return vs
}
