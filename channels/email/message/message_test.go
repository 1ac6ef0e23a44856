package message

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	netmail "net/mail"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

func corpus(t testing.TB, dir string) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", dir, "*.eml"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	sort.Strings(paths)
	return paths
}

func parseFile(t testing.TB, path string) (*Message, error) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return Parse(raw, Options{})
}

var detector = Detector{OwnAddresses: []string{"ayuda@example.com"}, LoopHeader: "X-Intakebot-Loop"}

func TestAutomatedCorpus(t *testing.T) {
	tests := []struct {
		dir        string
		wantReason string // "" means must not be flagged
	}{
		{"auto-and-bounce/autoreply-rfc3834", ReasonAutoReply},
		{"auto-and-bounce/bounce", ReasonBounce},
		{"reply-talon", ""},
	}
	for _, tt := range tests {
		for _, path := range corpus(t, tt.dir) {
			t.Run(path, func(t *testing.T) {
				m, err := parseFile(t, path)
				if m == nil {
					t.Fatalf("Parse: %v", err)
				}
				reason, ok := detector.Automated(m)
				if ok != (tt.wantReason != "") || reason != tt.wantReason {
					t.Errorf("Automated = %q, %v; want %q", reason, ok, tt.wantReason)
				}
			})
		}
	}
}

func TestAutomatedNotBounce(t *testing.T) {
	tests := []struct {
		file       string
		wantReason string
	}{
		{"is-not-bounce-01.eml", ""},
		{"is-not-bounce-02.eml", ""}, // carries a bounce-looking message/rfc822 attachment
		// Upstream files this as "not a bounce" because it lacks a parseable
		// DSN, yet it has Return-Path <>, Auto-Submitted: auto-replied, comes
		// from postmaster@ and says "automatic bounce notification ... don't
		// reply". Answering it is the mail loop this check exists to stop.
		{"rb-issue-368-bug.eml", ReasonBounce},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			m, err := parseFile(t, filepath.Join("testdata/auto-and-bounce/not-bounce", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			reason, ok := detector.Automated(m)
			if ok != (tt.wantReason != "") || reason != tt.wantReason {
				t.Errorf("Automated = %q, %v; want %q", reason, ok, tt.wantReason)
			}
		})
	}
}

func header(lines ...string) []byte {
	base := []string{"From: Ana <ana@example.com>", "To: ayuda@example.com", "Subject: x", "Date: Mon, 3 Mar 2025 10:00:00 +0100"}
	return []byte(strings.Join(append(append(base, lines...), "", "Hola"), "\r\n"))
}

func TestDetector(t *testing.T) {
	tests := []struct {
		name       string
		raw        []byte
		det        Detector
		wantReason string
	}{
		{"plain human mail", header(), detector, ""},
		{"auto-submitted no", header("Auto-Submitted: no"), detector, ""},
		{"auto-submitted auto-generated", header("Auto-Submitted: auto-generated"), detector, ReasonAutoReply},
		{"auto-submitted with params", header("Auto-Submitted: Auto-Replied; owner-email=x@y"), detector, ReasonAutoReply},
		{"precedence bulk", header("Precedence: bulk"), detector, ReasonAutoReply},
		{"precedence junk", header("Precedence: JUNK"), detector, ReasonAutoReply},
		{"precedence list", header("Precedence: list"), detector, ReasonAutoReply},
		{"precedence auto_reply", header("Precedence: auto_reply"), detector, ReasonAutoReply},
		{"precedence first-class", header("Precedence: first-class"), detector, ""},
		{"x-autoreply", header("X-Autoreply: yes"), detector, ReasonAutoReply},
		{"x-autorespond", header("X-Autorespond: 1"), detector, ReasonAutoReply},
		{"x-auto-response-suppress all", header("X-Auto-Response-Suppress: All"), detector, ReasonAutoReply},
		{"x-auto-response-suppress oof", header("X-Auto-Response-Suppress: DR, OOF"), detector, ReasonAutoReply},
		{"x-auto-response-suppress receipts only", header("X-Auto-Response-Suppress: DR, RN, NRN"), detector, ""},
		{"null return-path", header("Return-Path: <>"), detector, ReasonBounce},
		{"mailer-daemon", []byte("From: MAILER-DAEMON@example.org\r\n\r\nx"), detector, ReasonBounce},
		{"postmaster", []byte("From: Postmaster <PostMaster@example.org>\r\n\r\nx"), detector, ReasonBounce},
		{"delivery-status part", []byte("From: a@example.org\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nAction: failed\r\n--b--\r\n"), detector, ReasonBounce},
		{"loop header", header("X-Intakebot-Loop: 1"), detector, ReasonLoop},
		{"loop header unset", header("X-Intakebot-Loop: 1"), Detector{}, ""},
		{"own address", []byte("From: Mesa <AYUDA@example.com>\r\n\r\nx"), detector, ReasonOwnAddress},
		{"loop wins over own", []byte("From: ayuda@example.com\r\nX-Intakebot-Loop: 1\r\n\r\nx"), detector, ReasonLoop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.raw, Options{})
			if err != nil {
				t.Fatal(err)
			}
			reason, ok := tt.det.Automated(m)
			if ok != (tt.wantReason != "") || reason != tt.wantReason {
				t.Errorf("Automated = %q, %v; want %q", reason, ok, tt.wantReason)
			}
		})
	}
	if _, ok := detector.Automated(nil); ok {
		t.Error("nil message flagged")
	}
}

