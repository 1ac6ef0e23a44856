package smtpout

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-smtp"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/intake"
)

// notifier repeats workflow.Notifier's method set. The compile-time check
// below keeps Notifier usable as the outbox's notifier without this package
// importing workflow (channels must not).
type notifier interface {
	Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error
}

var _ notifier = Notifier{}

const helpdesk = "helpdesk@example.test"

// clock is the fixed time of every test mail, so the Date header can be
// asserted exactly.
func clock() time.Time { return time.Date(2025, time.March, 14, 9, 30, 0, 0, time.UTC) }

func testKey() []byte { return []byte("0123456789abcdef0123456789abcdef") }

// testTokens signs for the help desk and the Spanish mailbox.
func testTokens() *replytoken.Tokens {
	tk, err := replytoken.New(replytoken.Config{Addresses: []string{helpdesk, "soporte@example.test"}, Keys: [][]byte{testKey()}})
	if err != nil {
		panic(err)
	}
	return tk
}

// mid is the Message-ID the sender must give the outbox message id.
func mid(t *testing.T, id, domain string) string {
	t.Helper()
	m, err := testTokens().MessageID(id, domain)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// newSender returns a Sender for ts in plaintext mode; mod adjusts the
// config for the case at hand.
func newSender(t *testing.T, ts *testServer, mod func(*Config)) *Sender {
	t.Helper()
	cfg := Config{
		Host:    "127.0.0.1",
		Port:    ts.port,
		TLS:     mailtls.None,
		From:    "Help desk <" + helpdesk + ">",
		Tokens:  testTokens(),
		Timeout: 30 * time.Second,
		Now:     clock,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s
}

func ackEN() Mail {
	return Mail{
		ID: "INC-000001:ack:1", IncidentID: "INC-000001", Kind: "ack",
		Lang: intake.English, Email: "ana@example.test", Name: "Ana Pérez",
		Subject: "[INC-000001] We received your report",
		Text: "Hello Ana,\n\nWe registered your report as INC-000001 <P3> & will keep you posted.\n" +
			"Follow it at https://desk.example.test/i/INC-000001.\n\nThe help desk",
	}
}

func ackES() Mail {
	return Mail{
		ID: "INC-000002:ack:1", IncidentID: "INC-000002", Kind: "ack",
		Lang: intake.Spanish, Email: "jose@example.test", Name: "José Núñez",
		Subject: "[INC-000002] Hemos recibido su incidencia: «el correo no funciona desde esta mañana»",
		Text: "Hola José:\n\nHemos registrado su incidencia INC-000002 (categoría: correo electrónico).\n" +
			"Puede seguirla en https://desk.example.test/i/INC-000002\n\nMesa de ayuda — ¿dudas? Responda a este mensaje.",
	}
}

// parsedMail is a received message read back with go-message.
type parsedMail struct {
	raw        string
	header     gomail.Header
	types      []string // content types of the parts, in order
	plain      string
	html       string
	partHeader []gomail.InlineHeader
}

func parseMail(t *testing.T, data []byte) parsedMail {
	t.Helper()
	r, err := gomail.CreateReader(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("parse mail: %v\n%s", err, data)
	}
	pm := parsedMail{raw: string(data), header: r.Header}
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("next part: %v", err)
		}
		ih, ok := p.Header.(*gomail.InlineHeader)
		if !ok {
			t.Fatalf("part is not inline: %T", p.Header)
		}
		ct, params, err := ih.ContentType()
		if err != nil {
			t.Fatal(err)
		}
		if params["charset"] != "utf-8" {
			t.Errorf("%s charset = %q, want utf-8", ct, params["charset"])
		}
		if cte := ih.Get("Content-Transfer-Encoding"); cte != "quoted-printable" {
			t.Errorf("%s Content-Transfer-Encoding = %q", ct, cte)
		}
		body, err := io.ReadAll(p.Body)
		if err != nil {
			t.Fatal(err)
		}
		pm.types = append(pm.types, ct)
		pm.partHeader = append(pm.partHeader, *ih)
		switch ct {
		case "text/plain":
			pm.plain = strings.ReplaceAll(string(body), "\r\n", "\n")
		case "text/html":
			pm.html = string(body)
		}
	}
	r.Close()
	return pm
}

// only returns the single message the server received.
func only(t *testing.T, be *backend) received {
	t.Helper()
	got := be.messages()
	if len(got) != 1 {
		t.Fatalf("server received %d messages, want 1", len(got))
	}
	return got[0]
}

