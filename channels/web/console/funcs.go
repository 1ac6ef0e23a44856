package console

import (
	"html/template"
	"time"
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
		"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		// The dashboard's bar charts: rows of 24 units, bars up to 160
		// units wide from x=190 (room for the longest Spanish state
		// name), the count after the bar.
		"rows": func(n int) int { return n*24 + 4 },
		"y":    func(i int) int { return i * 24 },
		"px":   func(pct int) int { return max(pct*160/100, 1) },
		"px2":  func(pct int) int { return 190 + max(pct*160/100, 1) + 6 },
	}
}