func TestParseSpanishOutlook(t *testing.T) {
	m, err := parseFile(t, "testdata/es/outlook_respuesta.eml")
	if err != nil {
		t.Fatal(err)
	}
	check := func(field string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", field, got, want)
		}
	}
	check("From", m.From, Address{Name: "Marta López", Address: "marta.lopez@example.com"})
	check("To", m.To, []Address{{Name: "Mesa de Ayuda", Address: "ayuda@example.com"}})
	check("Cc", m.Cc, []Address{{Address: "jefe@example.com"}, {Name: "Ruiz, Pedro", Address: "pedro@example.com"}})
	check("Subject", m.Subject, "RE: [INC-1042] Impresora no imprime — urgente")
	check("MessageID", m.MessageID, "AM0PR01MB1234@eurprd01.prod.outlook.com")
	check("InReplyTo", m.InReplyTo, "inc-1042.1@intakebot.example")
	check("References", m.References, []string{"inc-1042.0@intakebot.example", "inc-1042.1@intakebot.example"})
	check("Date", m.Date.UTC(), time.Date(2025, 3, 3, 9, 20, 0, 0, time.UTC))
	check("ContentType", m.ContentType, "multipart/mixed")
	if !strings.HasPrefix(m.Text, "Sigue sin funcionar la impresora de la segunda planta. Ya la reinicié dos veces.") {
		t.Errorf("Text = %q", m.Text)
	}
	if !strings.Contains(m.HTML, "<p>Sigue sin funcionar") {
		t.Errorf("HTML = %q", m.HTML)
	}
	if len(m.Attachments) != 1 {
		t.Fatalf("Attachments = %+v", m.Attachments)
	}
	a := m.Attachments[0]
	check("Attachment.Filename", a.Filename, "captura nóminas.png")
	check("Attachment.ContentType", a.ContentType, "image/png")
	if a.Size != 70 || len(a.Content) != 70 || a.Truncated || !bytes.HasPrefix(a.Content, []byte("\x89PNG")) {
		t.Errorf("Attachment = size %d, %d bytes kept, truncated %v", a.Size, len(a.Content), a.Truncated)
	}
	check("Warnings", len(m.Warnings), 0)
	if got := m.Header.Get("Return-Path"); got != "<marta@example.com>" {
		t.Errorf("Header Return-Path = %q", got)
	}
}

func TestParseHTMLOnly(t *testing.T) {
	m, err := parseFile(t, "testdata/es/solo_html.eml")
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "¡No funciona el correo!" {
		t.Errorf("Subject = %q", m.Subject)
	}
	want := "Hola,\nNo funciona el *correo* desde ayer.\nEl lun, 3 mar 2025 a las 10:15, Mesa de Ayuda (<ayuda@example.com>) escribió:\n> \n> \n> ¿Funciona ya?"
	if m.Text != want {
		t.Errorf("Text =\n%s\nwant\n%s", m.Text, want)
	}
}

// nested wraps text in n levels of the div/table soup that mail
// generators produce.
func nested(n int, text string) string {
	return "<html><head><title>t</title><style>p{}</style></head><body>" +
		strings.Repeat("<div><table><tr><td>", n) + text + strings.Repeat("</td></tr></table></div>", n) + "</body></html>"
}

