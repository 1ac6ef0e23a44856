package kb

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"

	"github.com/intakebot/intakebot/intake"
)

// A word stands for its English and its Spanish stem, folded; a query word
// matches a text when they share one.
func TestSearchTermsMatchAcrossAccentsCaseAndInflection(t *testing.T) {
	for _, c := range []struct{ text, query string }{
		{"Error de impresion", "impresión"},
		{"Error de impresión", "IMPRESION"},
		{"La impresora no imprime", "impresoras"},
		{"Every printer is offline", "printers"},
		{"VPN caída", "caida"},
		{"Se atascó el papel", "atascado"},
	} {
		terms := Terms(c.text)
		words := SearchQuery(c.query)
		if len(words) != 1 {
			t.Fatalf("%q: %d query words", c.query, len(words))
		}
		if !slices.ContainsFunc(words[0].Terms, func(q string) bool { return slices.Contains(terms, q) }) {
			t.Errorf("%q (%v) does not match %q (%v)", c.query, words[0].Terms, c.text, terms)
		}
	}
	for _, c := range []struct{ text, query string }{{"printer", "impresora"}, {"vpn", "wifi"}} {
		if slices.ContainsFunc(SearchQuery(c.query)[0].Terms, func(q string) bool { return slices.Contains(Terms(c.text), q) }) {
			t.Errorf("%q matches %q", c.query, c.text)
		}
	}
	// Stop words of either language and one-letter words are no terms.
	if got := Terms("the de la y a no"); len(got) != 0 {
		t.Errorf("stop words indexed: %v", got)
	}
	if got := SearchQuery("the  impresora"); len(got) != 1 || got[0].Prefix != "impresora" {
		t.Errorf("query words: %+v", got)
	}
}

// The cache gives what Terms gives, also once it has started again.
func TestTermCacheGivesTerms(t *testing.T) {
	c := NewTermCache(3)
	for _, text := range []string{"La impresora no imprime", "impresoras y printers", "La impresora no imprime", "VPN caída desde casa"} {
		if got, want := c.Terms(text), Terms(text); !slices.Equal(got, want) {
			t.Errorf("%q: %v, want %v", text, got, want)
		}
	}
	if c.size > 3 || len(c.search) > 3 {
		t.Errorf("the cache holds %d words (%d search), max 3", c.size, len(c.search))
	}
}

// The cached analysis of a report (outage grouping) gives what ReportTerms
// gives, in each language, stop words and accents included; search terms
// and report terms of the same word do not mix in one cache.
func TestTermCacheGivesReportTerms(t *testing.T) {
	c := NewTermCache(50)
	for _, tc := range []struct {
		lang intake.Lang
		text string
	}{
		{intake.Spanish, "La impresora no imprime desde ayer; la impresora está atascada."},
		{intake.English, "The printers are not printing since yesterday"},
		{intake.Spanish, "VPN caída desde casa"},
		{intake.English, "VPN caída desde casa"},
	} {
		for range 2 { // cold, then from the cache
			c.Terms(tc.text)
			if got, want := c.ReportTerms(tc.lang, tc.text), ReportTerms(tc.lang, tc.text); !slices.Equal(got, want) {
				t.Errorf("%s %q: %v, want %v", tc.lang, tc.text, got, want)
			}
		}
	}
}

// Words' ASCII path splits as its Unicode path does.
func FuzzWords(f *testing.F) {
	f.Add("Outlook asks for my PASSWORD (42) again.")
	f.Fuzz(func(t *testing.T, s string) {
		want := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
		if got := Words(s); !slices.Equal(got, want) {
			t.Errorf("Words(%q) = %q, want %q", s, got, want)
		}
	})
}

// Texts analysed at once, with a cache small enough to start again while
// they run, each get their own terms (run with -race).
func TestTermCacheConcurrentUse(t *testing.T) {
	c := NewTermCache(8)
	texts := []string{"La impresora no imprime desde ayer", "The VPN drops every hour", "Outlook asks for my password again"}
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			text := texts[i%len(texts)]
			for range 50 {
				if got, want := c.Terms(text), Terms(text); !slices.Equal(got, want) {
					t.Errorf("%q: %v, want %v", text, got, want)
					return
				}
				if got, want := c.ReportTerms(intake.Spanish, text), ReportTerms(intake.Spanish, text); !slices.Equal(got, want) {
					t.Errorf("%q: %v, want %v", text, got, want)
					return
				}
			}
		})
	}
	wg.Wait()
}
