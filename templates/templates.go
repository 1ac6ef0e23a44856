// Package templates holds every text a reporter reads, one folder per
// language, embedded in the binary. Each template file defines a "subject"
// and a "text" block; a file must exist in every language folder.
package templates

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
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
	if err := s.checkParity(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Set) checkParity() error {
	var ref string
	for _, lang := range s.Langs() {
		kinds := strings.Join(s.Kinds(lang), ",")
		if ref == "" {
			ref = kinds
			continue
		}
		if kinds != ref {
			return fmt.Errorf("templates differ between languages: %s has [%s], %s has [%s]", s.Langs()[0], ref, lang, kinds)
		}
	}
	if len(s.byLang) == 0 {
		return fmt.Errorf("no templates found")
	}
	return nil
}

// Langs lists the languages, sorted.
func (s *Set) Langs() []string {
	out := make([]string, 0, len(s.byLang))
	for l := range s.byLang {
		out = append(out, l)
	}
	sort.Strings(out)
	return out
}

// Kinds lists the template kinds of one language, sorted.
func (s *Set) Kinds(lang string) []string {
	out := make([]string, 0, len(s.byLang[lang]))
	for k := range s.byLang[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

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
