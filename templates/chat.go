package templates

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"strings"
	"text/template"
)

// Phrases are the short texts of the chat channel (Slack): messages,
// button labels, modal titles and refusals. Each language has one file,
// LANG/chat/slack.tmpl, of named {{define}} blocks; every name must exist
// in every language.
type Phrases struct {
	byLang map[string]*template.Template
}

// LoadPhrases parses the embedded chat phrases.
func LoadPhrases() (*Phrases, error) { return LoadPhrasesFS(files) }

// LoadPhrasesFS parses phrases from fsys laid out as LANG/chat/*.tmpl.
func LoadPhrasesFS(fsys fs.FS) (*Phrases, error) {
	p := &Phrases{byLang: map[string]*template.Template{}}
	names := map[string]map[string]bool{}
	langs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		files, err := fs.Glob(fsys, path.Join(l.Name(), "chat", "*.tmpl"))
		if err != nil {
			return nil, err
		}
		if len(files) == 0 {
			// Kept empty, so that the parity check names the language.
			names[l.Name()] = map[string]bool{}
			continue
		}
		t, err := template.New(l.Name()).Option("missingkey=error").ParseFS(fsys, files...)
		if err != nil {
			return nil, fmt.Errorf("chat phrases %s: %w", l.Name(), err)
		}
		p.byLang[l.Name()] = t
		names[l.Name()] = map[string]bool{}
		for _, d := range t.Templates() {
			if !strings.HasSuffix(d.Name(), ".tmpl") && d.Name() != l.Name() {
				names[l.Name()][d.Name()] = true
			}
		}
	}
	if err := checkParity("chat phrases", names, func(lang, name string) string { return lang + "/chat: " + name }); err != nil {
		return nil, err
	}
	return p, nil
}

// Names lists the phrases of one language, sorted.
func (p *Phrases) Names(lang string) []string {
	t, ok := p.byLang[lang]
	if !ok {
		return nil
	}
	var out []string
	for _, d := range t.Templates() {
		if !strings.HasSuffix(d.Name(), ".tmpl") && d.Name() != lang {
			out = append(out, d.Name())
		}
	}
	return sortedKeys(setOf(out))
}

func setOf(list []string) map[string]bool {
	m := make(map[string]bool, len(list))
	for _, s := range list {
		m[s] = true
	}
	return m
}

// Text renders one phrase in lang, trimmed of surrounding space.
func (p *Phrases) Text(lang, name string, data any) (string, error) {
	t, ok := p.byLang[lang]
	if !ok || t.Lookup(name) == nil {
		return "", fmt.Errorf("no chat phrase %q in language %q", name, lang)
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("chat phrase %s/%s: %w", lang, name, err)
	}
	return strings.TrimSpace(b.String()), nil
}
