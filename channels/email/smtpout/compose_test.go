package smtpout

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/intakebot/intakebot/intake"
)

func TestCleanMsgID(t *testing.T) {
	for in, want := range map[string]string{
		"abc@example.test":          "abc@example.test",
		"<abc@example.test>":        "abc@example.test",
		" <abc@example.test> ":      "abc@example.test",
		"CAF=x+y/z@mail.gmail.test": "CAF=x+y/z@mail.gmail.test",
		"":                          "",
		"<>":                        "",
		"no-at-sign":                "",
		"a b@example.test":          "",
		"a@example.test>\r\nBcc: x": "",
		"a<b@example.test":          "",
		"ñ@example.test":            "",
	} {
		if got := cleanMsgID(in); got != want {
			t.Errorf("cleanMsgID(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCleanText(t *testing.T) {
	for in, want := range map[string]string{
		"Plain subject":                  "Plain subject",
		"Mañana sin correo":              "Mañana sin correo",
		"Line one\r\nBcc: x@evil.test":   "Line one Bcc: x@evil.test",
		"tab\there\x00nul\x7fdel\u0085x": "tab here nul del x",
		"\r\n":                           "",
	} {
		if got := cleanText(in); got != want {
			t.Errorf("cleanText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTextToHTMLBody(t *testing.T) {
	for _, tc := range []struct {
		name, text, want string
	}{
		{"escaping", `a <b> & "c"`, `<p>a &lt;b&gt; &amp; &#34;c&#34;</p>`},
		{"paragraphs and line breaks", "one\ntwo\n\n\n  \nthree\r\n\r\nfour", "<p>one<br>\ntwo</p>\n<p>three</p>\n<p>four</p>"},
		{"link", "see https://x.test/a?b=1&c=2 now", `<p>see <a href="https://x.test/a?b=1&amp;c=2">https://x.test/a?b=1&amp;c=2</a> now</p>`},
		{"link then full stop", "at http://x.test/a.", `<p>at <a href="http://x.test/a">http://x.test/a</a>.</p>`},
		{"link in parentheses", "(https://x.test/a)", `<p>(<a href="https://x.test/a">https://x.test/a</a>)</p>`},
		{"link with its own parentheses", "https://x.test/wiki/A_(b)", `<p><a href="https://x.test/wiki/A_(b)">https://x.test/wiki/A_(b)</a></p>`},
		{"link ends at angle bracket", "<https://x.test/a>", `<p>&lt;<a href="https://x.test/a">https://x.test/a</a>&gt;</p>`},
		{"quote cannot break the attribute", `https://x.test/a"onmouseover="x`, `<p><a href="https://x.test/a">https://x.test/a</a>&#34;onmouseover=&#34;x</p>`},
		{"two links", "http://a.test and HTTPS://b.test", `<p><a href="http://a.test">http://a.test</a> and <a href="HTTPS://b.test">HTTPS://b.test</a></p>`},
		{"bare scheme is text", "https:// and http://.", `<p>https:// and http://.</p>`},
		{"javascript is not a link", "javascript:alert(1)", `<p>javascript:alert(1)</p>`},
		{"accents kept", "¿Está resuelto?", `<p>¿Está resuelto?</p>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := textToHTML(tc.text, intake.Spanish)
			head := "<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n</head>\n<body>\n"
			body, ok := strings.CutPrefix(got, head)
			if !ok {
				t.Fatalf("document head = %q", got)
			}
			body, ok = strings.CutSuffix(body, "\n</body>\n</html>\n")
			if !ok || body != tc.want {
				t.Errorf("body = %q\nwant   %q", body, tc.want)
			}
		})
	}
}

// FuzzTextToHTML checks that no text escapes its markup: whatever the input,
// the only tags in the output are the ones textToHTML writes.
func FuzzTextToHTML(f *testing.F) {
	// Ⱥ grows when lower-cased: the URL search once sliced past the end.
	for _, s := range []string{"", "a <b>", "https://x.test/a\"b", "http://\n\nhttps://(x)", "¿Qué?",
		strings.Repeat("Ⱥ", 12) + "http://a", "ȺHTTPS://X.TEST/Ⱥ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		out := textToHTML(text, intake.English)
		if utf8.ValidString(text) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input %q", text)
		}
		for _, tag := range strings.Split(out, "<")[1:] {
			name, _, _ := strings.Cut(tag, ">")
			name, _, _ = strings.Cut(name, " ")
			switch name {
			case "!DOCTYPE", "html", "/html", "head", "/head", "meta", "body", "/body", "p", "/p", "br", "a", "/a":
			default:
				t.Fatalf("unexpected tag %q in output for %q", name, text)
			}
		}
	})
}
