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
