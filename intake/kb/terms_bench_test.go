package kb

import "testing"

const benchText = "Outlook does not open since this morning\nHello, since 9:00 Outlook shows a spinning wheel and nothing else. Colleagues are fine."

// The search terms of a typical registration's subject and description.
func BenchmarkTerms(b *testing.B) {
	for b.Loop() {
		Terms(benchText)
	}
}

func BenchmarkTermCache(b *testing.B) {
	c := NewTermCache(1000)
	for b.Loop() {
		c.Terms(benchText)
	}
}
