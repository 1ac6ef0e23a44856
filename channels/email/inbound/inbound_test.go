package inbound_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/intakebot/intakebot/channels/email/inbound"
	"github.com/intakebot/intakebot/channels/email/message"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

type env struct {
	t      testing.TB
	store  *redisstore.Store
	engine *workflow.Engine
	proc   *inbound.Processor
	uid    uint32
}

// testTokens signs as the bot does; the same key every time, so that
// addresses made by one call verify with another.
func testTokens() *replytoken.Tokens {
	tk, err := replytoken.New(replytoken.Config{Addresses: []string{"helpdesk@example.test", "soporte@example.test"},
		Keys: [][]byte{[]byte("inbound tests' reply key, 32+ bytes")}})
	if err != nil {
		panic(err)
	}
	return tk
}

// newEnv wires a processor to a fresh Redis; auth may be nil (no sender
// authentication).
func newEnv(t testing.TB, auth inbound.SenderAuth) *env {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	rules, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
		Categories: []intake.Category{{Name: "email", Keywords: []string{"correo", "email", "outlook"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	deps := inbound.Deps{Incidents: engine, Ledger: store, Threads: store, Files: store, Acts: store, Tokens: testTokens(),
		Auth: auth, Log: slog.New(slog.DiscardHandler), Now: time.Now}
	proc := inbound.New(inbound.Config{
		Detector: message.Detector{OwnAddresses: []string{"helpdesk@example.test"}, LoopHeader: "X-Intakebot-Loop"},
	}, deps)
	return &env{t: t, store: store, engine: engine, proc: proc}
}

// deliver processes a raw mail as the next UID of the help-desk mailbox.
func (e *env) deliver(raw string) intake.InboundRecord {
	e.t.Helper()
	e.uid++
	rec, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: e.uid}, []byte(raw))
	if err != nil {
		e.t.Fatalf("process: %v", err)
	}
	return rec
}

func (e *env) get(id string) *intake.Incident {
	e.t.Helper()
	inc, err := e.engine.Get(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

func (e *env) agent(id string, to intake.State) {
	e.t.Helper()
	if _, err := e.engine.Move(context.Background(), id, intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}, to, ""); err != nil {
		e.t.Fatal(err)
	}
}

func mail(from, subject, msgID, inReplyTo, body string, extra ...string) string {
	h := []string{
		"From: " + from, "To: Help desk <helpdesk@example.test>", "Subject: " + subject,
		"Date: Wed, 25 Nov 2026 09:00:00 +0100", "Message-ID: <" + msgID + ">",
		"MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
	}
	if inReplyTo != "" {
		h = append(h, "In-Reply-To: <"+inReplyTo+">", "References: <"+inReplyTo+">")
	}
	h = append(h, extra...)
	return strings.Join(h, "\r\n") + "\r\n\r\n" + strings.ReplaceAll(body, "\n", "\r\n")
}

const ana = "Ana Pérez <ana@example.test>"

// ours is the Message-ID of our mail of a kind about an incident.
func ours(id, kind string) string {
	mid, err := testTokens().MessageID(id+":"+kind+":1", "helpdesk.example.test")
	if err != nil {
		panic(err)
	}
	return mid
}

// replyAddress is the reply address our mails about id give rcpt.
func replyAddress(id, rcpt string) string {
	return testTokens().ReplyAddress("helpdesk@example.test", id, rcpt)
}

// to readdresses a mail made by mail() (to the help desk) to addr.
func to(addr, raw string) string {
	return strings.Replace(raw, "To: Help desk <helpdesk@example.test>", "To: Help desk <"+addr+">", 1)
}

func TestSpanishMailThroughTheWholeModel(t *testing.T) {
	e := newEnv(t, nil)
	rec := e.deliver(mail(ana, "No me funciona el correo", "m1@example.test", "", "Hola,\nno me funciona el correo desde esta mañana.\n\nEnviado desde mi iPhone"))
	if rec.Outcome != intake.OutcomeCreated || rec.Incident == "" {
		t.Fatalf("first mail: %+v", rec)
	}
	id := rec.Incident
	inc := e.get(id)
	if inc.Reporter.Language != intake.Spanish || inc.Reporter.Email != "ana@example.test" || inc.Category != "email" ||
		strings.Contains(inc.Description, "iPhone") || len(inc.MailIDs) != 1 {
		t.Fatalf("registered %+v", inc)
	}

	// More detail, replying to our acknowledgment: a comment, quote stripped.
	rec = e.deliver(mail(ana, "Re: [INC] acuse", "m2@example.test", ours(id, "ack"),
		"Además tampoco abre el calendario.\n\nEl mié, 25 nov 2026 a las 9:01, Help desk <helpdesk@example.test> escribió:\n> Hemos registrado su incidencia"))
	if rec.Outcome != intake.OutcomeAppended || rec.Incident != id {
		t.Fatalf("reply: %+v", rec)
	}
	if c := e.get(id).Comments; len(c) != 1 || c[0].Text != "Además tampoco abre el calendario." {
		t.Fatalf("comments %+v", c)
	}

	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	rec = e.deliver(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: ¿Vuelve a funcionar?", "m3@example.test", ours(id, "validation"), "Sí, ya funciona. Gracias")))
	if rec.Outcome != intake.OutcomeSurveyAnswer || rec.Step != "validation" || e.get(id).State != intake.Satisfaction {
		t.Fatalf("yes: %+v state %s", rec, e.get(id).State)
	}
	rec = e.deliver(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: ¿Qué tal lo hemos hecho?", "m4@example.test", ours(id, "satisfaction"), "5\n\nEl jue, 26 nov escribió:\n> Responda con un número")))
	inc = e.get(id)
	if rec.Outcome != intake.OutcomeSurveyAnswer || inc.State != intake.Review || inc.Surveys[1].Rating != 5 || inc.Surveys[1].Via != "email" {
		t.Fatalf("rating: %+v %+v", rec, inc.Surveys)
	}

	// Every mail has exactly one ledger entry, newest first.
	list, _, err := e.store.Inbound(context.Background(), intake.ChannelEmail, 10, "")
	if err != nil || len(list) != 4 || list[0].MessageID != "m4@example.test" || list[3].Outcome != intake.OutcomeCreated {
		t.Fatalf("ledger %+v %v", list, err)
	}
}

func TestEnglishNoGoesBackAndUnclearAsksOnce(t *testing.T) {
	e := newEnv(t, nil)
	id := e.deliver(mail("Bob <bob@example.test>", "Outlook crashes", "b1@example.test", "", "Outlook crashes when I open it.")).Incident
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	for i, body := range []string{"I am not sure, let me check tomorrow", "hmm, maybe?"} {
		rec := e.deliver(mail("bob@example.test", "Re: x", fmt.Sprintf("b-unclear-%d@example.test", i), ours(id, "validation"), body))
		if rec.Outcome != intake.OutcomeAppended {
			t.Fatalf("unclear reply %d: %+v", i, rec)
		}
	}
	inc := e.get(id)
	if inc.State != intake.Validation || len(inc.Comments) != 2 {
		t.Fatalf("after unclear replies: %s, %d comments", inc.State, len(inc.Comments))
	}
	if n := countQueued(t, e, "validation"); n != 2 {
		t.Fatalf("%d validation questions queued, want the first and one repeat", n)
	}
	rec := e.deliver(to(replyAddress(id, "bob@example.test"), mail("bob@example.test", "Re: x", "b2@example.test", ours(id, "validation"), "No, it is still broken")))
	inc = e.get(id)
	if rec.Outcome != intake.OutcomeSurveyAnswer || inc.State != intake.Analysis || inc.ReopenCount != 1 || inc.Surveys[0].Comment == "" {
		t.Fatalf("no: %+v %s %d %+v", rec, inc.State, inc.ReopenCount, inc.Surveys)
	}
}

func countQueued(t *testing.T, e *env, kind intake.NoticeKind) int {
	list, err := e.store.Outbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, q := range list {
		if q.Kind == kind {
			n++
		}
	}
	return n
}

func TestRedeliveryAndDuplicates(t *testing.T) {
	e := newEnv(t, nil)
	raw := mail(ana, "VPN caída", "dup@example.test", "", "La VPN está caída")
	first, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "helpdesk", UIDValidity: 7, UID: 42}, []byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	// The same mail again from the same place: a crash before the mailbox
	// was told. Same outcome, nothing new.
	again, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "helpdesk", UIDValidity: 7, UID: 42}, []byte(raw))
	if err != nil || again.Outcome != intake.OutcomeCreated || again.Incident != first.Incident {
		t.Fatalf("redelivery: %+v %v", again, err)
	}
	// The same Message-ID from another mailbox: its own outcome, no effect.
	dup, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "support", UIDValidity: 1, UID: 1}, []byte(raw))
	if err != nil || dup.Outcome != intake.OutcomeIgnored || dup.Reason != "duplicate" || dup.Incident != first.Incident {
		t.Fatalf("duplicate: %+v %v", dup, err)
	}
	list, _, _ := e.store.Inbound(context.Background(), intake.ChannelEmail, 10, "")
	if len(list) != 2 {
		t.Fatalf("%d ledger entries, want 2 (created, duplicate)", len(list))
	}
	if n := countQueued(t, e, "ack"); n != 1 {
		t.Fatalf("%d acknowledgments, want 1", n)
	}
}

