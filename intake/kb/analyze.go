package kb

import (
	"strings"
	"unicode"
	"unicode/utf8"

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
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
				return !unicode.IsLetter(r) && !unicode.IsDigit(r)
			})
		}
	}
	// ASCII, most mail: the same, byte by byte, each word a piece of one
	// lowercased copy of the text.
	lower := strings.ToLower(s)
	out := make([]string, 0, len(lower)/6)
	start := -1
	for i := 0; i < len(lower); i++ {
		if c := lower[i]; 'a' <= c && c <= 'z' || '0' <= c && c <= '9' {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			out = append(out, lower[start:i])
			start = -1
		}
	}
	if start >= 0 {
		out = append(out, lower[start:])
	}
	return out
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
