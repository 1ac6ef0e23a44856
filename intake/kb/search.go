package kb

import (
	"slices"
	"sync"

	"github.com/intakebot/intakebot/intake"
)

// Incident text search (the queue's search box) indexes a text's terms in
// Redis when it is written. The text's language is not known well enough
// (a Spanish reporter's incident gets English comments from an agent), so
// both stemmers run: a word stands for its English and its Spanish stem, and
// a query word matches when either of its stems does.

// Terms are the search terms of text: the English and Spanish stems,
// folded, of every word neither language calls a stop word, each once, in
// order of first appearance.
func Terms(text string) []string { return searchTerms(text, wordTerms) }

func searchTerms(text string, of func(word string) []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range Words(text) {
		for _, t := range of(w) {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// QueryWord is one word of a search: it matches a text holding any of
// Terms.
type QueryWord struct {
	Terms []string
	// Prefix is the word as typed, folded: the last word of a query also
	// matches the terms it starts (a word still being typed).
	Prefix string
}

// SearchQuery splits a search into its words; stop words and one-letter words
// are left out, as Terms leaves them out of the index.
func SearchQuery(text string) []QueryWord {
	var out []QueryWord
	for _, w := range Words(text) {
		if ts := wordTerms(w); len(ts) > 0 {
			out = append(out, QueryWord{Terms: ts, Prefix: Fold(w)})
		}
	}
	return out
}

// wordTerms is a word's English and Spanish stems (one when they agree),
// none for a stop word or a one-letter word.
func wordTerms(w string) []string {
	folded := Fold(w)
	if len([]rune(folded)) < 2 {
		return nil
	}
	for _, l := range []intake.Lang{intake.English, intake.Spanish} {
		if isStop(l, w) || isStop(l, folded) {
			return nil
		}
	}
	en, es := Fold(stem(intake.English, w)), Fold(stem(intake.Spanish, w))
	if en == es {
		return []string{en}
	}
	return []string{en, es}
}

// TermCache is Terms with each word's stems remembered: stemming is most
// of a registration's CPU here (two snowball stemmers per word), and a
// help desk's words repeat. Safe for concurrent use; when it holds max
// words it starts again empty.
type TermCache struct {
	mu    sync.Mutex
	words map[string][]string
	max   int
}

// NewTermCache remembers up to max words.
func NewTermCache(max int) *TermCache {
	return &TermCache{words: map[string][]string{}, max: max}
}

// Terms is Terms(text).
func (c *TermCache) Terms(text string) []string {
	return searchTerms(text, func(w string) []string {
		c.mu.Lock()
		ts, ok := c.words[w]
		c.mu.Unlock()
		if ok {
			return ts
		}
		ts = wordTerms(w)
		c.mu.Lock()
		if len(c.words) >= c.max {
			clear(c.words)
		}
		c.words[w] = ts
		c.mu.Unlock()
		return ts
	})
}

// ReportTerms is ReportTerms(lang, text) with each word's analysis
// remembered, as Terms.
func (c *TermCache) ReportTerms(lang intake.Lang, text string) []string {
	out := []string{}
	for _, w := range Words(text) {
		key := string(lang) + "\x00" + w
		c.mu.Lock()
		ts, ok := c.words[key]
		c.mu.Unlock()
		if !ok {
			ts = nil
			if toks := Analyze(lang, w); len(toks) == 1 {
				ts = []string{toks[0].Term}
			}
			c.mu.Lock()
			if len(c.words) >= c.max {
				clear(c.words)
			}
			c.words[key] = ts
			c.mu.Unlock()
		}
		out = append(out, ts...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
