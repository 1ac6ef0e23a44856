package inbound_test

// Who may answer a survey by mail: the reporter, proven by possession of
// the reply address we gave them, or by a From domain authenticated by a
// server we trust. The bot's mails go out through smtpout to go-smtp's
// server on a real socket, and the replies are built from what arrived
// there, as a mail client (or an attacker reading a thread) would.

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"

	"github.com/intakebot/intakebot/channels/email/inbound"
	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/email/message"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/channels/email/senderauth"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
)

// sink is an SMTP server that keeps every mail it is given.
type sink struct {
	mu    sync.Mutex
	mails [][]byte
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s}, nil }

type sinkSession struct{ s *sink }

func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *sinkSession) Reset()                               {}
func (x *sinkSession) Logout() error                        { return nil }
func (x *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.mails = append(x.s.mails, b)
	return nil
}

// trustEnv is env plus the way out: the outbox rendered and sent by SMTP.
type trustEnv struct {
	*env
	sink   *sink
	notify smtpout.Notifier
}

// sent is one of our mails as the reporter's mailbox received it.
type sent struct {
	to, replyTo, messageID, subject, text string
}

func newTrustEnv(t *testing.T, auth inbound.SenderAuth, keys ...[]byte) *trustEnv {
	return wire(t, newEnv(t, auth), auth, keys...)
}

