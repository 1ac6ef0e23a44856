package kb

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/intakebot/intakebot/intake"
)

// The file format lets a team keep its KB in Git: one Markdown file per
// article and language, named ID.LANG.md, starting with YAML front matter:
//
//	---
//	id: printer-jam
//	lang: es
//	title: Atascos de impresora
//	tags: [impresora]
//	categories: [hardware]
//	cis: [printer]
//	audience: public
//	author: ana
//	---
//	Markdown body...
//
// The files of one article must agree on everything but lang, title and body.

// frontMatter is the YAML head of an article file.
type frontMatter struct {
	ID         string      `yaml:"id"`
	Lang       intake.Lang `yaml:"lang"`
	Title      string      `yaml:"title"`
	Tags       []string    `yaml:"tags,omitempty"`
	Categories []string    `yaml:"categories,omitempty"`
	CIs        []string    `yaml:"cis,omitempty"`
	Audience   Audience    `yaml:"audience"`
	Author     string      `yaml:"author,omitempty"`
	Created    time.Time   `yaml:"created,omitempty"`
	Updated    time.Time   `yaml:"updated,omitempty"`
	Version    int         `yaml:"version,omitempty"`
}

const fence = "---"

// ParseFile reads one article file: the article with the one language the
// file holds. name is used in error messages only.
func ParseFile(name string, data []byte) (Article, error) {
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	if !strings.HasPrefix(text, fence+"\n") {
		return Article{}, fmt.Errorf("%s: %w: it must start with a --- line and YAML front matter", name, ErrInvalid)
	}
	head, body, ok := strings.Cut(text[len(fence)+1:], "\n"+fence+"\n")
	if !ok {
		// A file may end right after the closing fence.
		if h, found := strings.CutSuffix(text[len(fence)+1:], "\n"+fence); found {
			head, body, ok = h, "", true
		}
	}
	if !ok {
		return Article{}, fmt.Errorf("%s: %w: the front matter has no closing --- line", name, ErrInvalid)
	}
	var fm frontMatter
	dec := yaml.NewDecoder(strings.NewReader(head))
	dec.KnownFields(true) // a misspelt key is an error, not silently ignored
	if err := dec.Decode(&fm); err != nil {
		return Article{}, fmt.Errorf("%s: %w: front matter: %v", name, ErrInvalid, err)
	}
	a := Article{ID: fm.ID, Texts: map[intake.Lang]Text{fm.Lang: {Title: fm.Title, Body: strings.TrimLeft(body, "\n")}},
		Tags: fm.Tags, Categories: fm.Categories, CIs: fm.CIs, Audience: fm.Audience, Author: fm.Author,
		Created: fm.Created, Updated: fm.Updated, Version: fm.Version}
	if err := a.Validate(); err != nil {
		return Article{}, fmt.Errorf("%s: %w", name, err)
	}
	return a, nil
}

// FormatFiles returns the files of a, by file name (ID.LANG.md).
func FormatFiles(a Article) (map[string][]byte, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	for _, l := range a.Langs() {
		t := a.Texts[l]
		head, err := yaml.Marshal(frontMatter{ID: a.ID, Lang: l, Title: t.Title, Tags: a.Tags,
			Categories: a.Categories, CIs: a.CIs, Audience: a.Audience, Author: a.Author,
			Created: a.Created, Updated: a.Updated, Version: a.Version})
		if err != nil {
			return nil, fmt.Errorf("article %s: %w", a.ID, err)
		}
		var buf bytes.Buffer
		buf.WriteString(fence + "\n")
		buf.Write(head)
		buf.WriteString(fence + "\n")
		buf.WriteString(t.Body)
		files[a.ID+"."+string(l)+".md"] = buf.Bytes()
	}
	return files, nil
}

// ReadFS reads every *.md file in the top folder of fsys and merges the
// languages of each article (see ParseFiles).
func ReadFS(fsys fs.FS) ([]Article, error) {
	names, err := fs.Glob(fsys, "*.md")
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{}
	var errs []error
	for _, name := range names {
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		files[name] = data
	}
	arts, err := ParseFiles(files)
	return arts, errors.Join(append(errs, err)...)
}

// ParseFiles parses article files by name and merges the languages of
// each article, in the order of the file names. Every bad file is
// reported, not just the first, and then no article is returned.
func ParseFiles(files map[string][]byte) ([]Article, error) {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	byID := map[string]*Article{}
	var order []string
	var errs []error
	for _, name := range names {
		a, err := ParseFile(name, files[name])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lang := a.Langs()[0]
		if want := a.ID + "." + string(lang) + ".md"; path.Base(name) != want {
			errs = append(errs, fmt.Errorf("%s: %w: id %s in %s must be in a file named %s", name, ErrInvalid, a.ID, lang, want))
			continue
		}
		prev, ok := byID[a.ID]
		if !ok {
			byID[a.ID] = &a
			order = append(order, a.ID)
			continue
		}
		if _, dup := prev.Texts[lang]; dup {
			errs = append(errs, fmt.Errorf("%s: %w: a second %s text of %s", name, ErrInvalid, lang, a.ID))
			continue
		}
		if !sameMeta(*prev, a) {
			errs = append(errs, fmt.Errorf("%s: %w: its tags, categories, CIs, audience, author, dates or version differ from the other language of %s", name, ErrInvalid, a.ID))
			continue
		}
		prev.Texts[lang] = a.Texts[lang]
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make([]Article, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out, nil
}

func sameMeta(x, y Article) bool {
	return slices.Equal(x.Tags, y.Tags) && slices.Equal(x.Categories, y.Categories) &&
		slices.Equal(x.CIs, y.CIs) && x.Audience == y.Audience && x.Author == y.Author &&
		x.Created.Equal(y.Created) && x.Updated.Equal(y.Updated) && x.Version == y.Version
}
