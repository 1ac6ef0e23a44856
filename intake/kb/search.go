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

// TermCache is Terms and ReportTerms with each word's analysis
// remembered: stemming is most of a registration's CPU here (two snowball
// stemmers per word), and a help desk's words repeat. Each text's distinct
// words are looked up together, under one read lock. Safe for concurrent
// use; when it holds max words it starts again empty.
type TermCache struct {
	mu     sync.RWMutex
	search map[string][]string               // word -> wordTerms(word)
	report map[intake.Lang]map[string]string // word -> its Analyze term, "" for none
	size   int
	max    int
}

// NewTermCache remembers up to max words.
func NewTermCache(max int) *TermCache {
	c := &TermCache{max: max}
	c.reset()
	return c
}

func (c *TermCache) reset() {
	c.search = map[string][]string{}
	c.report = map[intake.Lang]map[string]string{}
	c.size = 0
}

// distinct is text's words, each once, in order of first appearance.
func distinct(text string) []string {
	ws := Words(text)
	seen := make(map[string]struct{}, len(ws)/2)
	out := ws[:0]
	for _, w := range ws {
		if _, ok := seen[w]; !ok {
			seen[w] = struct{}{}
			out = append(out, w)
		}
	}
	return out
}

// Terms is Terms(text).
func (c *TermCache) Terms(text string) []string {
	words := distinct(text)
	found := make([][]string, len(words))
	var missing []int
	c.mu.RLock()
	for i, w := range words {
		ts, ok := c.search[w]
		if !ok {
			missing = append(missing, i)
		}
		found[i] = ts
	}
	c.mu.RUnlock()
	if len(missing) > 0 {
		for _, i := range missing {
			found[i] = wordTerms(words[i])
		}
		c.mu.Lock()
		if c.room(len(missing)) {
			for _, i := range missing {
				c.search[words[i]] = found[i]
			}
			c.size += len(missing)
		}
		c.mu.Unlock()
	}
	var out []string
	seen := make(map[string]struct{}, len(words))
	for _, ts := range found {
		for _, t := range ts {
			if _, ok := seen[t]; !ok {
				seen[t] = struct{}{}
				out = append(out, t)
			}
		}
	}
	return out
}

// ReportTerms is ReportTerms(lang, text).
func (c *TermCache) ReportTerms(lang intake.Lang, text string) []string {
	words := distinct(text)
	out := make([]string, 0, len(words))
	var missing []string
	c.mu.RLock()
	known := c.report[lang]
	for _, w := range words {
		t, ok := known[w]
		switch {
		case !ok:
			missing = append(missing, w)
		case t != "":
			out = append(out, t)
		}
	}
	c.mu.RUnlock()
	if len(missing) > 0 {
		terms := make([]string, len(missing))
		for i, w := range missing {
			if toks := Analyze(lang, w); len(toks) == 1 {
				terms[i] = toks[0].Term
				out = append(out, terms[i])
			}
		}
		c.mu.Lock()
		if c.room(len(missing)) {
			if c.report[lang] == nil {
				c.report[lang] = map[string]string{}
			}
			for i, w := range missing {
				c.report[lang][w] = terms[i]
			}
			c.size += len(missing)
		}
		c.mu.Unlock()
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// room makes room for n more words, emptying the cache when they would not
// fit; false when n alone is more than it holds. Callers hold mu.
func (c *TermCache) room(n int) bool {
	if n > c.max {
		return false
	}
	if c.size+n > c.max {
		c.reset()
	}
	return true
}