func TestAutomatedMailIsIgnored(t *testing.T) {
	e := newEnv(t, nil)
	id := e.deliver(mail(ana, "Impresora", "p1@example.test", "", "La impresora no imprime")).Incident
	for _, c := range []struct{ raw, reason string }{
		{mail(ana, "Fuera de la oficina", "ooo@example.test", ours(id, "ack"), "Estoy de vacaciones", "Auto-Submitted: auto-replied"), message.ReasonAutoReply},
		{mail("MAILER-DAEMON@mx.example.test", "Undelivered", "bounce@mx", "", "550 no such user"), message.ReasonBounce},
		{mail("helpdesk@example.test", "[INC] loop", "loop@x", "", "our own mail", "X-Intakebot-Loop: helpdesk@example.test"), message.ReasonLoop},
	} {
		rec := e.deliver(c.raw)
		if rec.Outcome != intake.OutcomeIgnored || rec.Reason != c.reason {
			t.Errorf("%s: %+v", c.reason, rec)
		}
	}
	if inc := e.get(id); len(inc.Comments) != 0 || inc.Version != 1 {
		t.Fatalf("an automated mail changed the incident: %+v", inc)
	}
	if n := countQueued(t, e, "ack"); n != 1 {
		t.Fatalf("%d acknowledgments, want only the first mail's", n)
	}
}

