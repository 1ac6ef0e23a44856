package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	netsmtp "net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// banner reads the local mail server's banner from serve's output.
func banner(t *testing.T, s *started) localBanner {
	t.Helper()
	var b localBanner
	for _, line := range s.lines {
		b.read(line)
	}
	if !b.complete() {
		t.Fatalf("no complete local mail banner:\n%s", strings.Join(s.lines, "\n"))
	}
	return b
}

// serve with nothing configured runs a mail server of its own: a report
// sent to helpdesk over SMTP, as swaks sends it, is answered in demo's
// INBOX, read over IMAP.
func TestServeRunsALocalMailServer(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_OUTBOX_POLL": "@every 1s", "INTAKEBOT_LOCAL_POLL": "@every 1s"})
	b := banner(t, s)
	out := strings.Join(s.lines, "\n")
	if !strings.Contains(out, "swaks --server "+b.smtpAddr+" --from demo@intakebot.local --to helpdesk@intakebot.local") {
		t.Errorf("the banner does not show how to try it with swaks:\n%s", out)
	}

	// Like swaks: no AUTH, a bare mail, Go's own SMTP client.
	report := "From: demo@intakebot.local\r\nTo: helpdesk@intakebot.local\r\nSubject: VPN down\r\n\r\nThe VPN is down\r\n"
	if err := netsmtp.SendMail(b.smtpAddr, nil, "demo@intakebot.local", []string{"helpdesk@intakebot.local"}, []byte(report)); err != nil {
		t.Fatal(err)
	}

	// Any IMAP client; "demo" logs in as demo@intakebot.local.
	box, err := openMailbox(b.imapAddr, "demo", b.demo.password)
	if err != nil {
		t.Fatal(err)
	}
	defer box.close()
	ack, err := waitFor(context.Background(), 20*time.Second, "acknowledgment", func() (*imap.Envelope, bool, error) {
		env, err := box.next("INC-000001.ack.")
		return env, env != nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if ack.Subject != "[INC-000001] We have registered your incident: VPN down" || ack.From[0].Addr() != "helpdesk@intakebot.local" {
		t.Errorf("acknowledgment %q from %v", ack.Subject, ack.From)
	}

	// The bot filed the report away in helpdesk's Processed folder.
	hd, err := openMailbox(b.imapAddr, b.helpdesk.address, b.helpdesk.password)
	if err != nil {
		t.Fatal(err)
	}
	defer hd.close()
	if _, err := waitFor(context.Background(), 20*time.Second, "the report in Processed", func() (bool, bool, error) {
		sel, err := hd.c.Select("Processed", &imap.SelectOptions{ReadOnly: true}).Wait()
		return false, err == nil && sel.NumMessages == 1, err
	}); err != nil {
		t.Fatal(err)
	}
}

// The local SMTP server delivers to its own accounts only, with clear
// refusals, and checks AUTH PLAIN when a client uses it.
func TestLocalSMTPRefusals(t *testing.T) {
	s := startServe(t, map[string]string{})
	b := banner(t, s)
	c, err := smtp.Dial(b.smtpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", b.demo.address, "wrong")); !isSMTPCode(err, 535) {
		t.Errorf("AUTH with a wrong password: %v", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", b.demo.address, b.demo.password)); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.Mail(b.demo.address, nil); err != nil {
		t.Fatal(err)
	}
	for rcpt, want := range map[string]smtp.EnhancedCode{
		"nobody@intakebot.local": {5, 1, 1},
		"ana@example.test":       {5, 7, 1},
	} {
		var se *smtp.SMTPError
		if err := c.Rcpt(rcpt, nil); !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != want {
			t.Errorf("RCPT %s: %v, want 550 %v", rcpt, err, want)
		}
	}
	// Subaddresses reach the account: the bot's Reply-To is helpdesk+TOKEN.
	if err := c.Rcpt("Helpdesk+INC-000001.x@IntakeBot.local", nil); err != nil {
		t.Errorf("RCPT to a subaddress: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
}

func isSMTPCode(err error, code int) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code
}

// A taken port does not stop serve: the local mail server takes a free
// one and says so.
func TestLocalMailTakesAFreePortWhenItsPortIsTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	s := startServe(t, map[string]string{"INTAKEBOT_LOCAL_SMTP_LISTEN": busy.Addr().String()})
	b := banner(t, s)
	if b.smtpAddr == busy.Addr().String() || !strings.Contains(strings.Join(s.lines, "\n"), busy.Addr().String()+" was taken") {
		t.Fatalf("SMTP on %s with %s taken:\n%s", b.smtpAddr, busy.Addr(), strings.Join(s.lines, "\n"))
	}
	if err := netsmtp.SendMail(b.smtpAddr, nil, "demo@intakebot.local", []string{"demo@intakebot.local"}, []byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
}

func TestLocalMailListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:1143", "nonsense"} {
		m, err := startLocalMail(LocalConfig{IMAPListen: addr, SMTPListen: "127.0.0.1:0", Domain: "intakebot.local"}, 0, slog.New(slog.DiscardHandler))
		if err == nil {
			m.close()
			t.Errorf("%s accepted", addr)
		} else if !strings.Contains(err.Error(), "local.imap_listen") {
			t.Errorf("%s: %v does not name the key", addr, err)
		}
	}
}

// Local mode is for serve with nothing configured; a Redis or a mail
// section of one's own turns it off.
func TestLocalModeOnlyWithNothingConfigured(t *testing.T) {
	for env, want := range map[string]bool{
		"":                          true,
		"INTAKEBOT_REDIS_URL":       false,
		"INTAKEBOT_EMAIL_SMTP_HOST": false,
		"INTAKEBOT_EMAIL_MAILBOXES": false,
	} {
		vars := map[string]string{}
		switch env {
		case "INTAKEBOT_EMAIL_MAILBOXES":
			vars[env] = "[{name: x, address: x@example.test}]"
		case "":
		default:
			vars[env] = "redis://127.0.0.1:1"
		}
		cfg, err := loadConfig("", envOf(vars))
		if err != nil {
			t.Fatal(err)
		}
		if got := localMode(cfg); got != want {
			t.Errorf("with %s set: local mode %v, want %v", env, got, want)
		}
	}
}
