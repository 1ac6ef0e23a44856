package workflow

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// BenchmarkPrepare is the CPU cost of registration before the store:
// checks, classification and, with a KB, the suggestions (two searches of
// the in-memory index). Compare none, the seed (24 texts) and 10,000
// generated articles.
func BenchmarkPrepare(b *testing.B) {
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium})
	if err != nil {
		b.Fatal(err)
	}
	seed, err := kb.Seed()
	if err != nil {
		b.Fatal(err)
	}
	rep := intake.Report{Channel: intake.ChannelEmail, Subject: "The printer jams on every page",
		Description: "Hello, since 9:00 the printer on floor 2 jams with every sheet and shows a paper error.",
		Reporter:    intake.Reporter{Name: "Ana", Email: "ana@example.test"}}
	for _, c := range []struct {
		name string
		kb   func() []kb.Article
	}{{"none", nil}, {"seed", func() []kb.Article { return seed }}, {"10k", func() []kb.Article { return append(generatedArticles(10000), seed...) }}} {
		b.Run(c.name, func(b *testing.B) {
			e := NewEngine(nil, rules, nil, time.Now)
			if c.kb != nil {
				e.UseKB(Suggestions{Index: kb.NewIndex(c.kb()...), MinScore: kb.DefaultMinScore})
			}
			for b.Loop() {
				if _, err := e.prepare(b.Context(), rep); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// generatedArticles are n articles of Zipf-distributed made-up words, with
// a few real ones mixed in so that a real report matches many of them.
func generatedArticles(n int) []kb.Article {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%dx", i)
	}
	real := []string{"printer", "page", "paper", "error", "floor", "sheet", "impresora", "papel", "error", "hoja"}
	words := func(k int) string {
		ws := make([]string, k)
		for i := range ws {
			if rng.IntN(20) == 0 {
				ws[i] = real[rng.IntN(len(real))]
			} else {
				ws[i] = vocab[int(float64(len(vocab))*rng.Float64()*rng.Float64()*rng.Float64())]
			}
		}
		return strings.Join(ws, " ")
	}
	out := make([]kb.Article, n)
	for i := range out {
		lang := intake.Langs()[i%2]
		out[i] = kb.Article{ID: fmt.Sprintf("gen-%d", i), Audience: kb.Public,
			Texts: map[intake.Lang]kb.Text{lang: {Title: words(6), Body: words(150)}}}
	}
	return out
}
