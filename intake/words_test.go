package intake

import (
	"strings"
	"testing"
	"unicode"
)

// wordsSlow is words without its ASCII fast path: the reference.
func wordsSlow(s string) string {
	f := strings.FieldsFunc(fold(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsNumber(r) })
	return " " + strings.Join(f, " ") + " "
}

func TestWordsFastPathMatchesUnicodePath(t *testing.T) {
	for _, s := range []string{"", " ", "!!", "Outlook", "  Outlook asks,for my PASSWORD (42)\n\tagain.  ",
		"a-b_c/d", "x1 2y", "Correo caído", "ÁRBOL año", "\x00\x7f~"} {
		if got, want := words(s), wordsSlow(s); got != want {
			t.Errorf("words(%q) = %q, want %q", s, got, want)
		}
	}
}

func FuzzWords(f *testing.F) {
	f.Add("Outlook asks for my PASSWORD (42) again.")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := words(s), wordsSlow(s); got != want {
			t.Errorf("words(%q) = %q, want %q", s, got, want)
		}
	})
}

// The word index answers what a scan of the text for " kw " answers: the
// same offset, for single words and phrases, present, repeated or absent.
func TestWordIndexMatchesTextSearch(t *testing.T) {
	text := words("The VPN drops; the shared drive is slow. Shared drive? VPN again, drive shared, vpnx")
	x := indexWords(text)
	for _, kw := range []string{"vpn", "the", "drive", "shared drive", "drive shared", "shared drive is slow",
		"slow shared", "vpnx", "vp", "printer", "again vpn", "is"} {
		if got, want := x.index(kw), strings.Index(text, " "+kw+" "); got != want {
			t.Errorf("index(%q) = %d, want %d", kw, got, want)
		}
	}
	if got := x.count("drive"); got != 3 {
		t.Errorf("count(drive) = %d, want 3", got)
	}
}

func FuzzWordIndex(f *testing.F) {
	f.Add("The shared drive is slow, the drive", "shared drive")
	f.Fuzz(func(t *testing.T, s, kw string) {
		text, kw := words(s), strings.TrimSpace(words(kw))
		if kw == "" {
			return
		}
		if got, want := indexWords(text).index(kw), strings.Index(text, " "+kw+" "); got != want {
			t.Errorf("index(%q) in %q = %d, want %d", kw, text, got, want)
		}
	})
}
