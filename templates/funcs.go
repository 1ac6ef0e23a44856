package templates

import (
	"html"
	htmltemplate "html/template"
	"maps"
	"strings"
	"text/template"
)

// nbsp is the no-break space that keeps an incident number with the word
// after it when a mail client wraps the line.
const nbsp = "\u00a0"

// textFuncs are the functions of the plain-text templates.
func textFuncs() template.FuncMap {
	return template.FuncMap{
		// keep writes id and the text after it joined by a no-break
		// space: "INC-000001 is back" never breaks after the number.
		"keep": func(id, rest string) string { return id + nbsp + rest },
		// nowrap matters in HTML only; plain text does not break inside
		// "INC-000001".
		"nowrap": func(s string) string { return s },
		// indent shows a multi-line text (an agent's note) as a block.
		"indent": func(prefix, s string) string {
			lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n")), "\n")
			for i, l := range lines {
				lines[i] = strings.TrimRight(prefix+l, " \t")
			}
			return strings.Join(lines, "\n")
		},
	}
}

// htmlFuncs are the functions of the HTML templates. The text functions
// are there too, because the mail's text file is parsed along (for the
// subject) and every function it names must exist.
func htmlFuncs() htmltemplate.FuncMap {
	m := htmltemplate.FuncMap(textFuncs())
	maps.Copy(m, htmltemplate.FuncMap{
		// keep writes id and the first word after it in a span that is
		// never wrapped (white-space:nowrap, and a no-break space for the
		// clients that drop styles), then the rest of the text; all of it
		// escaped.
		"keep": func(id, rest string) htmltemplate.HTML {
			first, after, _ := strings.Cut(rest, " ")
			out := `<span style="white-space:nowrap">` + html.EscapeString(id) + "&nbsp;" + html.EscapeString(first) + "</span>"
			if after != "" {
				out += " " + html.EscapeString(after)
			}
			return htmltemplate.HTML(out)
		},
		// nowrap keeps s on one line: browsers may otherwise break an
		// incident number at its hyphen.
		"nowrap": func(s string) htmltemplate.HTML {
			return htmltemplate.HTML(`<span style="white-space:nowrap">` + html.EscapeString(s) + "</span>")
		},
		// lines shows a multi-line text (an agent's note) with its line
		// breaks, escaped.
		"lines": func(s string) htmltemplate.HTML {
			s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
			return htmltemplate.HTML(strings.ReplaceAll(html.EscapeString(s), "\n", "<br>\n"))
		},
	})
	return m
}