func TestDeliverEnglish(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, nil)
	msg := ackEN()
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	rec := only(t, ts.be)
	if rec.From != helpdesk || len(rec.To) != 1 || rec.To[0] != "ana@example.test" {
		t.Errorf("envelope = %q -> %q", rec.From, rec.To)
	}
	m := parseMail(t, rec.Data)

	from, err := m.header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Help desk" || from[0].Address != helpdesk {
		t.Errorf("From = %v, %v", from, err)
	}
	to, err := m.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Ana Pérez" || to[0].Address != "ana@example.test" {
		t.Errorf("To = %v, %v", to, err)
	}
	if subj, err := m.header.Subject(); err != nil || subj != msg.Subject {
		t.Errorf("Subject = %q, %v", subj, err)
	}
	if d, err := m.header.Date(); err != nil || !d.Equal(clock()) {
		t.Errorf("Date = %v, %v", d, err)
	}
	if id, err := m.header.MessageID(); err != nil || id != mid(t, "INC-000001:ack:1", "example.test") {
		t.Errorf("Message-ID = %q, %v", id, err)
	}
	for k, want := range map[string]string{
		"Auto-Submitted":   "auto-replied",
		"X-Intakebot-Loop": helpdesk,
		"Content-Language": "en",
		"In-Reply-To":      "",
		"References":       "",
	} {
		if got := m.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	replyTo, err := m.header.AddressList("Reply-To")
	if err != nil || len(replyTo) != 1 {
		t.Fatalf("Reply-To = %v, %v", replyTo, err)
	}
	if r, ok := s.tokens.Parse(replyTo[0].Address); !ok || r.Incident != "INC-000001" || !s.tokens.Verify(r, "ana@example.test") {
		t.Errorf("the Reply-To %q is not Ana's reply address for INC-000001", replyTo[0].Address)
	}
	if !strings.HasPrefix(replyTo[0].Address, "helpdesk+INC-000001.") || !strings.HasSuffix(replyTo[0].Address, "@example.test") {
		t.Errorf("Reply-To address = %q", replyTo[0].Address)
	}

	if ct, _, _ := m.header.ContentType(); ct != "multipart/alternative" {
		t.Errorf("Content-Type = %q", ct)
	}
	if strings.Join(m.types, ",") != "text/plain,text/html" {
		t.Fatalf("parts = %v", m.types)
	}
	if m.plain != msg.Text {
		t.Errorf("text part = %q, want %q", m.plain, msg.Text)
	}
	for _, want := range []string{
		`<html lang="en">`,
		`<p>Hello Ana,</p>`,
		`INC-000001 &lt;P3&gt; &amp; will keep you posted.<br>`,
		`<a href="https://desk.example.test/i/INC-000001">https://desk.example.test/i/INC-000001</a>.`,
		`<p>The help desk</p>`,
	} {
		if !strings.Contains(m.html, want) {
			t.Errorf("html part lacks %q:\n%s", want, m.html)
		}
	}
	if !is7bit(rec.Data) {
		t.Error("message is not 7-bit clean")
	}
}

func TestDeliverSpanish(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, nil)
	msg := ackES()
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	rec := only(t, ts.be)
	m := parseMail(t, rec.Data)

	// The subject must cross the wire as RFC 2047 encoded-words, 7-bit,
	// and read back with every accent intact.
	rawSubject := headerLine(m.raw, "Subject")
	if !strings.Contains(strings.ToLower(rawSubject), "=?utf-8?") {
		t.Errorf("raw Subject is not RFC 2047 encoded: %q", rawSubject)
	}
	if subj, err := m.header.Subject(); err != nil || subj != msg.Subject {
		t.Errorf("Subject = %q, %v; want %q", subj, err, msg.Subject)
	}
	to, err := m.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "José Núñez" {
		t.Errorf("To = %v, %v", to, err)
	}
	if got := m.header.Get("Content-Language"); got != "es" {
		t.Errorf("Content-Language = %q", got)
	}
	if m.plain != msg.Text {
		t.Errorf("text part = %q, want %q", m.plain, msg.Text)
	}
	for _, want := range []string{
		`<html lang="es">`,
		`<p>Hola José:</p>`,
		`(categoría: correo electrónico).<br>`,
		`<a href="https://desk.example.test/i/INC-000002">`,
		`Mesa de ayuda — ¿dudas? Responda a este mensaje.`,
	} {
		if !strings.Contains(m.html, want) {
			t.Errorf("html part lacks %q:\n%s", want, m.html)
		}
	}
	if !is7bit(rec.Data) {
		t.Error("message is not 7-bit clean")
	}
}

