package kb

import (
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

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

// mailText is a 3 KB report of varied prose, as a long mail is: most words
// are a desk's common ones, some appear once.
var mailText = strings.Repeat(`Since this morning Outlook keeps asking for my password and then shows a spinning wheel.
I restarted the laptop twice, cleared the saved credentials in the Windows credential manager and
signed in again with my new password, nothing changed. Colleagues in the same office on the third
floor are fine, and the web version of the mailbox opens normally in the browser. The calendar
reminders for today's meetings did not appear either, so I missed the nine o'clock call with the
finance team. Could someone look at it before the quarterly report deadline on Friday afternoon?
`, 5)

func BenchmarkTermCacheMail(b *testing.B) {
	c := NewTermCache(1000)
	for b.Loop() {
		c.Terms(mailText)
	}
}

func BenchmarkTermCacheReportMail(b *testing.B) {
	c := NewTermCache(1000)
	for b.Loop() {
		c.ReportTerms(intake.English, mailText)
	}
}
