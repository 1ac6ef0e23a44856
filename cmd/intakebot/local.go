package main

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/email/senderauth"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/localmail"
)

// startLocal starts the local mail server in local mode (nothing
// configured: see localmail) and points the e-mail channel at it: the bot
// reads helpdesk's INBOX and sends as helpdesk. It writes the state file
// that "intakebot local send" and "local inbox" read (api is the bot's API
// URL). The returned stop removes the file and shuts the server down (a
// no-op outside local mode).
func startLocal(cfg *config.Config, env config.Env, api string, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	if !cfg.LocalMode() {
		return func() {}, nil
	}
	m, err := localmail.Start(localmail.Config{
		IMAPListen: cfg.Local.IMAPListen, SMTPListen: cfg.Local.SMTPListen, Domain: cfg.Local.Domain,
		MaxMessageBytes: cfg.Email.MaxMessageBytes, IMAPKey: "local.imap_listen", SMTPKey: "local.smtp_listen",
	}, log)
	if err != nil {
		return nil, fmt.Errorf("local mail server: %w", err)
	}
	if err := useLocal(&cfg.Email, m, cfg.Local.Poll); err != nil {
		m.Close()
		return nil, err
	}
	m.PrintBanner(stdout)
	log.Info("local mail server", "imap", m.IMAPAddr(), "smtp", m.SMTPAddr(), "domain", m.Domain())
	if cfg.Local.StateFile == localmail.StateFileOff {
		return m.Close, nil
	}
	// A missing state file only costs the "intakebot local" commands (the
	// banner says all they would read), so it is a warning, not a failure.
	path, err := localmail.StatePath(cfg.Local.StateFile, getenv(env))
	st := m.State(api)
	if err == nil {
		err = localmail.WriteState(path, st)
	}
	if err != nil {
		log.Warn("the intakebot local commands will not find this server: no state file; set local.state_file (INTAKEBOT_LOCAL_STATE_FILE)", "err", err)
		return m.Close, nil
	}
	fmt.Fprintf(stdout, "(intakebot local send and local inbox find this server through %s)\n\n", path)
	return func() {
		if err := localmail.RemoveState(path, st); err != nil {
			log.Warn("local state file not removed", "path", path, "err", err)
		}
		m.Close()
	}, nil
}

// useLocal configures the e-mail channel for the local mail server.
func useLocal(email *config.Email, m *localmail.Server, poll string) error {
	hd := m.Account(localmail.Helpdesk)
	imapHost, imapPort, err := hostPort(m.IMAPAddr())
	if err != nil {
		return err
	}
	smtpHost, smtpPort, err := hostPort(m.SMTPAddr())
	if err != nil {
		return err
	}
	mb := config.Mailbox{Name: localmail.Helpdesk, Address: hd.Address, Poll: poll,
		ProcessedFolder: localmail.ProcessedFolder, QuarantineFolder: localmail.QuarantineFolder}
	mb.IMAP.Server = config.Server{Host: imapHost, Port: imapPort, TLS: mailtls.None, Username: hd.Address, Password: hd.Password}
	mb.IMAP.Folder = "INBOX"
	email.Mailboxes = []config.Mailbox{mb}
	email.SMTP = config.Server{Host: smtpHost, Port: smtpPort, TLS: mailtls.None, Username: hd.Address, Password: hd.Password}
	email.From = cmp.Or(email.From, "Help desk <"+hd.Address+">")
	// The local server stamps Authentication-Results with its domain:
	// auth=pass for a client that logged in as the From address. Trusting
	// that, as a deployment trusts its own receiving server, lets the demo
	// user answer from any mail client that authenticates.
	email.SenderAuth.TrustedAuthServIDs = []string{m.Domain()}
	email.SenderAuth.Accept = []string{senderauth.MethodDMARC, senderauth.MethodDKIM, senderauth.MethodAuth}
	return nil
}

func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// getenv reads one variable of env.
func getenv(env config.Env) func(string) string {
	return func(name string) string { return env[name] }
}
