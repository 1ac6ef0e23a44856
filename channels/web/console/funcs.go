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
	}
}