func TestWhoMayAnswerAndThreading(t *testing.T) {
	e := newEnv(t, nil)
	id := e.deliver(mail(ana, "Correo caído", "root@example.test", "", "El correo está caído")).Incident
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)

	// A colleague answering "yes" on the thread: a comment, no answer.
	rec := e.deliver(mail("Carlos <carlos@example.test>", "Re: Correo caído", "c1@example.test", "root@example.test", "Sí, a mí ya me funciona"))
	inc := e.get(id)
	if rec.Outcome != intake.OutcomeAppended || inc.State != intake.Validation || inc.Comments[0].Text == "" {
		t.Fatalf("colleague: %+v %s", rec, inc.State)
	}
	// A stranger with only a subject tag opens a new incident.
	rec = e.deliver(mail("mallory@example.test", "Re: ["+id+"] yes", "s1@example.test", "", "yes"))
	if rec.Outcome != intake.OutcomeCreated || rec.Incident == id {
		t.Fatalf("stranger: %+v", rec)
	}
	// The reporter's address with only a subject tag (a new mail, no
	// thread headers): anyone could have written it, so it is a comment.
	rec = e.deliver(mail(ana, "Re: ["+id+"] ¿funciona?", "a2@example.test", "", "no, sigue igual"))
	if rec.Outcome != intake.OutcomeAppended || e.get(id).State != intake.Validation {
		t.Fatalf("reporter by tag: %+v", rec)
	}
	// Through her reply address, it answers.
	rec = e.deliver(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: ¿funciona?", "a3@example.test", "", "no, sigue igual")))
	if rec.Outcome != intake.OutcomeSurveyAnswer || e.get(id).State != intake.Analysis {
		t.Fatalf("reporter through her reply address: %+v", rec)
	}
}

