package quote

import (
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/intakebot/intakebot/channels/email/message"
)

var update = flag.Bool("update", false, "rewrite the .golden files from the current output")

// The golden files were written by reading each body and deciding what its
// sender newly wrote; -update only helps after a reviewed change. The ones
// below are not what a person would pick; their golden file holds the
// current output so that any change in them is noticed too.
var knownLimitations = map[string]string{
	"reply-crisp/email_6.txt":                   "custom signature \"Sent a magnificent torch of pixels\" is kept",
	"reply-crisp/email_with_date_headers.txt":   "template placeholder [DATE] stands where upstream substitutes a header; the quoted mail after it is kept",
	"reply-crisp/email_with_from_headers.txt":   "template placeholder [FROM] stands where upstream substitutes a header",
	"reply-multilang/begins_with_signature.txt": "body is still quoted-printable encoded (\"w=\\nrote:\"), which the MIME layer decodes before Visible runs; the split attribution is missed and garbage stays",
	"reply-multilang/caution.txt":               "gateway banner \"CAUTION: This email originated from outside…\" and the corporate signature are kept",
	"reply-multilang/caution2.txt":              "legal disclaimer and virus-scan footer are kept",
	"reply-multilang/email_3_1.txt":             "unknown client header \"Original Message processed by david®\" is not recognised; the old thread below it is kept",
	"reply-multilang/email_ja_1_1.txt":          "Japanese: only the address-style attribution is handled, no Japanese verbs",
}

// Expected visible text per the talon README: "Hello" for every standard
// reply. Its iphone/sparrow *_reply_text files keep the signature because
// talon only strips quotations; Visible strips signatures too, so "Hello".
var talonHello = []string{
	"android.eml", "aol.eml", "apple_mail.eml", "apple_mail_2.eml", "comcast.eml", "gmail.eml",
	"hotmail.eml", "iphone.eml", "outlook.eml", "sparrow.eml", "thunderbird.eml", "yahoo.eml",
}

type fixture struct {
	name string // corpus/file, the key used in knownLimitations
	path string
}

