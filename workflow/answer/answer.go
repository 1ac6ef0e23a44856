// Package answer reads a person's reply to a survey question, such as "is it
// working again? YES/NO" or "rate us 1-5", in English or Spanish. Feed it the
// visible text of a reply (after quote stripping); it keeps no state.
package answer

import (
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Kind is what the reply says.
type Kind int

// Kinds of answer. Unclear is the zero value so an unset Answer is never
// mistaken for a decision.
const (
	Unclear Kind = iota
	Yes
	No
	Rating
)

func (k Kind) String() string {
	switch k {
	case Yes:
		return "yes"
	case No:
		return "no"
	case Rating:
		return "rating"
	default:
		return "unclear"
	}
}

// Answer is the parsed reply. Comment is the rest of the text once the answer
// itself is taken out; for Unclear it is the whole text, so nothing a person
// wrote is lost.
type Answer struct {
	Kind    Kind
	Rating  int // 1-5, only for Rating
	Comment string
}

// Phrases are matched on lower-cased text without accents, so "Sí", "SI" and
// "si" are one entry. Negated phrases are taken out before positive ones:
// that is what keeps "no funciona" from reading as "funciona".
var (
	neutralRe = phraseRe(`no problem`, `no worries`, `no hay problema`, `sin problemas?`, `no te preocupes`, `no se preocupe`)
	noRe      = phraseRe(
		`(?:no|not|never|nunca|todavia no|aun no|ya no)\s+(?:\w+\s+){0,2}?(?:works?|working|fixed|solved|resolved|funciona|funcionan|va|anda|resuelto|resuelta|solucionado|solucionada|arreglado|arreglada)`,
		`(?:doesn't|doesnt|don't|dont|didn't|didnt|isn't|isnt|aren't|wasn't|won't)\s+(?:\w+\s+){0,1}?(?:work|working|fixed|solved|resolved)`,
		`todavia no`, `aun no`, `sigue sin funcionar`, `sigue fallando`, `sigue igual`, `sigue roto`, `sigue caido`,
		`sin resolver`, `still (?:broken|failing|down|not working|the same)`, `not yet`, `not really`,
		`no`, `nope`, `nah`, `negativo`, `broken`,
	)
	yesRe = phraseRe(
		`ya funciona`, `ya va`, `ya anda`, `funciona bien`, `funciona`, `funcionan`, `resuelto`, `resuelta`, `solucionado`, `solucionada`, `arreglado`, `arreglada`,
		`it works`, `it'?s working`, `works now`, `working now`, `working again`, `works`, `solved`, `fixed`, `resolved`, `all good`, `todo bien`, `todo ok`,
		`yes`, `yeah`, `yep`, `yup`, `si`, `sip`, `claro`, `correcto`, `afirmativo`, `ok`, `okay`,
	)
	// "4/5", "4 de 5", "4 out of 5", "4 of 5", "4 sobre 5".
	fractionRe = regexp.MustCompile(`\b(\d+)\s*(?:/|de|of|out of|sobre)\s*(\d+)\b`)
	digitRe    = regexp.MustCompile(`\b\d+\b`)
	starsRe    = regexp.MustCompile(`[★⭐]+[☆]*`)
	wordNumRe  = regexp.MustCompile(`\b(one|two|three|four|five|uno|dos|tres|cuatro|cinco)\b`)
	scaleRe    = regexp.MustCompile(`^\s*(?:(?:/|de|of|out of|sobre)\s*(?:5|five|cinco)\b)?\s*(?:stars?|estrellas?|points?|puntos?)?\b`)
	trimChars  = " \t\r\n,.;:!¡?¿-–—()[]\"'"
)

var wordNums = map[string]int{
	"one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
	"uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
}

func phraseRe(alts ...string) *regexp.Regexp {
	return regexp.MustCompile(`\b(?:` + strings.Join(alts, `|`) + `)\b`)
}

// folded is the text lower-cased and stripped of accents, with a map back to
// byte offsets of the original so matches can be cut out of the original.
type folded struct {
	s   string
	off []int // off[i] is the original offset of folded byte i; len(s)+1 long
}

func fold(text string) folded {
	var b strings.Builder
	off := make([]int, 0, len(text)+1)
	for i, r := range text {
		var out string
		switch r {
		case '’', '‘', '`':
			out = "'"
		default:
			var nb strings.Builder
			for _, d := range norm.NFD.String(string(r)) {
				if !unicode.Is(unicode.Mn, d) {
					nb.WriteRune(unicode.ToLower(d))
				}
			}
			out = nb.String()
		}
		for range len(out) {
			off = append(off, i)
		}
		b.WriteString(out)
	}
	off = append(off, len(text))
	return folded{s: b.String(), off: off}
}

type span struct{ start, end int } // folded byte offsets

// Parse classifies a survey reply. Contradictory or ambiguous replies ("yes
// and no", "3 or 4", "sí, un 4") are Unclear: asking again is cheaper than
// acting on a guess.
func Parse(text string) Answer {
	f := fold(text)
	work := []byte(f.s)
	var used []span

	take := func(re *regexp.Regexp) []span {
		var got []span
		for _, m := range re.FindAllIndex(work, -1) {
			got = append(got, span{m[0], m[1]})
			for i := m[0]; i < m[1]; i++ {
				work[i] = ' '
			}
		}
		return got
	}

	take(neutralRe)
	noSpans := take(noRe)
	yesSpans := take(yesRe)
	rating, ratingSpans, ratingBad := findRating(work)

	signals := 0
	for _, n := range []int{len(noSpans), len(yesSpans), len(ratingSpans)} {
		if n > 0 {
			signals++
		}
	}
	if signals != 1 || ratingBad || len(ratingSpans) > 1 {
		return Answer{Kind: Unclear, Comment: strings.Join(strings.Fields(text), " ")}
	}
	var kind Kind
	switch {
	case len(noSpans) > 0:
		kind, used = No, noSpans
	case len(yesSpans) > 0:
		kind, used = Yes, yesSpans
	default:
		kind, used = Rating, ratingSpans
	}
	a := Answer{Kind: kind, Comment: clean(cut(text, f, used))}
	if kind == Rating {
		a.Rating = rating
	}
	return a
}

// findRating looks for exactly one rating. bad reports a rating-shaped value
// out of range ("7/5", "0 stars"), which must not be guessed into range.
func findRating(work []byte) (rating int, spans []span, bad bool) {
	s := string(work)
	add := func(v int, sp span) {
		if v < 1 || v > 5 {
			bad = true
			return
		}
		rating = v
		spans = append(spans, sp)
	}
	blank := func(sp span) {
		for i := sp.start; i < sp.end; i++ {
			work[i] = ' '
		}
	}

	for _, m := range fractionRe.FindAllStringSubmatchIndex(s, -1) {
		num, _ := strconv.Atoi(s[m[2]:m[3]])
		den, _ := strconv.Atoi(s[m[4]:m[5]])
		if den != 5 {
			bad = true
			continue
		}
		sp := span{m[0], m[1]}
		add(num, extendScale(s, sp))
		blank(sp)
	}
	s = string(work)
	for _, m := range starsRe.FindAllStringIndex(s, -1) {
		add(strings.Count(s[m[0]:m[1]], "★")+strings.Count(s[m[0]:m[1]], "⭐"), span{m[0], m[1]})
		blank(span{m[0], m[1]})
	}
	s = string(work)
	for _, m := range digitRe.FindAllStringIndex(s, -1) {
		v, err := strconv.Atoi(s[m[0]:m[1]])
		sp := extendScale(s, span{m[0], m[1]})
		if err != nil || v < 1 || v > 5 {
			// Times, order numbers and the like are comment text, unless
			// they come with a scale ("0 estrellas").
			if sp.end > m[1] && strings.TrimSpace(s[m[1]:sp.end]) != "" {
				bad = true
			}
			continue
		}
		add(v, sp)
	}
	// Number words are common in prose ("one more thing", "dos equipos"),
	// so they only count leading the reply or followed by a scale.
	firstWord := len(s) - len(strings.TrimLeft(s, trimChars))
	for _, m := range wordNumRe.FindAllStringSubmatchIndex(s, -1) {
		sp := extendScale(s, span{m[0], m[1]})
		scaled := strings.TrimSpace(s[m[1]:sp.end]) != ""
		leading := m[0] == firstWord
		alone := strings.TrimLeft(s[sp.end:], " ") == "" || strings.ContainsAny(strings.TrimLeft(s[sp.end:], " ")[:1], ",.;:!-")
		if !scaled && !(leading && alone) {
			continue
		}
		add(wordNums[s[m[2]:m[3]]], sp)
	}
	return rating, spans, bad
}

// extendScale swallows "/5", "de 5", "stars", "estrellas" after a number so
// they do not end up in the comment.
func extendScale(s string, sp span) span {
	if loc := scaleRe.FindStringIndex(s[sp.end:]); loc != nil {
		sp.end += loc[1]
	}
	return sp
}

// cut removes the matched spans from the original text.
func cut(text string, f folded, spans []span) string {
	var b strings.Builder
	prev := 0
	for _, sp := range sortSpans(spans) {
		start, end := f.off[sp.start], f.off[sp.end]
		if start < prev {
			continue
		}
		b.WriteString(text[prev:start])
		b.WriteByte(' ')
		prev = end
	}
	b.WriteString(text[prev:])
	return b.String()
}

func sortSpans(spans []span) []span {
	out := append([]span(nil), spans...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].start < out[j-1].start; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// clean collapses whitespace and drops the punctuation left around a removed
// answer, so "Sí, ya funciona, gracias" leaves "gracias".
func clean(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	for {
		t := strings.Trim(s, trimChars)
		t = strings.Join(strings.Fields(strings.NewReplacer(" ,", ",", " .", ".", " !", "!", ",,", ",").Replace(t)), " ")
		if t == s {
			return s
		}
		s = t
	}
}