func TestReplyAddressIsTheReportersOnly(t *testing.T) {
	e := newEnv(t, nil)
	id := e.deliver(mail(ana, "Correo", "t0@example.test", "", "no funciona el correo")).Incident
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	// Ana answers from her phone's other address, to her reply address: it
	// was given to ana@example.test, not to this sender, so it is a comment.
	rec := e.deliver(to(replyAddress(id, "ana@example.test"), mail("Ana <ana.perez@personal.example>", "Re: x", "t1@example.test", "", "sí")))
	if rec.Outcome != intake.OutcomeAppended || rec.Incident != id || e.get(id).State != intake.Validation {
		t.Fatalf("another sender through Ana's reply address: %+v", rec)
	}
	// A reply address with a token for nobody does not even thread.
	real := replyAddress(id, "ana@example.test")
	forged := "helpdesk+" + id + ".zzzz." + strings.Split(real, ".")[2] // another key id, the same token@example
	forged += ".test"
	if rec := e.deliver(to(forged, mail("mallory@example.test", "hola", "t2@example.test", "", "sí"))); rec.Incident == id {
		t.Fatalf("a forged reply address threaded: %+v (%s)", rec, forged)
	}
	// Her own address to her reply address answers.
	if rec := e.deliver(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: x", "t3@example.test", "", "sí"))); rec.Outcome != intake.OutcomeSurveyAnswer {
		t.Fatalf("Ana through her reply address: %+v", rec)
	}
}

func TestReplyToClosedIncidentOpensALinkedOne(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	id := e.deliver(mail(ana, "Correo", "c0@example.test", "", "no funciona el correo")).Incident
	alice := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api", Admin: true}
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	by := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "phone"}
	e.engine.AnswerValidation(ctx, id, by, true, "")
	e.engine.Rate(ctx, id, by, 4, "")
	if _, err := e.engine.Move(ctx, id, alice, intake.Closed, ""); err != nil {
		t.Fatal(err)
	}
	rec := e.deliver(mail(ana, "Re: cerrada", "c9@example.test", ours(id, "closed"), "Ha vuelto a fallar"))
	if rec.Outcome != intake.OutcomeCreated || rec.Incident == id || e.get(rec.Incident).RelatedID != id {
		t.Fatalf("after close: %+v", rec)
	}
}

func TestBadMailIsQuarantinedNotFatal(t *testing.T) {
	e := newEnv(t, nil)
	for name, raw := range map[string]string{
		"no header separator": "this is not a mail at all",
		"no from":             "Subject: hi\r\nMessage-ID: <nofrom@x>\r\n\r\nbody",
	} {
		rec := e.deliver(raw)
		if rec.Outcome != intake.OutcomeQuarantined || rec.Reason == "" {
			t.Errorf("%s: %+v", name, rec)
		}
	}
	cut, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 999, Truncated: true},
		[]byte(mail(ana, "big", "cut@example.test", "", "the first bytes")))
	if err != nil || cut.Outcome != intake.OutcomeQuarantined || !strings.Contains(cut.Reason, "too large") {
		t.Errorf("truncated: %+v %v", cut, err)
	}
	huge := mail(ana, "big", "big@example.test", "", strings.Repeat("x", 26<<20))
	if rec := e.deliver(huge); rec.Outcome != intake.OutcomeQuarantined || !strings.Contains(rec.Reason, "too large") {
		t.Errorf("huge: %+v", rec)
	}
}

