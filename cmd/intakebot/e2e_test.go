//go:build e2e

// The end-to-end suite runs the whole bot against a real Dovecot: .ci/run
// starts one (see .ci/dovecot.sh) and runs `go test -tags e2e`.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// maildirs delivers mail into Dovecot's maildirs, as an MTA would: the
// help-desk mailbox receives reports, and the SMTP sink below files the
// bot's answers into the reporter's mailbox.
type maildirs struct {
	root string
	uid  int
	n    atomic.Int64
}

func (m *maildirs) deliver(t testing.TB, user string, raw string) {
	t.Helper()
	dir := filepath.Join(m.root, user)
	for _, sub := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
		os.Chown(filepath.Join(dir, sub), m.uid, m.uid)
	}
	os.Chown(dir, m.uid, m.uid)
	name := fmt.Sprintf("%d.%d_%d.e2e", time.Now().Unix(), os.Getpid(), m.n.Add(1))
	tmp := filepath.Join(dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(raw, "\n", "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(tmp, m.uid, m.uid)
	if err := os.Rename(tmp, filepath.Join(dir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// received returns every mail in a user's maildir (new and cur).
// clear empties a maildir folder (a user's INBOX, or user/.Folder), so a
// second run of the suite on the same Dovecot (CI runs it once per Redis
// kind) counts only its own mail.
func (m *maildirs) clear(t testing.TB, folder string) {
	t.Helper()
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(m.root, folder, sub, "*"))
		for _, f := range files {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func (m *maildirs) received(user string) []string {
	var out []string
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(m.root, user, sub, "*"))
		for _, f := range files {
			raw, err := os.ReadFile(f)
			if err == nil {
				out = append(out, string(raw))
			}
		}
	}
	return out
}

// sink is an SMTP server that files each mail into its recipients' maildirs.
type sink struct {
	t  *testing.T
	md *maildirs
}

func (s sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

type sinkSession struct {
	s  sink
	to []string
}

func (x *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *sinkSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, to := range x.to {
		x.s.md.deliver(x.s.t, to, strings.ReplaceAll(string(raw), "\r\n", "\n"))
	}
	return nil
}
func (x *sinkSession) Reset()        { x.to = nil }
func (x *sinkSession) Logout() error { return nil }

func startSink(t *testing.T, md *maildirs) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(sink{t: t, md: md})
	srv.Domain = "mx.example.test"
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).Port
}

// eventually waits for cond, checking every 100 ms, for at most a minute.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(time.Minute)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// dovecotDesk starts a bot on the help-desk mailbox of the running Dovecot
// (.ci/dovecot.sh), with the mailbox settings mailbox (YAML, besides its
// name, address and IMAP server) and the outbox poll outboxPoll; the
// mailboxes are emptied first and the bot's mail lands in the reporters'
// maildirs. It returns those and the CLI environment of an agent.
func dovecotDesk(t *testing.T, mailbox, outboxPoll string) (*maildirs, map[string]string) {
	t.Helper()
	port := os.Getenv("INTAKEBOT_E2E_IMAP_PORT")
	root := os.Getenv("INTAKEBOT_E2E_MAILDIR")
	uid, err := strconv.Atoi(os.Getenv("INTAKEBOT_E2E_MAIL_UID"))
	if port == "" || root == "" || err != nil {
		t.Fatal("INTAKEBOT_E2E_IMAP_PORT, INTAKEBOT_E2E_MAILDIR and INTAKEBOT_E2E_MAIL_UID must name a running Dovecot (.ci/dovecot.sh)")
	}
	md := &maildirs{root: root, uid: uid}
	for _, folder := range []string{"ana@example.test", "helpdesk@example.test", filepath.Join("helpdesk@example.test", ".Processed")} {
		md.clear(t, folder)
	}
	smtpPort := startSink(t, md)
	_, prefix := redistest.New(t, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	s := startServe(t, map[string]string{
		"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix, "INTAKEBOT_OUTBOX_POLL": outboxPoll,
		"INTAKEBOT_EMAIL_MAILBOXES": fmt.Sprintf(`[{name: helpdesk, address: helpdesk@example.test, %s,
			imap: {host: 127.0.0.1, port: %s, tls: none, username: helpdesk@example.test, password: secret}}]`, mailbox, port),
		"INTAKEBOT_EMAIL_SMTP": fmt.Sprintf(`{host: 127.0.0.1, port: %d, tls: none}`, smtpPort),
	})
	out, err := cli(map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix}, "agents", "add", "alice")
	if err != nil {
		t.Fatal(err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return md, map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": lines[len(lines)-1]}
}

func TestE2EMailThroughDovecot(t *testing.T) {
	md, env := dovecotDesk(t, `poll: "@every 1s"`, "@every 1s")
	show := func(id string) string { out, _ := cli(env, "incidents", "show", id, "--json"); return out }

	// Ana writes to the help desk in Spanish.
	md.deliver(t, "helpdesk@example.test", `From: Ana Pérez <ana@example.test>
To: helpdesk@example.test
Subject: No me funciona el correo
Message-ID: <e2e-1@example.test>
Date: Wed, 25 Nov 2026 09:00:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hola, no me funciona el correo desde esta mañana.
`)
	eventually(t, "the incident", func() bool { return strings.Contains(show("INC-000001"), `"state": "analysis"`) })
	eventually(t, "the Spanish acknowledgment in Ana's mailbox", func() bool {
		for _, m := range md.received("ana@example.test") {
			if strings.Contains(m, "INC-000001") && strings.Contains(m, "Content-Language: es") {
				return true
			}
		}
		return false
	})

	// More detail, replying to the acknowledgment: it joins the incident.
	var ack string
	for _, m := range md.received("ana@example.test") {
		if strings.Contains(m, "INC-000001.ack.") {
			ack = m
		}
	}
	aid := regexp.MustCompile(`(?m)^Message-I[Dd]: <([^>]+)>`).FindStringSubmatch(ack)
	if aid == nil {
		t.Fatalf("no Message-ID in the acknowledgment:\n%s", ack)
	}
	md.deliver(t, "helpdesk@example.test", fmt.Sprintf(`From: Ana Pérez <ana@example.test>
To: helpdesk@example.test
Subject: Re: [INC-000001] Hemos registrado su incidencia
Message-ID: <e2e-detail@example.test>
In-Reply-To: <%s>
Content-Type: text/plain; charset=utf-8

Tampoco se abre el calendario.

El mié, 25 nov 2026, Help desk escribió:
> Hemos registrado su aviso como la incidencia INC-000001.
`, aid[1]))
	eventually(t, "the detail as a comment", func() bool {
		return strings.Contains(show("INC-000001"), `"text": "Tampoco se abre el calendario."`)
	})

	// An out-of-office reply changes nothing and is not answered.
	md.deliver(t, "helpdesk@example.test", `From: Ana Pérez <ana@example.test>
To: helpdesk@example.test
Subject: Fuera de la oficina
Message-ID: <e2e-ooo@example.test>
In-Reply-To: <INC-000001.ack.1@example.test>
Auto-Submitted: auto-replied

Estoy de vacaciones.
`)
	for _, args := range [][]string{{"incidents", "move", "INC-000001", "solution"}, {"incidents", "move", "INC-000001", "validation"}} {
		if out, err := cli(env, args...); err != nil {
			t.Fatal(err, out)
		}
	}
	var question string
	eventually(t, "the validation question", func() bool {
		for _, m := range md.received("ana@example.test") {
			if strings.Contains(m, "INC-000001.validation.") {
				question = m
				return true
			}
		}
		return false
	})
	qid := regexp.MustCompile(`(?m)^Message-I[Dd]: <([^>]+)>`).FindStringSubmatch(question)
	if qid == nil {
		t.Fatalf("no Message-ID in the question:\n%s", question)
	}
	// Ana's mail client answers to the Reply-To: her own reply address,
	// which is what makes the answer count.
	replyTo := regexp.MustCompile(`(?m)^Reply-To:[^<]*<([^>]+)>`)
	qrt := replyTo.FindStringSubmatch(question)
	if qrt == nil {
		t.Fatalf("no Reply-To in the question:\n%s", question)
	}
	md.deliver(t, "helpdesk@example.test", fmt.Sprintf(`From: Ana Pérez <ana@example.test>
To: %s
Subject: Re: [INC-000001] ¿Vuelve a funcionar el servicio?
Message-ID: <e2e-2@example.test>
In-Reply-To: <%s>
References: <%s>
Content-Type: text/plain; charset=utf-8

Sí, ya funciona. Gracias

El mié, 25 nov 2026, Help desk escribió:
> ¿Ha vuelto el servicio a la normalidad?
`, qrt[1], qid[1], qid[1]))
	eventually(t, "the incident in satisfaction", func() bool { return strings.Contains(show("INC-000001"), `"state": "satisfaction"`) })

	// The satisfaction question arrives; "5" to it moves the case to review.
	var survey string
	eventually(t, "the satisfaction question", func() bool {
		for _, m := range md.received("ana@example.test") {
			if strings.Contains(m, "INC-000001.satisfaction.") {
				survey = m
				return true
			}
		}
		return false
	})
	sid := regexp.MustCompile(`(?m)^Message-I[Dd]: <([^>]+)>`).FindStringSubmatch(survey)
	srt := replyTo.FindStringSubmatch(survey)
	if sid == nil || srt == nil {
		t.Fatalf("no Message-ID or Reply-To in the satisfaction question:\n%s", survey)
	}
	md.deliver(t, "helpdesk@example.test", fmt.Sprintf(`From: Ana Pérez <ana@example.test>
To: %s
Subject: Re: [INC-000001] ¿Qué tal lo hemos hecho?
Message-ID: <e2e-3@example.test>
In-Reply-To: <%s>
Content-Type: text/plain; charset=utf-8

5
`, srt[1], sid[1]))
	eventually(t, "the incident in review", func() bool { return strings.Contains(show("INC-000001"), `"state": "review"`) })

	inbound, err := cli(env, "inbound", "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome": "created"`, `"outcome": "appended"`, `"reason": "auto-reply"`, `"outcome": "survey_answer"`} {
		if !strings.Contains(inbound, want) {
			t.Errorf("ledger lacks %s:\n%s", want, inbound)
		}
	}
	// Ana got the acknowledgment and the two questions, nothing for the
	// out-of-office reply; the handled mail is in Processed, not in INBOX.
	if n := len(md.received("ana@example.test")); n != 3 {
		t.Fatalf("Ana received %d mails, want 3 (acknowledgment, validation, satisfaction)", n)
	}
	eventually(t, "the help-desk INBOX to be empty", func() bool {
		return len(md.received("helpdesk@example.test")) == 0
	})
	processed, _ := filepath.Glob(filepath.Join(md.root, "helpdesk@example.test", ".Processed", "cur", "*"))
	if len(processed) != 5 {
		t.Fatalf("%d mails in Processed, want 5", len(processed))
	}
	for _, f := range processed {
		if !strings.Contains(f, ":2,S") {
			t.Errorf("%s is not marked \\Seen", f)
		}
	}
}

// A mailbox with check_every asks Dovecot with NOOP instead of idling
// (Dovecot holds IDLE notices back 500 ms): with the poll at an hour, only
// the NOOPs can bring in a mail that arrives after a drain, and they do,
// to an acknowledgment in the reporter's language.
func TestE2ECheckEveryOnDovecot(t *testing.T) {
	md, env := dovecotDesk(t, `poll: "@every 1h", check_every: 50ms`, "@every 1h")
	for i, lang := range []string{"en", "es"} {
		id := fmt.Sprintf("INC-%06d", i+1)
		subject, body := "Printer jammed", "The printer on floor 2 is jammed."
		if lang == "es" {
			subject, body = "Impresora atascada", "La impresora de la planta 2 está atascada."
		}
		// The second mail comes once the first is registered, so after a
		// drain: only a NOOP can bring it in.
		md.deliver(t, "helpdesk@example.test", fmt.Sprintf(`From: Ana Pérez <ana@example.test>
To: helpdesk@example.test
Subject: %s
Message-ID: <e2e-check-%d@example.test>
Date: Wed, 25 Nov 2026 09:00:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

%s
`, subject, i, body))
		eventually(t, id+"'s "+lang+" acknowledgment in Ana's mailbox", func() bool {
			for _, m := range md.received("ana@example.test") {
				if strings.Contains(m, id) && strings.Contains(m, "Content-Language: "+lang) {
					return true
				}
			}
			return false
		})
		if out, _ := cli(env, "incidents", "show", id, "--json"); !strings.Contains(out, `"state": "analysis"`) {
			t.Fatalf("%s: %s", id, out)
		}
	}
}
