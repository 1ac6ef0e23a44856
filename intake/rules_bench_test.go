package intake

import (
	"strings"
	"testing"
	"time"
)

// BenchmarkRegister classifies a typical 3 KB mail report: language,
// category, CI, impact and urgency, the registration's CPU part that runs
// for every mail before anything reaches Redis.
func BenchmarkRegister(b *testing.B) {
	r := testRules(b)
	body := strings.Repeat("Hello team, since this morning the shared drive answers very slowly and some "+
		"files do not open at all. Colleagues on the same floor see the same thing. ", 20)
	rep := Report{Channel: ChannelEmail, Subject: "Shared drive very slow since this morning", Description: body,
		Reporter: Reporter{Name: "Ana", Email: "ana@example.test"}}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Register(rep, now); err != nil {
			b.Fatal(err)
		}
	}
}