func TestRedisDownIsAnErrorNotAnOutcome(t *testing.T) {
	dead, _ := redisstore.Connect("redis://127.0.0.1:1")
	store := redisstore.New(dead, "x", intake.RouteEmail, intake.RouteSlack)
	rules, _ := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "g", DefaultImpact: intake.Low, DefaultUrgency: intake.Low})
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	p := inbound.New(inbound.Config{}, inbound.Deps{Incidents: engine, Ledger: store, Threads: store, Files: store, Acts: store,
		Log: slog.New(slog.DiscardHandler), Now: time.Now})
	if _, err := p.Process(context.Background(), inbound.Source{Mailbox: "m", UID: 1}, []byte(mail(ana, "x", "x@x", "", "x"))); err == nil {
		t.Fatal("no error with Redis down")
	}
}

func TestAttachmentsAreKeptOnce(t *testing.T) {
	e := newEnv(t, nil)
	raw := strings.Join([]string{
		"From: " + ana, "To: helpdesk@example.test", "Subject: Pantalla azul", "Message-ID: <att@example.test>",
		"MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="b"`, "", "--b",
		"Content-Type: text/plain; charset=utf-8", "", "Sale esta pantalla al arrancar.", "--b",
		`Content-Type: image/png; name="pantalla.png"`, `Content-Disposition: attachment; filename="pantalla.png"`,
		"Content-Transfer-Encoding: base64", "", "iVBORw0KGgo=", "--b--", ""}, "\r\n")
	src := inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 1}
	for range 2 { // the second time: a crash before the mailbox was told
		if _, err := e.proc.Process(context.Background(), src, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	inc := e.get("INC-000001")
	if len(inc.Attachments) != 1 || inc.Attachments[0].Name != "pantalla.png" || inc.Attachments[0].Type != "image/png" {
		t.Fatalf("attachments %+v", inc.Attachments)
	}
	a, err := e.store.Attachment(context.Background(), "INC-000001", 0)
	if err != nil || string(a.Content) != "\x89PNG\r\n\x1a\n" {
		t.Fatalf("content %q %v", a.Content, err)
	}
}

// TestBatchKeepsThreadsInOrder processes, in one batch, a report and the
// replies to it together with unrelated mail: the replies must join the
// report's incident however the workers interleave.
func TestBatchKeepsThreadsInOrder(t *testing.T) {
	for round := range 5 {
		e := newEnv(t, nil)
		var items []inbound.Item
		add := func(raw string) {
			items = append(items, inbound.Item{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: uint32(len(items) + 1)}, Raw: []byte(raw)})
		}
		for i := range 6 {
			add(mail(fmt.Sprintf("user%d@example.test", i), "Printer", fmt.Sprintf("u%d@example.test", i), "", "the printer jams"))
		}
		add(mail(ana, "Correo caído", "root@example.test", "", "El correo está caído"))
		add(mail(ana, "Re: Correo caído", "more@example.test", "root@example.test", "Y el calendario tampoco"))
		add(mail("Carlos <carlos@example.test>", "Re: Correo caído", "c@example.test", "root@example.test", "A mí también me pasa"))
		recs, errs := e.proc.ProcessBatch(context.Background(), items, 8)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d item %d: %v", round, i, err)
			}
		}
		root := recs[6].Incident
		if recs[6].Outcome != intake.OutcomeCreated || recs[7].Outcome != intake.OutcomeAppended || recs[8].Outcome != intake.OutcomeAppended ||
			recs[7].Incident != root || recs[8].Incident != root {
			t.Fatalf("round %d: thread %+v %+v %+v", round, recs[6], recs[7], recs[8])
		}
		if c := e.get(root).Comments; len(c) != 2 {
			t.Fatalf("round %d: %d comments", round, len(c))
		}
		seen := map[string]bool{}
		for _, r := range recs[:6] {
			if r.Outcome != intake.OutcomeCreated || seen[r.Incident] {
				t.Fatalf("round %d: unrelated mail %+v", round, r)
			}
			seen[r.Incident] = true
		}
	}
}