// A retry after a crash must carry the same Message-ID as the first
// attempt, so that a duplicate is recognisable; a different outbox message
// must not.
func TestMessageIDDeterministic(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, nil)
	msg := ackEN()
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	// The retry: the same mail, the same idempotency key.
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	other := msg
	other.ID, other.Kind = "INC-000001:validation:1", "validation"
	if err := s.Send(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	got := ts.be.messages()
	if len(got) != 3 {
		t.Fatalf("received %d messages", len(got))
	}
	var ids []string
	for _, r := range got {
		m := parseMail(t, r.Data)
		id, err := m.header.MessageID()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if ids[0] != mid(t, "INC-000001:ack:1", "example.test") || ids[1] != ids[0] {
		t.Errorf("retry Message-IDs = %q, %q", ids[0], ids[1])
	}
	if ids[2] != mid(t, "INC-000001:validation:1", "example.test") {
		t.Errorf("other message's Message-ID = %q", ids[2])
	}
}

func TestThreadingHeaders(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, func(c *Config) { c.Domain = "mail.example.test" })
	msg := ackEN()
	msg.InReplyTo = "CAF=abc123@mail.gmail.test"
	msg.References = []string{
		"<first@client.example>",     // brackets already present: not doubled
		"bad\r\nBcc: x@evil.test",    // outside data that could break the header: dropped
		"CAF=abc123@mail.gmail.test", // the last one, as the workflow gives it
		"no-at-sign",                 // not a Message-ID: dropped
	}
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	m := parseMail(t, only(t, ts.be).Data)
	if got := m.header.Get("In-Reply-To"); got != "<CAF=abc123@mail.gmail.test>" {
		t.Errorf("In-Reply-To = %q", got)
	}
	refs, err := m.header.MsgIDList("References")
	if err != nil || strings.Join(refs, " ") != "first@client.example CAF=abc123@mail.gmail.test" {
		t.Errorf("References = %q, %v", refs, err)
	}
	if id, _ := m.header.MessageID(); id != mid(t, "INC-000001:ack:1", "mail.example.test") {
		t.Errorf("Message-ID with Domain set = %q", id)
	}
	if m.header.Has("Bcc") {
		t.Error("a Bcc header was injected through References")
	}
}

func TestStartTLS(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{startTLS: true})
	s := newSender(t, ts, func(c *Config) {
		c.TLS = mailtls.StartTLS
		c.TLSConfig = &tls.Config{RootCAs: ts.roots}
	})
	msg := ackEN()
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if rec := only(t, ts.be); !rec.TLS {
		t.Error("message was not sent over TLS")
	}
}

// A server that does not offer STARTTLS (or a man in the middle stripping
// it) must not get the mail in clear.
func TestStartTLSNotOffered(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, func(c *Config) {
		c.TLS = mailtls.StartTLS
		c.TLSConfig = &tls.Config{RootCAs: ts.roots}
	})
	msg := ackEN()
	err := s.Send(t.Context(), msg)
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
	if n := len(ts.be.messages()); n != 0 {
		t.Errorf("server received %d messages in clear", n)
	}
}

// Without the test CA in RootCAs the self-signed certificate is refused:
// verification is real, not skipped.
func TestStartTLSUntrustedCertificate(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{startTLS: true})
	s := newSender(t, ts, func(c *Config) { c.TLS = mailtls.StartTLS })
	msg := ackEN()
	err := s.Send(t.Context(), msg)
	var uae x509.UnknownAuthorityError
	if err == nil || !errors.As(err, &uae) {
		t.Fatalf("Deliver = %v, want an unknown-authority error", err)
	}
	if n := len(ts.be.messages()); n != 0 {
		t.Errorf("server received %d messages", n)
	}
}

func TestImplicitTLS(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{implicitTLS: true})
	s := newSender(t, ts, func(c *Config) {
		c.TLS = mailtls.Implicit
		c.TLSConfig = &tls.Config{RootCAs: ts.roots}
	})
	msg := ackES()
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if rec := only(t, ts.be); !rec.TLS {
		t.Error("message was not sent over TLS")
	}
}

