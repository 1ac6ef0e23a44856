package main

import (
	"context"
	netsmtp "net/smtp"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/apiclient"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/localmail"
)

// banner reads the local mail server's banner from serve's output.
func banner(t *testing.T, s *started) localmail.Banner {
	t.Helper()
	var b localmail.Banner
	for _, line := range s.lines {
		b.Read(line)
	}
	if !b.Complete() {
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
	if !strings.Contains(out, "swaks --server "+b.SMTPAddr+" --from demo@intakebot.local --to helpdesk@intakebot.local") {
		t.Errorf("the banner does not show how to try it with swaks:\n%s", out)
	}

	// Like swaks: no AUTH, a bare mail, Go's own SMTP client.
	report := "From: demo@intakebot.local\r\nTo: helpdesk@intakebot.local\r\nSubject: VPN down\r\n\r\nThe VPN is down\r\n"
	if err := netsmtp.SendMail(b.SMTPAddr, nil, "demo@intakebot.local", []string{"helpdesk@intakebot.local"}, []byte(report)); err != nil {
		t.Fatal(err)
	}

	// Any IMAP client; "demo" logs in as demo@intakebot.local.
	box, err := openMailbox(b.IMAPAddr, "demo", b.Demo.Password)
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
	hd, err := openMailbox(b.IMAPAddr, b.Helpdesk.Address, b.Helpdesk.Password)
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
		cfg, _, err := config.Load("", config.Env(vars))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.LocalMode(); got != want {
			t.Errorf("with %s set: local mode %v, want %v", env, got, want)
		}
	}
}

// Local mode trusts its own mail server's Authentication-Results, so the
// reporter's answer counts when the client logged in as the reporter, and
// is only a comment (with the question asked again) when it did not: a
// forged From on this machine is no better than one from outside.
func TestLocalModeTrustsOnlyAnAuthenticatedAnswer(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_OUTBOX_POLL": "@every 1s", "INTAKEBOT_LOCAL_POLL": "@every 1s"})
	defer s.stop()
	b := banner(t, s)
	ctx := context.Background()
	api := apiclient.New(s.url, s.token)
	demo := b.Demo.Address
	box, err := openMailbox(b.IMAPAddr, "demo", b.Demo.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer box.close()

	report := composeMail(demo, b.Helpdesk.Address, "Printer jammed", "The printer on floor 2 is jammed\r\n", "")
	if err := sendMail(ctx, b.SMTPAddr, demo, b.Demo.Password, b.Helpdesk.Address, report); err != nil {
		t.Fatal(err)
	}
	const id = "INC-000001"
	if _, err := waitFor(ctx, 20*time.Second, "acknowledgment", func() (*imap.Envelope, bool, error) {
		env, err := box.next(id + ".ack.")
		return env, env != nil, err
	}); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"solution", "validation"} {
		if _, err := waitFor(ctx, 20*time.Second, "move to "+to, func() (bool, bool, error) {
			err := api.Do(ctx, "POST", "/api/v1/incidents/"+id+"/transitions", map[string]string{"to": to, "note": "cleared"}, nil)
			return true, err == nil, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	question, err := waitFor(ctx, 20*time.Second, "validation question", func() (*imap.Envelope, bool, error) {
		env, err := box.next(id + ".validation.")
		return env, env != nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	state := func() intake.State {
		var inc intake.Incident
		if err := api.Do(ctx, "GET", "/api/v1/incidents/"+id, nil, &inc); err != nil {
			t.Fatal(err)
		}
		return inc.State
	}

	// "yes" to the help desk's plain address (no reply token), without
	// AUTH, as anyone on this machine could send it: a comment.
	yes := composeMail(demo, b.Helpdesk.Address, "Re: "+question.Subject, "yes\r\n", question.MessageID)
	if err := netsmtp.SendMail(b.SMTPAddr, nil, demo, []string{b.Helpdesk.Address}, []byte(yes)); err != nil {
		t.Fatal(err)
	}
	if _, err := waitFor(ctx, 20*time.Second, "the question asked again", func() (*imap.Envelope, bool, error) {
		env, err := box.next(id + ".validation.")
		return env, env != nil, err
	}); err != nil {
		t.Fatal(err)
	}
	if got := state(); got != intake.Validation {
		t.Fatalf("an unauthenticated yes moved the case to %s", got)
	}

	// The same answer from a client that logged in as demo counts.
	yes = composeMail(demo, b.Helpdesk.Address, "Re: "+question.Subject, "yes\r\n", question.MessageID)
	if err := sendMail(ctx, b.SMTPAddr, demo, b.Demo.Password, b.Helpdesk.Address, yes); err != nil {
		t.Fatal(err)
	}
	if _, err := waitFor(ctx, 20*time.Second, "satisfaction", func() (bool, bool, error) {
		return true, state() == intake.Satisfaction, nil
	}); err != nil {
		t.Fatal(err)
	}
}

// templates.dir and org.name reach the mail: the overriding template is
// the one sent, signed and sent from the organisation's name.
func TestTemplateOverrideAndOrgReachTheMail(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	ack := `{{define "subject"}}[{{.ID}}] Got it: {{.Subject}}{{end}}{{define "text"}}{{template "greeting" .}} {{.ID}} {{template "signature" .}}{{end}}`
	if err := os.WriteFile(filepath.Join(dir, "en", "ack.tmpl"), []byte(ack), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, map[string]string{"INTAKEBOT_OUTBOX_POLL": "@every 1s", "INTAKEBOT_LOCAL_POLL": "@every 1s",
		"INTAKEBOT_TEMPLATES_DIR": dir, "INTAKEBOT_ORG_NAME": "Acme IT"})
	b := banner(t, s)
	report := "From: demo@intakebot.local\r\nTo: helpdesk@intakebot.local\r\nSubject: VPN down\r\n\r\nThe VPN is down\r\n"
	if err := netsmtp.SendMail(b.SMTPAddr, nil, "demo@intakebot.local", []string{"helpdesk@intakebot.local"}, []byte(report)); err != nil {
		t.Fatal(err)
	}
	box, err := openMailbox(b.IMAPAddr, "demo", b.Demo.Password)
	if err != nil {
		t.Fatal(err)
	}
	defer box.close()
	env, err := waitFor(context.Background(), 20*time.Second, "acknowledgment", func() (*imap.Envelope, bool, error) {
		env, err := box.next("INC-000001.ack.")
		return env, env != nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if env.Subject != "[INC-000001] Got it: VPN down" || env.From[0].Name != "Acme IT" {
		t.Errorf("acknowledgment %q from %+v", env.Subject, env.From)
	}
}