// flakyThreads fails RememberMail once: a crash (or a Redis blip) after the
// mail's act reached the incident and before its outcome was recorded.
type flakyThreads struct {
	*redisstore.Store
	failed bool
}

func (f *flakyThreads) RememberMail(ctx context.Context, id, mid string, people []string) error {
	if !f.failed {
		f.failed = true
		return fmt.Errorf("connection reset")
	}
	return f.Store.RememberMail(ctx, id, mid, people)
}

func TestInterruptedAnswerIsFinishedNotDecidedAgain(t *testing.T) {
	e := newEnv(t, nil)
	id := e.deliver(mail(ana, "Correo", "i0@example.test", "", "no funciona el correo")).Incident
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	flaky := &flakyThreads{Store: e.store}
	proc := inbound.New(inbound.Config{}, inbound.Deps{Incidents: e.engine, Ledger: e.store,
		Threads: flaky, Files: e.store, Acts: e.store, Tokens: testTokens(), Log: slog.New(slog.DiscardHandler), Now: time.Now})
	raw := []byte(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: x", "i1@example.test", ours(id, "validation"), "Sí, ya funciona")))
	src := inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 50}
	if _, err := proc.Process(context.Background(), src, raw); err == nil {
		t.Fatal("the interrupted run reported success")
	}
	if e.get(id).State != intake.Satisfaction {
		t.Fatal("the answer did not reach the incident before the interruption")
	}
	// The retry comes under another UID (the folder was recreated): it must
	// finish the same mail, not call it a duplicate nor read "Sí" as an
	// unclear rating.
	rec, err := proc.Process(context.Background(), inbound.Source{Mailbox: "helpdesk", UIDValidity: 2, UID: 1}, raw)
	if err != nil || rec.Outcome != intake.OutcomeSurveyAnswer || rec.Step != "validation" {
		t.Fatalf("retry: %+v %v", rec, err)
	}
	if n := countQueued(t, e, "satisfaction"); n != 1 {
		t.Fatalf("%d satisfaction questions queued, want 1", n)
	}
	if c := e.get(id).Comments; len(c) != 0 {
		t.Fatalf("the answer was also kept as a comment: %+v", c)
	}
}

func TestHugeReplyIsClippedNotRetriedForever(t *testing.T) {
	e := newEnv(t, nil)
	id := e.deliver(mail(ana, "Correo", "h0@example.test", "", "no funciona el correo")).Incident
	rec := e.deliver(mail(ana, "Re: x", "h1@example.test", ours(id, "ack"), strings.Repeat("línea de log ", 20000)))
	if rec.Outcome != intake.OutcomeAppended {
		t.Fatalf("huge reply: %+v", rec)
	}
	c := e.get(id).Comments
	if len(c) != 1 || len(c[0].Text) > intake.MaxTextBytes || !strings.HasSuffix(c[0].Text, "[…]") || !utf8.ValidString(c[0].Text) {
		t.Fatalf("comment of %d bytes", len(c[0].Text))
	}
	big := e.deliver(mail(strings.Repeat("N", 300)+" <nombre@example.test>", "Nuevo", "h2@example.test", "", strings.Repeat("x", 70000)))
	if big.Outcome != intake.OutcomeCreated {
		t.Fatalf("huge report: %+v", big)
	}
}

func TestForgedOwnMessageIDThreadsNothing(t *testing.T) {
	e := newEnv(t, nil)
	id := e.deliver(mail(ana, "Correo", "f0@example.test", "", "no funciona el correo")).Incident
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	// Someone who guessed our Message-ID form, but not its token, forging
	// Ana's address as well.
	rec := e.deliver(mail(ana, "Re: x", "f1@example.test", id+".validation.1@helpdesk.example.test", "sí"))
	if rec.Incident == id || e.get(id).State != intake.Validation {
		t.Fatalf("forged reference threaded: %+v, state %s", rec, e.get(id).State)
	}
}