func TestAuth(t *testing.T) {
	for _, tc := range []struct {
		name, password string
		ok             bool
	}{
		{"right password", "s3cret", true},
		{"wrong password", "guess", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, &backend{user: "bot", pass: "s3cret"}, serverOpts{startTLS: true})
			s := newSender(t, ts, func(c *Config) {
				c.TLS = mailtls.StartTLS
				c.TLSConfig = &tls.Config{RootCAs: ts.roots}
				c.Username, c.Password = "bot", tc.password
			})
			msg := ackEN()
			err := s.Send(t.Context(), msg)
			if tc.ok {
				if err != nil {
					t.Fatalf("Deliver: %v", err)
				}
				if rec := only(t, ts.be); rec.User != "bot" {
					t.Errorf("authenticated as %q", rec.User)
				}
				return
			}
			var se *smtp.SMTPError
			if err == nil || !errors.As(err, &se) || se.Code != 535 {
				t.Fatalf("Deliver = %v, want the server's 535", err)
			}
			// Bad credentials are our configuration's fault, not this
			// message's: the route waits (and alerts), never dead-letters.
			if errors.Is(err, ErrPermanent) {
				t.Errorf("auth failure marked permanent: %v", err)
			}
			var later *intake.RetryLater
			if !errors.As(err, &later) || later.After != UnavailableHold {
				t.Errorf("Deliver = %v, want the route held for %s", err, UnavailableHold)
			}
			if n := len(ts.be.messages()); n != 0 {
				t.Errorf("server received %d messages", n)
			}
		})
	}
}

// AUTH without TLS is allowed only to a loopback relay.
func TestAuthPlaintext(t *testing.T) {
	ts := startServer(t, &backend{user: "bot", pass: "s3cret"}, serverOpts{insecureAuth: true})
	s := newSender(t, ts, func(c *Config) { c.Username, c.Password = "bot", "s3cret" })
	msg := ackEN()
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Deliver to loopback relay: %v", err)
	}
	_, err := New(Config{Host: "smtp.example.test", TLS: mailtls.None, Username: "bot", Password: "s3cret",
		From: helpdesk, Tokens: testTokens()})
	if err == nil || !strings.Contains(err.Error(), "AUTH without TLS") {
		t.Errorf("New with plaintext AUTH to a remote host = %v, want refusal", err)
	}
}

func TestTemporaryFailures(t *testing.T) {
	tempfail := &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	// 5.7.x refusals judge our sending setup (relay permission, SPF, a
	// blocklist), not this message: retried so the backlog goes out once
	// an operator fixes the setup, instead of dead-lettering everything.
	relay := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "Relaying denied"}
	spf := &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 23}, Message: "SPF validation failed"}
	for _, tc := range []struct {
		name string
		be   *backend
		code int
	}{
		{"451 on RCPT", &backend{rcptErr: map[string]*smtp.SMTPError{"ana@example.test": tempfail}}, 451},
		{"451 after DATA", &backend{dataErr: tempfail}, 451},
		{"550 5.7.1 relaying denied on RCPT", &backend{rcptErr: map[string]*smtp.SMTPError{"ana@example.test": relay}}, 550},
		{"550 5.7.23 SPF after DATA", &backend{dataErr: spf}, 550},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.be, serverOpts{})
			s := newSender(t, ts, nil)
			msg := ackEN()
			err := s.Send(t.Context(), msg)
			var se *smtp.SMTPError
			if err == nil || !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("Deliver = %v, want the server's %d", err, tc.code)
			}
			if errors.Is(err, ErrPermanent) {
				t.Errorf("marked permanent: %v", err)
			}
			if n := len(ts.be.messages()); n != 0 {
				t.Errorf("server kept %d messages", n)
			}
		})
	}
}

func TestPermanentFailures(t *testing.T) {
	for _, tc := range []struct {
		name string
		be   *backend
		code int
	}{
		{"550 on RCPT", &backend{rcptErr: map[string]*smtp.SMTPError{
			"ana@example.test": {Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "No such user"},
		}}, 550},
		{"552 after DATA", &backend{dataErr: &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big"}}, 552},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, tc.be, serverOpts{})
			s := newSender(t, ts, nil)
			msg := ackEN()
			err := s.Send(t.Context(), msg)
			if !errors.Is(err, ErrPermanent) {
				t.Fatalf("Deliver = %v, want ErrPermanent", err)
			}
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Errorf("Deliver = %v, want the server's %d kept in the chain", err, tc.code)
			}
		})
	}
}

