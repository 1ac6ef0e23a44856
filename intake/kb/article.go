// Package kb is the pure part of the knowledge base: the article model,
// text analysis (tokenising, accent and case folding, EN/ES stop words and
// stemming), a BM25 index with the matching terms of each hit, Markdown
// rendering and the Markdown-with-front-matter file format. It does no I/O:
// storage and the change stream live with the other Redis code.
package kb

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// Audience says who may read an article.
type Audience string

// The audiences of an article.
const (
	// Public articles may be suggested to reporters.
	Public Audience = "public"
	// Internal articles are for agents only.
	Internal Audience = "internal"
)

// Valid reports whether a is public or internal.
func (a Audience) Valid() bool { return a == Public || a == Internal }

// Text is an article in one language.
type Text struct {
	Title string `json:"title"`
	// Body is Markdown; Render turns it into sanitised HTML.
	Body string `json:"body"`
}

// Article is one knowledge-base entry. It may be written in English,
// Spanish or both: Texts holds one Text per language.
type Article struct {
	ID         string               `json:"id"`
	Texts      map[intake.Lang]Text `json:"texts"`
	Tags       []string             `json:"tags,omitempty"`
	Categories []string             `json:"categories,omitempty"`
	CIs        []string             `json:"cis,omitempty"`
	Audience   Audience             `json:"audience"`
	Author     string               `json:"author,omitempty"`
	Created    time.Time            `json:"created"`
	Updated    time.Time            `json:"updated"`
	// Version counts the saved revisions; the store sets it.
	Version int `json:"version"`
}

// Langs lists the languages the article is written in, English first.
func (a Article) Langs() []intake.Lang {
	var out []intake.Lang
	for _, l := range intake.Langs() {
		if _, ok := a.Texts[l]; ok {
			out = append(out, l)
		}
	}
	return out
}

// Text returns the article in lang, or in its other language when it has
// no text in lang, so a reader always gets something.
func (a Article) Text(lang intake.Lang) (Text, intake.Lang) {
	if t, ok := a.Texts[lang]; ok {
		return t, lang
	}
	for _, l := range a.Langs() {
		return a.Texts[l], l
	}
	return Text{}, lang
}

// HasCI reports whether the article applies to ci.
func (a Article) HasCI(ci string) bool { return ci != "" && slices.Contains(a.CIs, ci) }

// HasCategory reports whether the article applies to category.
func (a Article) HasCategory(c string) bool { return c != "" && slices.Contains(a.Categories, c) }

// idPattern keeps ids safe as Redis key parts, URL path segments and file names.
var idPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,79}$`)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid article")

// Validate reports the first thing that makes a unusable, or nil.
func (a Article) Validate() error {
	if !idPattern.MatchString(a.ID) {
		return fmt.Errorf("%w: id %q must be 1-80 lowercase letters, digits or dashes", ErrInvalid, a.ID)
	}
	if len(a.Texts) == 0 {
		return fmt.Errorf("%w %s: it has no text in any language", ErrInvalid, a.ID)
	}
	for l, t := range a.Texts {
		if !l.Valid() {
			return fmt.Errorf("%w %s: language %q is not en or es", ErrInvalid, a.ID, l)
		}
		if t.Title == "" {
			return fmt.Errorf("%w %s: the %s text has no title", ErrInvalid, a.ID, l)
		}
	}
	if !a.Audience.Valid() {
		return fmt.Errorf("%w %s: audience %q is not public or internal", ErrInvalid, a.ID, a.Audience)
	}
	return nil
}

// DefaultMinScore is the default of kb.suggest.min_score: the score an
// article needs before it is suggested to a reporter. It was chosen on the
// tuning half of testdata/eval (see TestEvaluation): every wrong top
// suggestion there scored below 6.7 and all but one right one above 7.2.
// BM25 scores grow with the size of the KB (rarer words weigh more), so a
// KB much larger than the evaluation set may want a higher value.
const DefaultMinScore = 7.0
