package quote

import (
	"strings"
	"testing"
)

// The cheap guards in front of the regexps must never turn a match away.
func TestGuardsKeepEveryMatch(t *testing.T) {
	for _, l := range []string{
		"-----Original Message-----", "---- VIDAREBEFORDRAT MEDDELANDE ----:", "*** исходное сообщение ***",
		"== Weitergeleitete Nachricht ==", "_____ mensaje reenviado _____:", "  reply message  ",
		strings.Repeat("-", 300) + " Original Message " + strings.Repeat("=", 300),
	} {
		if !separatorRe.MatchString(l) {
			t.Fatalf("test line %q is no separator", l)
		}
		if !couldBeSeparator(l) {
			t.Errorf("couldBeSeparator(%q) = false", l)
		}
	}
	if couldBeSeparator(strings.Repeat("Since this morning Outlook keeps asking for my password. ", 3)) {
		t.Error("a body paragraph passed the separator guard")
	}
}

func FuzzSeparatorGuard(f *testing.F) {
	f.Add("-----Original Message-----")
	f.Add("ſent")
	f.Fuzz(func(t *testing.T, s string) {
		if separatorRe.MatchString(s) && !couldBeSeparator(s) {
			t.Errorf("couldBeSeparator(%q) = false for a separator", s)
		}
	})
}
