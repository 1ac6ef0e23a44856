package kb

import (
	"slices"

	"github.com/intakebot/intakebot/intake"
)

// ReportTerms is the set of index terms of a text (Analyze's stems), sorted and
// without repeats: what outage grouping compares and keeps of a report.
func ReportTerms(lang intake.Lang, text string) []string {
	toks := Analyze(lang, text)
	out := make([]string, 0, len(toks))
	for _, t := range toks {
		out = append(out, t.Term)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Overlap scores how alike two reports are, 0 to 1: the terms they share
// over the terms of the shorter one (the overlap coefficient). A short
// report ("VPN down") that says nothing but what a longer one says scores
// 1; two texts with nothing in common score 0. Both must be sorted sets
// (ReportTerms).
func Overlap(a, b []string) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	shared := 0
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] == b[j]:
			shared++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return float64(shared) / float64(min(len(a), len(b)))
}