// An HTML-only mail nested deeper than the HTML parser's tree limit (512
// open elements) still yields its text, through the streaming fallback,
// and says so in a warning.
func TestParseDeeplyNestedHTML(t *testing.T) {
	for _, depth := range []int{10, 200, 30000} {
		t.Run(fmt.Sprint(depth), func(t *testing.T) {
			body := nested(depth, "La impresora del piso 3 est&aacute; <b>atascada</b>")
			raw := append(header("Content-Type: text/html; charset=utf-8"), []byte("\r\n"+body)...)
			raw = bytes.Replace(raw, []byte("\r\n\r\nHola"), []byte("\r\n\r\n"), 1)
			m, err := Parse(raw, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(m.Text); got != "La impresora del piso 3 está atascada" && got != "La impresora del piso 3 está *atascada*" {
				t.Errorf("Text = %q", got)
			}
			fellBack := strings.Contains(warningKinds(m), WarnMalformedMIME)
			if fellBack != (depth*4 > 512) {
				t.Errorf("depth %d: warnings %v", depth, m.Warnings)
			}
		})
	}
}

func TestHTMLToTextFallback(t *testing.T) {
	tests := []struct {
		name, html, want string
	}{
		{"blocks, quotes and hidden parts", strings.Repeat("<div>", 600) +
			"<script>var x = 1;</script><p>Hola,</p><p>no&nbsp;funciona   el\n correo.</p><br>" +
			"<blockquote><div>¿Funciona ya?</div><blockquote>Mesa</blockquote></blockquote><p>Ana</p>",
			"Hola,\nno funciona el correo.\n> ¿Funciona ya?\n> > Mesa\nAna"},
		{"unbalanced closing quotes", strings.Repeat("<span>", 600) + "</blockquote></blockquote>texto", "texto"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HTMLToText(tt.html)
			if err == nil {
				t.Error("no error says the fallback was used")
			}
			if got != tt.want {
				t.Errorf("HTMLToText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	big := append(header(), bytes.Repeat([]byte("a"), 2048)...)
	tests := []struct {
		name    string
		raw     []byte
		opts    Options
		wantErr error
		wantMsg bool // a Message comes back alongside the error
	}{
		{"too large", big, Options{MaxMessageBytes: 1024}, ErrTooLarge, false},
		{"limit disabled", big, Options{MaxMessageBytes: -1}, nil, true},
		{"header without colon", []byte("From a@example.com\r\nthis is not a header\r\n\r\nbody"), Options{}, ErrMalformed, false},
		{"no from", []byte("To: a@example.com\r\nSubject: x\r\n\r\nbody"), Options{}, ErrNoFrom, true},
		{"unparseable from", []byte("From: nobody\r\n\r\nbody"), Options{}, ErrNoFrom, true},
		{"empty input", nil, Options{}, ErrNoFrom, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse(tt.raw, tt.opts)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if (m != nil) != tt.wantMsg {
				t.Errorf("message returned = %v, want %v", m != nil, tt.wantMsg)
			}
		})
	}
}

func warningKinds(m *Message) string {
	var kinds []string
	for _, w := range m.Warnings {
		kinds = append(kinds, w.Kind)
	}
	return strings.Join(kinds, ",")
}

func TestParseBestEffort(t *testing.T) {
	tests := []struct {
		name      string
		raw       string
		opts      Options
		wantText  string
		wantWarn  string
		checkAtts func(t *testing.T, atts []Attachment)
	}{
		{
			name:     "unknown charset keeps raw bytes",
			raw:      "From: a@example.com\r\nContent-Type: text/plain; charset=x-klingon\r\n\r\nqapla\xff",
			wantText: "qapla\uFFFD",
			wantWarn: WarnUnknownCharset + "," + WarnInvalidUTF8,
		},
		{
			name:     "known legacy charset is converted",
			raw:      "From: a@example.com\r\nContent-Type: text/plain; charset=windows-1252\r\n\r\nacci\xf3n \x80",
			wantText: "acción €",
		},
		{
			name:     "broken base64 keeps what decoded",
			raw:      "From: a@example.com\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\nSG9sYQ==\r\n!!!!",
			wantText: "Hola",
			wantWarn: WarnBadEncoding,
		},
		{
			// Go's reader passes malformed escapes through, as RFC 2045
			// section 6.7 suggests, so nothing is lost and nothing warned.
			name:     "malformed quoted-printable escape is kept literally",
			raw:      "From: a@example.com\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHola =ZZ mundo",
			wantText: "Hola =ZZ mundo",
		},
		{
			name:     "unknown transfer encoding",
			raw:      "From: a@example.com\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin 644 x",
			wantText: "begin 644 x",
			wantWarn: WarnUnknownEncoding,
		},
		{
			name:     "multipart without boundaries is read as text",
			raw:      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=nope\r\n\r\nsolo texto",
			wantText: "solo texto",
			wantWarn: WarnMalformedMIME,
		},
		{
			name:     "truncated multipart keeps earlier parts",
			raw:      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nparte uno\r\n--b\r\nContent-Type: application/pdf\r\n\r\n%PDF",
			wantText: "parte uno",
			wantWarn: WarnBadEncoding + "," + WarnMalformedMIME,
		},
		{
			name:     "broken date and encoded word",
			raw:      "From: =?utf-8?B?eHB0bw?= <X@Example.com>\r\nDate: yesterday-ish\r\nMessage-ID: not-bracketed@example.com\r\n\r\nhola",
			wantText: "hola",
			wantWarn: WarnBadHeader + "," + WarnBadHeader,
		},
		{
			name:     "attachment over the limit keeps its first bytes",
			raw:      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nadjunto\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"log.txt\"\r\n\r\n0123456789\r\n--b--\r\n",
			opts:     Options{MaxAttachmentBytes: 4},
			wantText: "adjunto",
			checkAtts: func(t *testing.T, atts []Attachment) {
				if len(atts) != 1 || atts[0].Filename != "log.txt" || atts[0].Size != 10 || !atts[0].Truncated || string(atts[0].Content) != "0123" {
					t.Errorf("Attachments = %+v", atts)
				}
			},
		},
		{
			name:     "attachment exactly at the limit is whole",
			raw:      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nadjunto\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"log.txt\"\r\n\r\n0123\r\n--b--\r\n",
			opts:     Options{MaxAttachmentBytes: 4},
			wantText: "adjunto",
			checkAtts: func(t *testing.T, atts []Attachment) {
				if len(atts) != 1 || atts[0].Size != 4 || atts[0].Truncated || string(atts[0].Content) != "0123" {
					t.Errorf("Attachments = %+v", atts)
				}
			},
		},
		{
			name:     "negative attachment limit keeps no content",
			raw:      "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nadjunto\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=\"log.txt\"\r\n\r\n0123\r\n--b--\r\n",
			opts:     Options{MaxAttachmentBytes: -1},
			wantText: "adjunto",
			checkAtts: func(t *testing.T, atts []Attachment) {
				if len(atts) != 1 || atts[0].Size != 4 || !atts[0].Truncated || atts[0].Content != nil {
					t.Errorf("Attachments = %+v", atts)
				}
			},
		},
		{
			name:     "mbox envelope line",
			raw:      "From MAILER-DAEMON  Sat Oct  4 08:00:09 2025\nFrom: a@example.com\n\nhola",
			wantText: "hola",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.raw), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != tt.wantText {
				t.Errorf("Text = %q, want %q", m.Text, tt.wantText)
			}
			if got := warningKinds(m); got != tt.wantWarn {
				t.Errorf("warnings = %q, want %q (%v)", got, tt.wantWarn, m.Warnings)
			}
			if tt.checkAtts != nil {
				tt.checkAtts(t, m.Attachments)
			}
		})
	}
}

// summary is what the golden file records per fixture: enough to notice a
// change in header decoding, part walking or warnings without storing bodies.
func summary(path string, m *Message, err error) string {
	if m == nil {
		return fmt.Sprintf("%s: error %v\n", path, err)
	}
	reason, _ := detector.Automated(m)
	var atts []string
	for _, a := range m.Attachments {
		atts = append(atts, fmt.Sprintf("%s(%s,%d)", a.ContentType, a.Filename, a.Size))
	}
	return fmt.Sprintf("%s: err=%v from=%s subject=%q id=%s date=%s type=%s parts=%v text=%dB atts=%v warnings=%s automated=%s\n",
		path, err, m.From.Address, m.Subject, m.MessageID, m.Date.UTC().Format(time.RFC3339), m.ContentType,
		m.PartTypes, len(m.Text), atts, warningKinds(m), reason)
}

func TestParseCorpusGolden(t *testing.T) {
	var b strings.Builder
	for _, dir := range []string{"auto-and-bounce/autoreply-rfc3834", "auto-and-bounce/bounce", "auto-and-bounce/not-bounce", "reply-talon", "es"} {
		for _, path := range corpus(t, dir) {
			m, err := parseFile(t, path)
			b.WriteString(summary(path, m, err))
		}
	}
	golden := "testdata/parse.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	gotLines, wantLines := strings.Split(b.String(), "\n"), strings.Split(string(want), "\n")
	if len(gotLines) != len(wantLines) {
		t.Fatalf("%d summary lines, golden has %d", len(gotLines), len(wantLines))
	}
	for i := range gotLines {
		if gotLines[i] != wantLines[i] {
			t.Errorf("got  %s\nwant %s", gotLines[i], wantLines[i])
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, dir := range []string{"auto-and-bounce/autoreply-rfc3834", "auto-and-bounce/bounce", "auto-and-bounce/not-bounce", "reply-talon", "es"} {
		for _, path := range corpus(f, dir) {
			raw, err := os.ReadFile(path)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(raw)
		}
	}
	f.Add([]byte("From: a@example.com\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n--b--"))
	f.Add([]byte("From: a@example.com\r\nContent-Type: text/html\r\n\r\n" + nested(200, "<blockquote>hola</blockquote>")))
	opts := Options{MaxMessageBytes: 1 << 20, MaxAttachmentBytes: 64}
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := Parse(raw, opts)
		switch {
		case err == nil || errors.Is(err, ErrNoFrom):
			if m == nil {
				t.Fatalf("nil message with err %v", err)
			}
		case errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed):
			if m != nil {
				t.Fatalf("message returned with %v", err)
			}
			return
		default:
			t.Fatalf("untyped error %v", err)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.Subject) || !utf8.ValidString(m.From.Name) {
			t.Fatalf("invalid UTF-8 in result")
		}
		if strings.TrimSpace(m.Text) == "" && strings.TrimSpace(streamText(m.HTML)) != "" {
			t.Fatalf("HTML with text gave an empty Text: %.200q", m.HTML)
		}
		if m.From.Address != strings.ToLower(m.From.Address) {
			t.Fatalf("From address not lower-cased: %q", m.From.Address)
		}
		for _, a := range m.Attachments {
			if int64(len(a.Content)) > opts.MaxAttachmentBytes || int64(len(a.Content)) > a.Size || a.Truncated != (a.Size > opts.MaxAttachmentBytes) ||
				a.Truncated && int64(len(a.Content)) != opts.MaxAttachmentBytes {
				t.Fatalf("attachment limits broken: %d kept of %d, truncated %v", len(a.Content), a.Size, a.Truncated)
			}
		}
		detector.Automated(m)
	})
}

// The fast path of parseDate must read every Date exactly as net/mail does,
// and refuse what it refuses.
func TestParseDateMatchesNetMail(t *testing.T) {
	for _, v := range []string{
		"Wed, 25 Nov 2026 09:00:00 +0100", "Wed, 25 Nov 2026 09:00:00 -0000", "Mon, 02 Jan 2006 15:04:05 +0000",
		"Thu, 01 Feb 2024 23:59:59 -0930", "Wed, 5 Nov 2026 09:00:00 +0100", "25 Nov 2026 09:00:00 +0100",
		"Wed, 25 Nov 2026 09:00:00 +0100 (CET)", "Wed, 25 Nov 2026 09:00 +0100", "Wed, 25 Nov 2026 09:00:00 GMT",
		"Wed, 25 Nov 2026 09:00:00 +01", "Wed, 31 Feb 2026 09:00:00 +0100", "Wed, 25 Nov 2026 25:00:00 +0100",
		"Wed, 25 Nov 2026 09:00:00 +0100 ", " Wed, 25 Nov 2026 09:00:00 +0100", "yesterday", "",
	} {
		got, gerr := parseDate(v)
		want, werr := netmail.ParseDate(v)
		if (gerr != nil) != (werr != nil) || !got.Equal(want) || got.Format(time.RFC3339) != want.Format(time.RFC3339) {
			t.Errorf("parseDate(%q) = %v, %v; net/mail: %v, %v", v, got, gerr, want, werr)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	f.Add("Wed, 25 Nov 2026 09:00:00 +0100")
	f.Fuzz(func(t *testing.T, v string) {
		got, gerr := parseDate(v)
		want, werr := netmail.ParseDate(v)
		if (gerr != nil) != (werr != nil) || !got.Equal(want) {
			t.Errorf("parseDate(%q) = %v, %v; net/mail: %v, %v", v, got, gerr, want, werr)
		}
	})
}
