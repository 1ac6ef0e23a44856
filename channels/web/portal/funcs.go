package portal

import (
	"html/template"
	"time"
)

// Funcs are the template functions the portal's pages use besides T.
func Funcs() template.FuncMap {
	return template.FuncMap{
		// when is a date as people read it, the same for everyone (UTC):
		// the portal does not know the reporter's time zone.
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "–"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		// list makes the choices of a form from the page.
		"list": func(v ...string) []string { return v },
	}
}
