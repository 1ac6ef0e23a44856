// Package templates holds every text a reporter reads, one folder per
// language, embedded in the binary (and optionally overridden from a
// directory, see Overlay). A mail is two files per language:
//
//   - LANG/KIND.tmpl, a text/template with a "subject" and a "text" block
//     (the plain-text part);
//   - LANG/KIND.html, an html/template with a "content" block, shown inside
//     LANG/layout.html (the HTML part).
//
// LANG/shared.tmpl holds what every mail of a language shares: greeting,
// signature, the closing links, and the words for priorities and states.
// Every kind must exist in every language and in both forms.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"
)

//go:embed en es
var files embed.FS

// Files are the embedded templates, for Overlay.
func Files() fs.FS { return files }

// The files of a language folder that are not mail kinds.
const (
	sharedFile = "shared.tmpl"
	layoutFile = "layout.html"
)

// Org is the organisation the mails speak for (config org.*). Its name is
// the signature of every mail; empty fields fall back to the language's
// own words ("The help desk").
type Org struct {
	Name       string
	SupportURL string
	LogoURL    string
}

// Set is the parsed templates of every language.
type Set struct {
	text   map[string]map[string]*template.Template     // lang -> kind -> text template
	html   map[string]map[string]*htmltemplate.Template // lang -> kind -> HTML template
	shared map[string]*template.Template                // lang -> shared blocks
}

// Rendered is a message ready to send.
type Rendered struct {
	Subject string
	Text    string
	HTML    string
}

// Load parses the embedded templates.
func Load() (*Set, error) { return LoadFS(files) }

// LoadFS parses templates from fsys laid out as described in the package
// comment. Every language must have the same kinds, each as text and as
// HTML: a text missing in one language or one form is an error naming the
// file, so it can never reach a reporter half-translated.
func LoadFS(fsys fs.FS) (*Set, error) {
	s := &Set{text: map[string]map[string]*template.Template{}, html: map[string]map[string]*htmltemplate.Template{},
		shared: map[string]*template.Template{}}
	langs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		if err := s.loadLang(fsys, l.Name()); err != nil {
			return nil, err
		}
	}
	if err := checkParity("templates", s.text, func(lang, kind string) string { return lang + "/" + kind + ".tmpl and .html" }); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) loadLang(fsys fs.FS, lang string) error {
	texts, err := fs.Glob(fsys, lang+"/*.tmpl")
	if err != nil {
		return err
	}
	htmls, err := fs.Glob(fsys, lang+"/*.html")
	if err != nil {
		return err
	}
	s.text[lang] = map[string]*template.Template{}
	s.html[lang] = map[string]*htmltemplate.Template{}
	if len(texts) == 0 && len(htmls) == 0 {
		// Kept empty, so that the parity check names the language.
		return nil
	}
	shared, layout := lang+"/"+sharedFile, lang+"/"+layoutFile
	for _, f := range []string{shared, layout} {
		if _, err := fs.Stat(fsys, f); err != nil {
			return fmt.Errorf("template %s is missing: every language needs it", f)
		}
	}
	st, err := template.New(sharedFile).Funcs(textFuncs()).Option("missingkey=error").ParseFS(fsys, shared)
	if err != nil {
		return fmt.Errorf("template %s: %w", shared, err)
	}
	s.shared[lang] = st
	kinds := map[string]bool{}
	for _, name := range texts {
		if path.Base(name) == sharedFile {
			continue
		}
		kind := strings.TrimSuffix(path.Base(name), ".tmpl")
		kinds[kind] = true
		t, err := template.New(kind).Funcs(textFuncs()).Option("missingkey=error").ParseFS(fsys, shared, name)
		if err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
		for _, block := range []string{"subject", "text"} {
			if t.Lookup(block) == nil {
				return fmt.Errorf("template %s: no %q block", name, block)
			}
		}
		s.text[lang][kind] = t
	}
	for _, name := range htmls {
		if path.Base(name) == layoutFile {
			continue
		}
		kind := strings.TrimSuffix(path.Base(name), ".html")
		if !kinds[kind] {
			return fmt.Errorf("template %s has no %s/%s.tmpl: every mail needs its text part too", name, lang, kind)
		}
		// The text file is parsed along, so that the layout can show the
		// subject as the page title; its "text" block is never run as HTML.
		t, err := htmltemplate.New(layoutFile).Funcs(htmlFuncs()).Option("missingkey=error").
			ParseFS(fsys, layout, shared, lang+"/"+kind+".tmpl", name)
		if err != nil {
			return fmt.Errorf("template %s: %w", name, err)
		}
		if t.Lookup("content") == nil {
			return fmt.Errorf("template %s: no \"content\" block", name)
		}
		s.html[lang][kind] = t
	}
	for kind := range kinds {
		if _, ok := s.html[lang][kind]; !ok {
			return fmt.Errorf("template %s/%s.html is missing: every mail needs its HTML part too", lang, kind)
		}
	}
	return nil
}

// checkParity fails when the languages do not all have the same names: a
// text missing in one language must never reach a reporter. The error
// names what one language has and another lacks.
func checkParity[T any](what string, byLang map[string]map[string]T, file func(lang, name string) string) error {
	langs := sortedKeys(byLang)
	if len(langs) == 0 || len(byLang[langs[0]]) == 0 {
		return fmt.Errorf("no %s found", what)
	}
	all := map[string]bool{}
	for _, lang := range langs {
		for name := range byLang[lang] {
			all[name] = true
		}
	}
	var missing []string
	for _, lang := range langs {
		for _, name := range sortedKeys(all) {
			if _, ok := byLang[lang][name]; !ok {
				missing = append(missing, file(lang, name))
			}
		}
	}
	if len(missing) > 0 {
		ref := strings.Join(sortedKeys(byLang[langs[0]]), ",")
		return fmt.Errorf("%s differ between languages: missing %s (%s has [%s])", what, strings.Join(missing, ", "), langs[0], ref)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Langs lists the languages, sorted.
func (s *Set) Langs() []string { return sortedKeys(s.text) }

// Kinds lists the template kinds of one language, sorted.
func (s *Set) Kinds(lang string) []string { return sortedKeys(s.text[lang]) }

// Render executes the kind's subject, text and HTML in lang with data.
func (s *Set) Render(lang, kind string, data any) (Rendered, error) {
	t, ok := s.text[lang][kind]
	if !ok {
		return Rendered{}, fmt.Errorf("no template %q in language %q", kind, lang)
	}
	var subj, text, page bytes.Buffer
	if err := t.ExecuteTemplate(&subj, "subject", data); err != nil {
		return Rendered{}, err
	}
	if err := t.ExecuteTemplate(&text, "text", data); err != nil {
		return Rendered{}, err
	}
	if err := s.html[lang][kind].Execute(&page, data); err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: strings.TrimSpace(subj.String()), Text: strings.TrimSpace(text.String()) + "\n",
		HTML: strings.TrimSpace(page.String()) + "\n"}, nil
}

// Word is one of the shared words of lang (priority_P2, state_validation),
// or "" when there is none.
func (s *Set) Word(lang, name string) string {
	t, ok := s.shared[lang]
	if !ok || t.Lookup(name) == nil {
		return ""
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, nil); err != nil {
		return ""
	}
	return strings.TrimSpace(b.String())
}