func TestBadRecipientIsPermanent(t *testing.T) {
	// No server at all: these must fail before any connection is tried.
	s, err := New(Config{Host: "127.0.0.1", Port: 1, TLS: mailtls.None, From: helpdesk, Tokens: testTokens()})
	if err != nil {
		t.Fatal(err)
	}
	for _, email := range []string{"", "   ", "not an address", "ana@example.test\r\nBcc: x@evil.test"} {
		msg := ackEN()
		msg.Email = email
		if err := s.Send(t.Context(), msg); !errors.Is(err, ErrPermanent) {
			t.Errorf("Deliver to %q = %v, want ErrPermanent", email, err)
		}
	}
}

// Text from reporters and templates ends up in headers. However it is
// crafted, it must not add a header (here a Bcc) or a recipient.
func TestHeaderInjection(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, nil)
	msg := ackEN()
	msg.Subject = "Printer broken\r\nBcc: x@evil.test"
	msg.Name = "Ana\r\nBcc: y@evil.test"
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	rec := only(t, ts.be)
	if len(rec.To) != 1 || rec.To[0] != "ana@example.test" {
		t.Errorf("envelope recipients = %q", rec.To)
	}
	m := parseMail(t, rec.Data)
	if m.header.Has("Bcc") {
		t.Errorf("Bcc header injected: %q", m.header.Get("Bcc"))
	}
	head, _, _ := strings.Cut(m.raw, "\r\n\r\n")
	for _, line := range strings.Split(head, "\r\n") {
		if strings.HasPrefix(strings.ToLower(line), "bcc:") {
			t.Errorf("raw header line %q", line)
		}
	}
	if subj, _ := m.header.Subject(); subj != "Printer broken Bcc: x@evil.test" {
		t.Errorf("Subject = %q, want it flattened to one line", subj)
	}
	to, err := m.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Address != "ana@example.test" || to[0].Name != "Ana Bcc: y@evil.test" {
		t.Errorf("To = %v, %v", to, err)
	}
}

func TestServerDown(t *testing.T) {
	// Take a free port and close it again: nothing listens there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := newSender(t, &testServer{port: port}, nil)
	msg := ackEN()
	err = s.Send(t.Context(), msg)
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("Deliver = %v, want a retryable error", err)
	}
	var oe *net.OpError
	if !errors.As(err, &oe) {
		t.Errorf("Deliver = %v, want the network error kept in the chain", err)
	}
	// Every message would fail the same way: the route waits, no attempt
	// of this message is spent.
	var later *intake.RetryLater
	if !errors.As(err, &later) || later.After != UnavailableHold {
		t.Errorf("Deliver = %v, want the route held for %s", err, UnavailableHold)
	}
}

// A delivery cut by our own stop says nothing of the server: an ordinary
// failure, no hold for the route (which would be asked for with the
// stopped context, for every bot).
func TestStopWhileConnectingIsNoHold(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	s := newSender(t, &testServer{port: port}, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = s.Send(ctx, ackEN())
	var later *intake.RetryLater
	if err == nil || errors.As(err, &later) || errors.Is(err, ErrPermanent) {
		t.Fatalf("Deliver after the stop = %v, want an ordinary failure", err)
	}
}

// A refusal after sign-in judges the message or its recipient, not the
// server: an ordinary failure (retried with backoff), never a hold.
func TestRefusalAfterSignInIsNoHold(t *testing.T) {
	ts := startServer(t, &backend{dataErr: &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 2, 0}, Message: "try later"}}, serverOpts{})
	s := newSender(t, ts, nil)
	err := s.Send(t.Context(), ackEN())
	var later *intake.RetryLater
	if err == nil || errors.As(err, &later) || errors.Is(err, ErrPermanent) {
		t.Fatalf("Deliver = %v, want an ordinary temporary failure", err)
	}
}