func TestReportRemembersTheMailboxItCameTo(t *testing.T) {
	e := newEnv(t, nil)
	rec, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "soporte", UIDValidity: 1, UID: 1, Address: "soporte@example.test"},
		[]byte(mail(ana, "Impresora", "mb@example.test", "", "La impresora no imprime")))
	if err != nil {
		t.Fatal(err)
	}
	inc := e.get(rec.Incident)
	if inc.Mailbox != "soporte@example.test" {
		t.Fatalf("mailbox %q", inc.Mailbox)
	}
	texts, _ := templates.Load()
	q, _ := e.store.Claim(context.Background(), intake.RouteEmail, time.Now(), time.Minute, 10)
	msg, err := smtpout.Renderer{Texts: texts}.Render(q[0].Outgoing(inc), inc)
	if err != nil || msg.From != "soporte@example.test" {
		t.Fatalf("the answer goes out from %q (%v)", msg.From, err)
	}
}

func TestParticipantMayUseTheSubjectTag(t *testing.T) {
	e := newEnv(t, nil)
	raw := strings.Replace(mail(ana, "Correo caído", "p0@example.test", "", "El correo está caído"),
		"To: Help desk <helpdesk@example.test>", "To: Help desk <helpdesk@example.test>\r\nCc: Carlos <carlos@example.test>", 1)
	id := e.deliver(raw).Incident
	// Carlos, in copy of the report, writes a new mail with only the tag.
	rec := e.deliver(mail("Carlos <carlos@example.test>", "["+id+"] también me pasa", "p1@example.test", "", "A mí tampoco me funciona"))
	if rec.Outcome != intake.OutcomeAppended || rec.Incident != id {
		t.Fatalf("participant with a tag: %+v", rec)
	}
	// Someone never on the thread opens a new one.
	if rec := e.deliver(mail("eve@example.test", "["+id+"] hola", "p2@example.test", "", "hola")); rec.Incident == id {
		t.Fatalf("a stranger joined by the tag: %+v", rec)
	}
	if c := e.get(id).Comments; len(c) != 1 || c[0].Author != "Carlos" {
		t.Fatalf("comments %+v", c)
	}
	// A participant cannot bring others in: Carlos copies Eve, who then
	// tries the tag.
	raw = strings.Replace(mail("Carlos <carlos@example.test>", "Re: ["+id+"]", "p3@example.test", "", "Copio a Eve"),
		"To: Help desk <helpdesk@example.test>", "To: Help desk <helpdesk@example.test>\r\nCc: eve@example.test", 1)
	e.deliver(raw)
	if rec := e.deliver(mail("eve@example.test", "["+id+"] sí", "p4@example.test", "", "sí")); rec.Incident == id {
		t.Fatalf("a participant's copy joined: %+v", rec)
	}
	// And a participant's "yes" answers nothing.
	e.agent(id, intake.Solution)
	e.agent(id, intake.Validation)
	if rec := e.deliver(mail("Carlos <carlos@example.test>", "["+id+"] sí", "p5@example.test", "", "Sí, ya funciona")); rec.Outcome != intake.OutcomeAppended ||
		e.get(id).State != intake.Validation {
		t.Fatalf("a participant answered the survey: %+v", rec)
	}
}