// wire adds the way out to e; with keys, the processor and the sender sign
// with those (newest first) instead of the tests' usual key.
func wire(t *testing.T, e *env, auth inbound.SenderAuth, keys ...[]byte) *trustEnv {
	tokens := testTokens()
	if len(keys) > 0 {
		var err error
		if tokens, err = replytoken.New(replytoken.Config{Addresses: []string{"helpdesk@example.test"}, Keys: keys}); err != nil {
			t.Fatal(err)
		}
		e.proc = inbound.New(inbound.Config{Detector: message.Detector{OwnAddresses: []string{"helpdesk@example.test"}}},
			inbound.Deps{Incidents: e.engine, Ledger: e.store, Threads: e.store, Files: e.store, Acts: e.store,
				Tokens: tokens, Auth: auth, Log: slog.New(slog.DiscardHandler), Now: time.Now})
	}
	s := &sink{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.example.test"
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	sender, err := smtpout.New(smtpout.Config{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: mailtls.None,
		From: "Help desk <helpdesk@example.test>", Tokens: tokens})
	if err != nil {
		t.Fatal(err)
	}
	texts, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	signer, err := surveylink.NewSigner([]byte("survey link key for the tests, 32+"), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &trustEnv{env: e, sink: s, notify: smtpout.Notifier{Sender: sender,
		Render: smtpout.Renderer{Texts: texts, Links: surveylink.Linker{Signer: signer, BaseURL: "https://desk.example.test"}}}}
}

// flush sends every queued e-mail notice by SMTP and returns the mails the
// server received.
func (e *trustEnv) flush(t *testing.T) []sent {
	t.Helper()
	ctx := context.Background()
	qs, err := e.store.Claim(ctx, intake.RouteEmail, time.Now(), time.Minute, 100)
	if err != nil {
		t.Fatal(err)
	}
	e.sink.mu.Lock()
	before := len(e.sink.mails)
	e.sink.mu.Unlock()
	for _, q := range qs {
		inc := e.get(q.Incident)
		if err := e.notify.Deliver(ctx, q.Outgoing(inc), inc); err != nil {
			t.Fatal(err)
		}
		if err := e.store.Delivered(ctx, q, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	e.sink.mu.Lock()
	defer e.sink.mu.Unlock()
	var out []sent
	for _, raw := range e.sink.mails[before:] {
		m, err := message.Parse(raw, message.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if len(m.To) != 1 || len(m.ReplyTo) != 1 {
			t.Fatalf("our mail has To %v, Reply-To %v", m.To, m.ReplyTo)
		}
		out = append(out, sent{to: m.To[0].Address, replyTo: m.ReplyTo[0].Address, messageID: m.MessageID, subject: m.Subject, text: m.Text})
	}
	return out
}

// question moves the incident to validation and returns the question mail.
func (e *trustEnv) question(t *testing.T, id string) sent {
	t.Helper()
	e.flush(t) // the acknowledgment
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	got := e.flush(t)
	if len(got) != 1 || !strings.Contains(got[0].messageID, ".validation.") {
		t.Fatalf("after the move to validation the reporter got %+v", got)
	}
	return got[0]
}

// reply is a reply to q: to addr, threaded under q, with extra headers on
// top (where a receiving server puts its own).
func reply(from, addr string, q sent, msgID, body string, top ...string) string {
	raw := to(addr, mail(from, "Re: "+q.subject, msgID, q.messageID, body))
	if len(top) > 0 {
		raw = strings.Join(top, "\r\n") + "\r\n" + raw
	}
	return raw
}

// checker trusts mx.example.test, as a deployment behind that server would,
// and accepts the default methods and then those given.
func checker(t *testing.T, more ...string) *senderauth.Checker {
	c, err := senderauth.New(senderauth.Config{TrustedAuthServIDs: []string{"mx.example.test"}, Accept: append([]string{"dmarc", "dkim"}, more...)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refused asserts that a mail claiming to be the reporter's answer was kept
// as a comment, moved nothing, and that the question went again to the
// reporter's own address (never the sender's) with a fresh link and reply
// address.
func refused(t *testing.T, e *trustEnv, id string, rec intake.InboundRecord, q sent) {
	t.Helper()
	inc := e.get(id)
	if rec.Outcome != intake.OutcomeAppended || rec.Incident != id || !strings.Contains(rec.Reason, "not proven") ||
		inc.State != intake.Validation || len(inc.Surveys) != 0 {
		t.Fatalf("outcome %+v, state %s, surveys %+v", rec, inc.State, inc.Surveys)
	}
	again := e.flush(t)
	if len(again) != 1 || again[0].to != inc.Reporter.Email || !strings.Contains(again[0].messageID, ".validation.") {
		t.Fatalf("the question was not sent again to %s alone: %+v", inc.Reporter.Email, again)
	}
	if !strings.Contains(again[0].text, "https://desk.example.test/s/") || linkOf(again[0].text) == linkOf(q.text) {
		t.Fatalf("the repeated question has no fresh survey link:\n%s", again[0].text)
	}
}

func linkOf(text string) string {
	i := strings.Index(text, "https://desk.example.test/s/")
	if i < 0 {
		return ""
	}
	return strings.Fields(text[i:])[0]
}

// TestForgedFromDoesNotAnswer: finding 1. A mail with the reporter's From,
// the subject tag and threading headers, but neither the reporter's reply
// address nor a trusted authentication, is a comment and re-asks the
// reporter.
func TestForgedFromDoesNotAnswer(t *testing.T) {
	const trusted = "Authentication-Results: mx.example.test; spf=pass smtp.mailfrom=example.test"
	for _, tc := range []struct {
		name, body string
		top        []string
	}{
		{"no Authentication-Results (es)", "Sí, ya funciona", nil},
		{"failing Authentication-Results (en)", "Yes, it works now", []string{
			"Authentication-Results: mx.example.test; dmarc=fail (p=reject) header.from=example.test; dkim=fail header.d=example.test"}},
		{"pass written by the sender below the trusted server's (es)", "sí", []string{
			"Authentication-Results: mx.example.test; dmarc=none header.from=example.test",
			"Received: from evil.test (evil.test [192.0.2.66]) by mx.example.test",
			"Authentication-Results: mx.example.test; dmarc=pass header.from=example.test"}},
		{"pass by an untrusted server on top (en)", "yes", []string{
			"Authentication-Results: mx.evil.test; dmarc=pass header.from=example.test", trusted}},
		{"pass by a trusted id below an untrusted field (es)", "Sí", []string{
			"Authentication-Results: relay.evil.test; none",
			"Authentication-Results: mx.example.test; dmarc=pass header.from=example.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTrustEnv(t, checker(t))
			id := e.deliver(mail(ana, "Correo caído", "r0@example.test", "", "El correo está caído")).Incident
			q := e.question(t, id)
			// The attacker read the thread: subject, Message-ID, all of it,
			// and writes to the help desk, not to Ana's reply address.
			rec := e.deliver(reply(ana, "helpdesk@example.test", q, "forged@evil.test", tc.body, tc.top...))
			refused(t, e, id, rec, q)
			// Forging again asks nothing more: one repeat per round.
			e.deliver(reply(ana, "helpdesk@example.test", q, "forged2@evil.test", tc.body, tc.top...))
			if again := e.flush(t); len(again) != 0 {
				t.Fatalf("a second forgery sent %d more mails to the reporter", len(again))
			}
		})
	}
}

// TestColleagueReplyAllIsAComment: finding 2. Carlos, in copy of Ana's
// reply, answers to all: his mail goes to Ana's reply address.
func TestColleagueReplyAllIsAComment(t *testing.T) {
	e := newTrustEnv(t, checker(t))
	id := e.deliver(mail(ana, "Correo caído", "c0@example.test", "", "El correo está caído")).Incident
	q := e.question(t, id)
	rec := e.deliver(reply("Carlos <carlos@example.test>", q.replyTo, q, "carlos@example.test", "Sí, a mí ya me funciona",
		// even authenticated: Carlos is who he says, and not the reporter
		"Authentication-Results: mx.example.test; dmarc=pass header.from=example.test"))
	inc := e.get(id)
	if rec.Outcome != intake.OutcomeAppended || rec.Incident != id || inc.State != intake.Validation ||
		len(inc.Comments) != 1 || inc.Comments[0].Author != "Carlos" {
		t.Fatalf("colleague: %+v, state %s, comments %+v", rec, inc.State, inc.Comments)
	}
	if again := e.flush(t); len(again) != 0 {
		t.Fatalf("a colleague's comment re-asked: %+v", again)
	}
}

// TestReplyAddressRebuiltFromMessageID: finding 2. Our Message-ID is in
// every References header; a reply address built from it, in the old or
// the new form, does not count.
func TestReplyAddressRebuiltFromMessageID(t *testing.T) {
	e := newTrustEnv(t, nil)
	id := e.deliver(mail(ana, "Outlook crashes", "m0@example.test", "", "Outlook crashes")).Incident
	q := e.question(t, id)
	left, _, _ := strings.Cut(q.messageID, "@")
	tok := left[strings.LastIndexByte(left, '.')+1:]
	kid := strings.Split(q.replyTo, ".")[1]
	for i, rebuilt := range []string{
		"helpdesk+" + id + "." + tok + "@example.test",
		"helpdesk+" + id + "." + kid + "." + tok + "@example.test",
	} {
		rec := e.deliver(reply(ana, rebuilt, q, "rebuilt"+string(rune('0'+i))+"@evil.test", "Yes, it works"))
		if e.get(id).State != intake.Validation || rec.Outcome == intake.OutcomeSurveyAnswer {
			t.Fatalf("%s answered: %+v", rebuilt, rec)
		}
	}
}

// TestReporterThroughReplyAddressAnswers: possession counts, in English and
// Spanish, for validation and satisfaction.
func TestReporterThroughReplyAddressAnswers(t *testing.T) {
	for _, tc := range []struct{ from, report, yes, rating string }{
		{ana, "El correo está caído", "Sí, ya funciona. Gracias", "5"},
		{"Bob <bob@example.test>", "Outlook crashes when I open it", "Yes, it works now, thanks", "4 - quick fix"},
	} {
		e := newTrustEnv(t, nil)
		id := e.deliver(mail(tc.from, "Help", "p0@example.test", "", tc.report)).Incident
		q := e.question(t, id)
		if !strings.HasPrefix(q.replyTo, "helpdesk+"+strings.ToLower(id)+".") {
			t.Fatalf("Reply-To %q", q.replyTo)
		}
		if rec := e.deliver(reply(tc.from, q.replyTo, q, "p1@example.test", tc.yes)); rec.Outcome != intake.OutcomeSurveyAnswer ||
			e.get(id).State != intake.Satisfaction {
			t.Fatalf("yes: %+v", rec)
		}
		survey := e.flush(t)
		if len(survey) != 1 || !strings.Contains(survey[0].messageID, ".satisfaction.") {
			t.Fatalf("satisfaction question: %+v", survey)
		}
		if rec := e.deliver(reply(tc.from, survey[0].replyTo, survey[0], "p2@example.test", tc.rating)); rec.Outcome != intake.OutcomeSurveyAnswer ||
			e.get(id).State != intake.Review {
			t.Fatalf("rating: %+v", rec)
		}
	}
}

// TestAuthenticatedAnswerWithoutReplyToken: dmarc=pass (or aligned DKIM) by
// the trusted server counts even when the reporter wrote a new mail to the
// help desk; unaligned DKIM does not.
func TestAuthenticatedAnswerWithoutReplyToken(t *testing.T) {
	for _, tc := range []struct {
		name, ar, body string
		counts         bool
	}{
		{"dmarc=pass (es)", "mx.example.test; spf=pass smtp.mailfrom=example.test; dmarc=pass (p=reject) header.from=example.test", "Sí, ya funciona", true},
		{"dkim=pass aligned (en)", "mx.example.test; dkim=pass header.d=mail.example.test header.s=s1", "Yes, all good", true},
		{"dkim=pass unaligned (en)", "mx.example.test; dkim=pass header.d=newsletters.test header.s=s1", "Yes, all good", false},
		{"dkim=pass unaligned (es)", "mx.example.test; dkim=pass header.d=example.test.evil.test", "Sí", false},
		// What the local mode's server stamps for a logged-in sender.
		{"auth=pass as the reporter (es)", "mx.example.test; auth=pass smtp.auth=ana@example.test", "Sí", true},
		{"auth=pass as a colleague (en)", "mx.example.test; auth=pass smtp.auth=carlos@example.test", "yes", false},
		{"auth=none (es)", "mx.example.test; auth=none", "Sí", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTrustEnv(t, checker(t, "auth"))
			id := e.deliver(mail(ana, "Correo caído", "d0@example.test", "", "El correo está caído")).Incident
			q := e.question(t, id)
			rec := e.deliver(reply(ana, "helpdesk@example.test", q, "d1@example.test", tc.body, "Authentication-Results: "+tc.ar))
			if !tc.counts {
				refused(t, e, id, rec, q)
				return
			}
			if rec.Outcome != intake.OutcomeSurveyAnswer || e.get(id).State != intake.Satisfaction {
				t.Fatalf("%+v, state %s", rec, e.get(id).State)
			}
		})
	}
}

// TestKeyRotation: a question sent before a key rotation is still answered
// through its reply address afterwards; new mail is signed with the new key.
func TestKeyRotation(t *testing.T) {
	oldKey, newKey := []byte("the reply key of last year, 32+ bytes"), []byte("the reply key of this year, 32+ bytes")
	before := newTrustEnv(t, nil, oldKey)
	id := before.deliver(mail(ana, "Correo caído", "k0@example.test", "", "El correo está caído")).Incident
	q := before.question(t, id)

	// The bots restart with the new key first and the old one kept.
	after := wire(t, before.env, nil, newKey, oldKey)
	if rec := after.deliver(reply(ana, q.replyTo, q, "k1@example.test", "Sí, ya funciona")); rec.Outcome != intake.OutcomeSurveyAnswer {
		t.Fatalf("an answer through a reply address of the old key: %+v", rec)
	}
	survey := after.flush(t)
	if len(survey) != 1 || !strings.Contains(survey[0].replyTo, "."+replytoken.KeyID(newKey)+".") || survey[0].replyTo == q.replyTo {
		t.Fatalf("new mail is not signed with the new key: %+v", survey)
	}

	// Once the old key is dropped, its addresses prove nothing.
	dropped := wire(t, before.env, nil, newKey)
	rec := dropped.deliver(reply(ana, q.replyTo, survey[0], "k2@example.test", "5"))
	if rec.Outcome == intake.OutcomeSurveyAnswer || dropped.get(id).State != intake.Satisfaction {
		t.Fatalf("a dropped key still answers: %+v", rec)
	}
	// The new key's address does.
	if rec := dropped.deliver(reply(ana, survey[0].replyTo, survey[0], "k3@example.test", "5")); rec.Outcome != intake.OutcomeSurveyAnswer {
		t.Fatalf("the new key's address: %+v", rec)
	}
}

// TestOldReplyAddressStillThreads: a reply to a reply address issued before
// per-recipient tokens joins its incident as a comment.
func TestOldReplyAddressStillThreads(t *testing.T) {
	e := newTrustEnv(t, nil)
	id := e.deliver(mail(ana, "Correo caído", "o0@example.test", "", "El correo está caído")).Incident
	q := e.question(t, id)
	old := "helpdesk+" + id + "." + legacyToken([]byte("inbound tests' reply key, 32+ bytes"), id) + "@example.test"
	rec := e.deliver(to(old, mail(ana, "Re: algo más", "o2@example.test", "", "Sí")))
	refused(t, e, id, rec, q)
}

// legacyToken is the token of reply addresses and Message-IDs before
// per-recipient tokens: an HMAC of the incident id alone.
func legacyToken(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil))[:16])
}

// zone is a DNS zone of TXT records: no real DNS can hold a test's keys.
type zone map[string]string

func (z zone) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := z[name]; ok {
		return []string{v}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

// TestDKIMVerifiedInTheBot: with verify_dkim, a reply signed by the From
// domain counts without any Authentication-Results; the same reply with its
// answer changed on the way does not.
func TestDKIMVerifiedInTheBot(t *testing.T) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	z := zone{"s1._domainkey.example.test": "v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(key.Public().(ed25519.PublicKey))}
	auth, err := senderauth.New(senderauth.Config{Accept: []string{"dkim"}, VerifyDKIM: true, Resolver: z})
	if err != nil {
		t.Fatal(err)
	}
	signed := func(raw string) string {
		var out strings.Builder
		if err := dkim.Sign(&out, strings.NewReader(raw), &dkim.SignOptions{Domain: "example.test", Selector: "s1", Signer: key}); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	for _, tc := range []struct {
		name, body string
		tamper     func(string) string
		counts     bool
	}{
		{"signed (en)", "Yes, it works now", func(s string) string { return s }, true},
		{"signed (es)", "Sí, ya funciona", func(s string) string { return s }, true},
		{"changed after signing (en)", "No, still broken", func(s string) string { return strings.Replace(s, "No, still broken", "Yes, it works", 1) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newTrustEnv(t, auth)
			id := e.deliver(mail(ana, "Correo caído", "v0@example.test", "", "El correo está caído")).Incident
			q := e.question(t, id)
			rec := e.deliver(tc.tamper(signed(reply(ana, "helpdesk@example.test", q, "v1@example.test", tc.body))))
			if !tc.counts {
				refused(t, e, id, rec, q)
				return
			}
			if rec.Outcome != intake.OutcomeSurveyAnswer || e.get(id).State != intake.Satisfaction {
				t.Fatalf("%+v, state %s", rec, e.get(id).State)
			}
		})
	}
}