// A server that accepts the connection and then says nothing must not hold
// a delivery past its context: cancelling ctx closes the connection.
func TestContextCancelInterruptsSilentServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// The fake server: accept, say nothing, cancel the delivery. The test
	// waits for this goroutine before it ends.
	done := make(chan struct{})
	var conn net.Conn
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		conn = c
		cancel() // the client is connected and waiting for a greeting
	}()
	s := newSender(t, &testServer{port: ln.Addr().(*net.TCPAddr).Port}, nil)
	msg := ackEN()
	err = s.Send(ctx, msg)
	<-done
	if conn != nil {
		conn.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver = %v, want context.Canceled", err)
	}
	if errors.Is(err, ErrPermanent) {
		t.Errorf("cancellation marked permanent: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	good := func() Config {
		return Config{Host: "smtp.example.test", From: "Help desk <" + helpdesk + ">", Tokens: testTokens()}
	}
	for _, tc := range []struct {
		name string
		mod  func(*Config)
	}{
		{"no host", func(c *Config) { c.Host = "" }},
		{"unknown TLS mode", func(c *Config) { c.TLS = "ssl" }},
		{"port out of range", func(c *Config) { c.Port = 70000 }},
		{"no From", func(c *Config) { c.From = "" }},
		{"unparseable From", func(c *Config) { c.From = "Help desk <helpdesk" }},
		{"quoted From local part", func(c *Config) { c.From = `"help desk"@example.test` }},
		{"no Tokens", func(c *Config) { c.Tokens = nil }},
		{"Tokens for another address", func(c *Config) { c.From = "sales@example.test" }},
		{"Also not served by Tokens", func(c *Config) { c.Also = []string{"sales@example.test"} }},
		{"bad Domain", func(c *Config) { c.Domain = "example.test>\r\nBcc: x" }},
		{"bad LoopHeader", func(c *Config) { c.LoopHeader = "X-Loop: yes" }},
		{"password without user", func(c *Config) { c.Password = "x" }},
		{"plaintext AUTH to remote host", func(c *Config) { c.TLS, c.Username = mailtls.None, "bot" }},
		{"InsecureSkipVerify to remote host", func(c *Config) { c.TLSConfig = &tls.Config{InsecureSkipVerify: true} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good()
			tc.mod(&cfg)
			if _, err := New(cfg); err == nil {
				t.Error("New accepted it")
			}
		})
	}
	if _, err := New(good()); err != nil {
		t.Errorf("New(good config) = %v", err)
	}
}

func TestNewDefaults(t *testing.T) {
	for mode, port := range map[mailtls.Mode]string{"": "587", mailtls.StartTLS: "587", mailtls.Implicit: "465", mailtls.None: "25"} {
		s, err := New(Config{Host: "smtp.example.test", TLS: mode, From: helpdesk, Tokens: testTokens()})
		if err != nil {
			t.Fatal(err)
		}
		if want := "smtp.example.test:" + port; s.addr != want {
			t.Errorf("TLS %q: addr = %q, want %q", mode, s.addr, want)
		}
		if s.domain != "example.test" || s.loopHeader != DefaultLoopHeader || s.timeout != DefaultTimeout {
			t.Errorf("defaults: domain %q, loop header %q, timeout %v", s.domain, s.loopHeader, s.timeout)
		}
		if s.tlsConfig.ServerName != "smtp.example.test" {
			t.Errorf("TLS ServerName = %q", s.tlsConfig.ServerName)
		}
	}
}

// headerLine returns the raw (unfolded, undecoded) value of the first
// header field named key in a raw message.
func headerLine(raw, key string) string {
	head, _, _ := strings.Cut(raw, "\r\n\r\n")
	head = strings.NewReplacer("\r\n ", " ", "\r\n\t", " ").Replace(head)
	for _, line := range strings.Split(head, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func is7bit(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// TestAnswerFromTheAddressWrittenTo: with several help-desk mailboxes, the
// reporter is answered from the one they wrote to, and replies to any of
// them are recognised.
func TestAnswerFromTheAddressWrittenTo(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, func(c *Config) { c.Also = []string{"Soporte <soporte@example.test>"} })
	msg := ackEN()
	msg.From = "Soporte@example.test"
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	m := parseMail(t, only(t, ts.be).Data)
	from, _ := m.header.AddressList("From")
	reply, _ := m.header.AddressList("Reply-To")
	if len(from) != 1 || from[0].Address != "soporte@example.test" || from[0].Name != "Soporte" ||
		len(reply) != 1 || !strings.HasPrefix(reply[0].Address, "soporte+INC-000001.") {
		t.Fatalf("From %v Reply-To %v", from, reply)
	}
	if r, ok := s.tokens.Parse(reply[0].Address); !ok || r.Incident != "INC-000001" || !s.tokens.Verify(r, "ana@example.test") {
		t.Errorf("the Reply-To %q is not Ana's reply address for INC-000001", reply[0].Address)
	}
	if _, err := New(Config{Host: "127.0.0.1", TLS: mailtls.None, From: helpdesk, Also: []string{"not an address"}, Tokens: testTokens()}); err == nil {
		t.Fatal("a bad extra address was accepted")
	}
}