func TestReleasedQuarantineIsProcessedAnew(t *testing.T) {
	e := newEnv(t, nil)
	raw := []byte(mail(ana, "Adjunto grande", "q@example.test", "", "Os envío el registro"))
	src := inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 9, Truncated: true}
	first, err := e.proc.Process(context.Background(), src, raw)
	if err != nil || first.Outcome != intake.OutcomeQuarantined {
		t.Fatalf("first: %+v %v", first, err)
	}
	list, _, _ := e.store.Inbound(context.Background(), intake.ChannelEmail, 10, "")
	if err := e.store.Release(context.Background(), list[0].Key); err != nil {
		t.Fatal(err)
	}
	// The operator raised the size limit and put the mail back.
	src.Truncated, src.UID = false, 10
	again, err := e.proc.Process(context.Background(), src, raw)
	if err != nil || again.Outcome != intake.OutcomeCreated {
		t.Fatalf("after release: %+v %v", again, err)
	}
	if after, _, _ := e.store.Inbound(context.Background(), intake.ChannelEmail, 10, ""); len(after) != 2 ||
		after[0].Outcome != intake.OutcomeCreated || after[1].Outcome != intake.OutcomeQuarantined {
		t.Fatalf("ledger after the release: %+v", after)
	}
	if err := e.store.Release(context.Background(), list[0].Key); !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("releasing a created message: %v", err)
	}
	if err := e.store.Release(context.Background(), "mid:nope@x"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("releasing an unknown message: %v", err)
	}
}

func TestSameMailTwiceInOneBatch(t *testing.T) {
	e := newEnv(t, nil)
	raw := []byte(mail(ana, "VPN", "twice@example.test", "", "La VPN no conecta"))
	items := []inbound.Item{
		{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 1}, Raw: raw},
		{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 2}, Raw: raw},
		{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 3}, Raw: []byte("not a mail")},
		{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 4}, Raw: []byte("not a mail")},
	}
	recs, errs := e.proc.ProcessBatch(context.Background(), items, 4)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if recs[0].Outcome != intake.OutcomeCreated || recs[1].Outcome != intake.OutcomeIgnored || recs[1].Reason != "duplicate" ||
		recs[1].Incident != recs[0].Incident || recs[2].Outcome != intake.OutcomeQuarantined || recs[3].Reason != "duplicate" {
		t.Fatalf("outcomes %+v", recs)
	}
	list, _, _ := e.store.Inbound(context.Background(), intake.ChannelEmail, 10, "")
	if len(list) != 4 {
		t.Fatalf("%d ledger entries for 4 mails", len(list))
	}
	// The whole batch again (a crash before the mailbox was told): the same
	// outcomes, nothing new.
	again, againErrs := e.proc.ProcessBatch(context.Background(), items, 4)
	for _, err := range againErrs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if again[0].Incident != recs[0].Incident || again[1].Reason != "duplicate" || again[3].Reason != "duplicate" ||
		again[1].Key != again[0].Key {
		t.Fatalf("again %+v", again)
	}
	if list, _, _ := e.store.Inbound(context.Background(), intake.ChannelEmail, 10, ""); len(list) != 4 {
		t.Fatalf("%d ledger entries after the redelivery", len(list))
	}
}

// Mails whose content the server did not return are each quarantined with
// their own outcome (empty body), in a batch and one by one: not taken
// for duplicates of each other, and a redelivery records nothing new.
func TestEmptyBodiesEachGetAnOutcome(t *testing.T) {
	e := newEnv(t, nil)
	items := []inbound.Item{
		{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 1, NoBody: true}},
		{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 2, NoBody: true}, Raw: []byte{}},
	}
	for round := range 2 {
		recs, errs := e.proc.ProcessBatch(context.Background(), items, 2)
		for i, rec := range recs {
			if errs[i] != nil || rec.Outcome != intake.OutcomeQuarantined || !strings.Contains(rec.Reason, "empty body") {
				t.Fatalf("round %d, mail %d: %+v %v", round, i, rec, errs[i])
			}
		}
	}
	one, err := e.proc.Process(context.Background(), inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: 3, NoBody: true}, nil)
	if err != nil || one.Outcome != intake.OutcomeQuarantined || !strings.Contains(one.Reason, "empty body") {
		t.Fatalf("one: %+v %v", one, err)
	}
	if list, _, _ := e.store.Inbound(context.Background(), intake.ChannelEmail, 10, ""); len(list) != 3 {
		t.Fatalf("%d ledger entries for 3 empty mails, want 3: %+v", len(list), list)
	}
}
