// Package templates holds every text a reporter reads, one folder per
// language, embedded in the binary. Each template file defines a "subject"
// and a "text" block; a file must exist in every language folder.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"strings"
	"text/template"
)

//go:embed en es
var files embed.FS

// Set is the parsed templates of every language.
type Set struct {
	byLang map[string]map[string]*template.Template // lang -> kind -> template
}

// Rendered is a message ready to send.
type Rendered struct {
	Subject string
	Text    string
}

// Load parses the embedded templates.
func Load() (*Set, error) { return LoadFS(files) }

// LoadFS parses templates from fsys laid out as LANG/KIND.tmpl. Every
// language must have the same kinds: a text missing in one language is an
// error, so it can never reach a reporter half-translated.
func LoadFS(fsys fs.FS) (*Set, error) {
	s := &Set{byLang: map[string]map[string]*template.Template{}}
	langs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		names, err := fs.Glob(fsys, l.Name()+"/*.tmpl")
		if err != nil {
			return nil, err
		}
		s.byLang[l.Name()] = map[string]*template.Template{}
		for _, name := range names {
			kind := strings.TrimSuffix(path.Base(name), ".tmpl")
			t, err := template.New(kind).Option("missingkey=error").ParseFS(fsys, name)
			if err != nil {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
			for _, block := range []string{"subject", "text"} {
				if t.Lookup(block) == nil {
					return nil, fmt.Errorf("template %s: no %q block", name, block)
				}
			}
			s.byLang[l.Name()][kind] = t
		}
	}
	if err := checkParity("templates", s.byLang); err != nil {
		return nil, err
	}
	return s, nil
}

// checkParity fails when the languages do not all have the same names: a
// text missing in one language must never reach a reporter.
func checkParity[T any](what string, byLang map[string]map[string]T) error {
	langs := sortedKeys(byLang)
	if len(langs) == 0 || len(byLang[langs[0]]) == 0 {
		return fmt.Errorf("no %s found", what)
	}
	ref := strings.Join(sortedKeys(byLang[langs[0]]), ",")
	for _, lang := range langs[1:] {
		if names := strings.Join(sortedKeys(byLang[lang]), ","); names != ref {
			return fmt.Errorf("%s differ between languages: %s has [%s], %s has [%s]", what, langs[0], ref, lang, names)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// Langs lists the languages, sorted.
func (s *Set) Langs() []string { return sortedKeys(s.byLang) }

// Kinds lists the template kinds of one language, sorted.
func (s *Set) Kinds(lang string) []string { return sortedKeys(s.byLang[lang]) }

// Render executes the kind's subject and text in lang with data.
func (s *Set) Render(lang, kind string, data any) (Rendered, error) {
	t, ok := s.byLang[lang][kind]
	if !ok {
		return Rendered{}, fmt.Errorf("no template %q in language %q", kind, lang)
	}
	var subj, text bytes.Buffer
	if err := t.ExecuteTemplate(&subj, "subject", data); err != nil {
		return Rendered{}, err
	}
	if err := t.ExecuteTemplate(&text, "text", data); err != nil {
		return Rendered{}, err
	}
	return Rendered{Subject: strings.TrimSpace(subj.String()), Text: strings.TrimSpace(text.String()) + "\n"}, nil
}