func fixtures(t testing.TB) []fixture {
	t.Helper()
	var out []fixture
	for _, pattern := range []string{"testdata/*/*.txt", "testdata/*/*.eml", "testdata/*/*.html"} {
		paths, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			out = append(out, fixture{name: filepath.Base(filepath.Dir(p)) + "/" + filepath.Base(p), path: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	if len(out) < 190 {
		t.Fatalf("only %d fixtures found; testdata incomplete", len(out))
	}
	return out
}

// bodyOf turns a fixture into the plain text Visible receives in production.
func bodyOf(t testing.TB, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	switch filepath.Ext(path) {
	case ".eml":
		m, err := message.Parse(raw, message.Options{})
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return m.Text
	case ".html":
		text, err := message.HTMLToText(string(raw))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		return text
	}
	return string(raw)
}

func checkGolden(t *testing.T, f fixture) string {
	t.Helper()
	got := Visible(bodyOf(t, f.path))
	golden := f.path + ".golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return got
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("missing golden file (run with -update after reviewing): %v", err)
	}
	if got != string(want) {
		t.Errorf("Visible(%s) mismatch\n--- got ---\n%s\n--- want ---\n%s", f.name, got, want)
	}
	return got
}

func TestVisibleCorpus(t *testing.T) {
	for _, f := range fixtures(t) {
		if _, limited := knownLimitations[f.name]; limited {
			continue
		}
		t.Run(f.name, func(t *testing.T) { checkGolden(t, f) })
	}
}

func TestVisibleKnownLimitations(t *testing.T) {
	all := map[string]fixture{}
	for _, f := range fixtures(t) {
		all[f.name] = f
	}
	for name, why := range knownLimitations {
		f, ok := all[name]
		if !ok {
			t.Errorf("%s listed as limitation but not in testdata", name)
			continue
		}
		t.Run(name, func(t *testing.T) {
			t.Logf("known limitation: %s", why)
			checkGolden(t, f)
		})
	}
}

func TestVisibleTalonHello(t *testing.T) {
	for _, name := range talonHello {
		t.Run(name, func(t *testing.T) {
			if got := Visible(bodyOf(t, filepath.Join("testdata/reply-talon", name))); got != "Hello" {
				t.Errorf("got %q, want %q", got, "Hello")
			}
		})
	}
}

func TestVisibleCases(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"only quote", "> hola\n> adiós\n", ""},
		{"crlf and trailing spaces", "Hola  \r\n\r\n\r\n\r\nAdiós\r\n", "Hola\n\nAdiós"},
		{"on wrote", "Thanks!\n\nOn Mon, 3 Mar 2025 at 10:00, Ana <ana@example.com> wrote:\n> hi", "Thanks!"},
		{"on wrote split in three", "Done.\nOn Mon, 3 Mar 2025 at 10:00,\nAna <ana@example.com>\nwrote:\n> hi", "Done."},
		{"el escribió", "Gracias\n\nEl 3 mar 2025, a las 10:00, Ana <ana@example.com> escribió:\n> hola", "Gracias"},
		{"el escribió without quote marks", "Gracias\n\nEl lun, 3 mar 2025 a las 10:00, Ana <ana@example.com> escribió:\n\nhola", "Gracias"},
		{"escribio without accent", "Ok\nEl 3/3/2025 10:00, ana@example.com escribio:\n> x", "Ok"},
		{"original message", "Hi\n-----Original Message-----\nFrom: a\nold", "Hi"},
		{"mensaje original", "Hola\n\n-----Mensaje original-----\nDe: a\nviejo", "Hola"},
		{"outlook es enviado", "Hola\n\nDe: Ana <a@example.com>\nEnviado: lunes\nPara: Luis\nAsunto: x\n\nviejo", "Hola"},
		{"outlook es fecha", "Hola\n\nDe: Ana <a@example.com>\nFecha: lunes\nPara: Luis\nAsunto: x\n\nviejo", "Hola"},
		{"outlook en", "Hi\n\nFrom: Ana <a@example.com>\nSent: Monday\nTo: Luis\nSubject: x\n\nold", "Hi"},
		{"from in prose is kept", "Hi\nFrom: the logs I see an error.\nThanks", "Hi\nFrom: the logs I see an error.\nThanks"},
		{"sent from iphone", "Yes\n\nSent from my iPhone", "Yes"},
		{"enviado desde iphone", "Sí\n\nEnviado desde mi iPhone", "Sí"},
		{"enviado desde ipad", "Sí\n\nEnviado desde mi iPad", "Sí"},
		{"blackberry", "No\n\nSent from my BlackBerry", "No"},
		{"get outlook", "Yes\n\nGet Outlook for iOS", "Yes"},
		{"obtener outlook", "Sí\n\nObtener Outlook para iOS<https://aka.ms/o0ukef>", "Sí"},
		{"sent from in a sentence", "Sent from my desk, works fine.", "Sent from my desk, works fine."},
		{"signature", "Hola\n-- \nAna\nContabilidad", "Hola"},
		{"double dash in prose", "a -- b\n-- c", "a -- b\n-- c"},
		{"bottom posting", "On Mon, Ana wrote:\n> q\nanswer", "answer"},
		{"inline", "> q1\na1\n> q2\na2", "a1\na2"},
		{"here is what x wrote", "Here is what Ana wrote:\nthe printer is down", "Here is what Ana wrote:\nthe printer is down"},
		{"nbsp", "Hola\u00a0\n\u00a0\nEl 3 mar 2025, Ana <a@example.com> escribió:\n> x", "Hola"},
		{"headers of the mail itself", "De: Ana <a@example.com>\nEnviado: lunes\nAsunto: x\n\nHola", "Hola"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Visible(tt.in); got != tt.want {
				t.Errorf("Visible(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzVisible checks properties that hold for any input: no panic, valid
// UTF-8 in gives valid UTF-8 out, and Visible only removes lines, it never
// invents or edits one.
func FuzzVisible(f *testing.F) {
	for _, fx := range fixtures(f) {
		body := bodyOf(f, fx.path)
		if len(body) > 64<<10 {
			continue // the 750 KB long-quote fixture would only slow fuzzing
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Visible(in)
		if utf8.ValidString(in) && !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of valid input")
		}
		lines := map[string]bool{}
		for _, l := range splitLines(in) {
			lines[l.text] = true
		}
		for _, l := range strings.Split(out, "\n") {
			if l != "" && !lines[l] {
				t.Fatalf("output line %q is not an input line", l)
			}
		}
	})
}

// TestLongDeviceFooterStillCuts guards the cheap pre-checks in front of the
// regexps: a footer with a long link is still a footer.
func TestLongDeviceFooterStillCuts(t *testing.T) {
	body := "Hello\n\nSent from my iPhone <https://x.test/" + strings.Repeat("a", 300) + ">\n\nthe original, unquoted\n"
	if got := Visible(body); got != "Hello" {
		t.Fatalf("Visible = %q", got)
	}
}
