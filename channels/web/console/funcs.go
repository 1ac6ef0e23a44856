package console

import (
	"html/template"
	"strings"
	"time"

	"github.com/intakebot/intakebot/workflow"
)

// Funcs are the template functions the console's pages use besides T.
func Funcs() template.FuncMap {
	return template.FuncMap{
		// when is a time as people read it; the console shows UTC, the
		// same for every agent wherever they are.
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"iso":       func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"changes":   changes,
		"botnote":   botNote,
		"firstline": firstLine,
		// The dashboard's bar charts: rows of 24 units, bars up to 160
		// units wide from x=190 (room for the longest Spanish state
		// name), the count after the bar.
		"rows": func(n int) int { return n*24 + 4 },
		"y":    func(i int) int { return i * 24 },
		"px":   func(pct int) int { return max(pct*160/100, 1) },
		"px2":  func(pct int) int { return 190 + max(pct*160/100, 1) + 6 },
	}
}

// change is one field a history entry changed, as its Detail records it.
type change struct{ Field, Old, New string }

// changes reads a history entry's Detail ("owner: alice -> bob; level: 1
// -> 2", written by the store) so that the page can name each field in
// the agent's language. A part of another shape is shown as it is.
func changes(detail string) []change {
	var out []change
	for _, part := range strings.Split(detail, "; ") {
		field, rest, ok1 := strings.Cut(part, ": ")
		old, new, ok2 := strings.Cut(rest, " -> ")
		if !ok1 || !ok2 {
			out = append(out, change{New: part})
			continue
		}
		out = append(out, change{Field: field, Old: old, New: new})
	}
	return out
}

// botnote is a note the engine wrote itself following an outage (see
// workflow.GroupNote): the page words it in the agent's language.
type botnote struct{ Kind, ID string }

// botNote reads note as a bot-written note, or nil for anything else
// (shown as it is).
func botNote(note string) *botnote {
	kind, id, ok := workflow.GroupNote(note)
	if !ok {
		return nil
	}
	return &botnote{Kind: kind, ID: id}
}

// firstLine is the first line of a text, cut to 80 characters: a known
// error's symptom in a list or a menu.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(line); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return line
}
