package kb

import (
	"strings"
	"unicode"

	"github.com/kljensen/snowball/english"
	"github.com/kljensen/snowball/spanish"
	"golang.org/x/text/unicode/norm"

	"github.com/intakebot/intakebot/intake"
)

// Fold lowercases s and strips accents ("Atascó" -> "atasco", "Ñandú" ->
// "nandu"), so a reporter who types without accents still matches.
func Fold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if unicode.Is(unicode.Mn, r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Words splits s into lowercase words (letters and digits), keeping accents:
// the Spanish stemmer needs them.
func Words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// Token is a word of a text after analysis.
type Token struct {
	// Word is the folded surface form, shown as a matching term.
	Word string
	// Term is the folded stem, what the index compares.
	Term string
}

// Analyze turns text into index terms for lang: words, minus the
// language's stop words, stemmed, then folded. Stemming happens before
// folding because the Spanish stemmer relies on the accents.
func Analyze(lang intake.Lang, text string) []Token {
	var out []Token
	for _, w := range Words(text) {
		folded := Fold(w)
		if len([]rune(folded)) < 2 || isStop(lang, w) || isStop(lang, folded) {
			continue
		}
		out = append(out, Token{Word: folded, Term: Fold(stem(lang, w))})
	}
	return out
}

func isStop(lang intake.Lang, w string) bool {
	if lang == intake.Spanish {
		return spanish.IsStopWord(w)
	}
	return english.IsStopWord(w)
}

func stem(lang intake.Lang, w string) string {
	if lang == intake.Spanish {
		return spanish.Stem(w, false)
	}
	return english.Stem(w, false)
}
