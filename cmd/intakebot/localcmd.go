package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/localmail"
)

const localUsage = `Usage: intakebot local COMMAND [flags]

  send --subject TEXT --body TEXT [--from demo|helpdesk] [--to ADDRESS]
       [--attach FILE]... [--in-reply-to MESSAGE-ID]
                 mail the help desk as the demo user (SMTP, AUTH PLAIN)
  inbox [--limit N] [--json] [--tz ZONE]
                 the demo user's mails, newest first, with their links and
                 the address to reply to

They talk to the mail server of a running "intakebot serve" in local mode
(no configuration), found through the state file it writes: --state FILE,
default $INTAKEBOT_LOCAL_STATE_FILE, else intakebot/local.json in
$XDG_RUNTIME_DIR or the user's cache directory.
`

func localCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, localUsage)
		if len(args) == 0 {
			return usageError{"no local command given"}
		}
		return nil
	}
	fs := newFlags("local "+args[0], stderr)
	fs.Usage = func() { fmt.Fprint(stderr, localUsage) }
	statePath := fs.String("state", env["INTAKEBOT_LOCAL_STATE_FILE"], "state file of the running local mode")
	switch args[0] {
	case "send":
		return localSend(ctx, fs, args[1:], statePath, stdout, env)
	case "inbox":
		return localInbox(ctx, fs, args[1:], statePath, stdout, env)
	}
	fmt.Fprint(stderr, localUsage)
	return usageError{fmt.Sprintf("unknown local command %q", args[0])}
}

// readLocalState reads the state file of the running local mode.
func readLocalState(path string, env config.Env) (localmail.State, string, error) {
	if path == localmail.StateFileOff {
		return localmail.State{}, "", fmt.Errorf("%w: the state file is off (local.state_file)", localmail.ErrNoState)
	}
	path, err := localmail.StatePath(path, getenv(env))
	if err != nil {
		return localmail.State{}, "", err
	}
	st, err := localmail.ReadState(path)
	return st, path, err
}

// unreachable explains a failure to reach the server a state file names:
// most likely the serve that wrote it was killed and could not remove it.
func unreachable(err error, what, addr, path string, st localmail.State) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return fmt.Errorf("nothing answers at %s %s, which %s (pid %d) names: is that intakebot serve still running? Start it again with \"intakebot serve\" (%w)",
			what, addr, path, st.PID, err)
	}
	return err
}

func localSend(ctx context.Context, fs *flag.FlagSet, args []string, statePath *string, stdout io.Writer, env config.Env) error {
	subject := fs.String("subject", "", "subject")
	body := fs.String("body", "", "text of the mail")
	from := fs.String("from", localmail.Demo, "account to send as: demo or helpdesk")
	to := fs.String("to", "", "recipient (default: the help desk)")
	inReplyTo := fs.String("in-reply-to", "", "Message-ID of the mail answered")
	var attach []string
	fs.Func("attach", "file to attach (repeatable)", func(p string) error { attach = append(attach, p); return nil })
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{"usage: intakebot local send --subject TEXT --body TEXT [--from demo] [--to ADDRESS] [--attach FILE]"}
	}
	if strings.TrimSpace(*subject) == "" && strings.TrimSpace(*body) == "" {
		return usageError{"say what is wrong: intakebot local send --subject 'VPN down' --body 'The VPN is down'"}
	}
	st, path, err := readLocalState(*statePath, env)
	if err != nil {
		return err
	}
	var account localmail.Account
	switch strings.ToLower(*from) {
	case localmail.Demo, st.Demo.Address:
		account = st.Demo
	case localmail.Helpdesk, st.Helpdesk.Address:
		account = st.Helpdesk
	default:
		return usageError{fmt.Sprintf("--from %s: the local mail server has the accounts %s and %s", *from, localmail.Demo, localmail.Helpdesk)}
	}
	m := localmail.Outgoing{From: account, To: *to, Subject: *subject, Body: *body,
		InReplyTo: strings.Trim(*inReplyTo, "<>")}
	if m.To == "" {
		m.To = st.Helpdesk.Address
	}
	for _, p := range attach {
		content, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("--attach: %w", err)
		}
		m.Attachments = append(m.Attachments, localmail.File{Name: filepath.Base(p), Content: content})
	}
	id, err := localmail.Send(ctx, st.SMTPAddr, m)
	if err != nil {
		return unreachable(err, "SMTP", st.SMTPAddr, path, st)
	}
	fmt.Fprintf(stdout, "sent %q from %s to %s (Message-ID <%s>)\n", m.Subject, account.Address, m.To, id)
	fmt.Fprintln(stdout, "The help desk answers within seconds; read it with: intakebot local inbox")
	return nil
}

func localInbox(ctx context.Context, fs *flag.FlagSet, args []string, statePath *string, stdout io.Writer, env config.Env) error {
	limit := fs.Int("limit", 20, "show at most this many mails (0: all)")
	asJSON := fs.Bool("json", false, "print JSON")
	tzName := fs.String("tz", env["INTAKEBOT_DISPLAY_TIME_ZONE"], "time zone to show times in (default: the machine's)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *limit < 0 {
		return usageError{"usage: intakebot local inbox [--limit N] [--json] [--tz ZONE]"}
	}
	zone, err := displayZone(*tzName)
	if err != nil {
		return err
	}
	st, path, err := readLocalState(*statePath, env)
	if err != nil {
		return err
	}
	mails, err := localmail.Inbox(ctx, st.IMAPAddr, st.Demo, *limit)
	if err != nil {
		return unreachable(err, "IMAP", st.IMAPAddr, path, st)
	}
	if *asJSON {
		return printJSON(stdout, map[string]any{"account": st.Demo.Address, "mails": mails})
	}
	if len(mails) == 0 {
		fmt.Fprintf(stdout, "No mail for %s yet. Report something to the help desk:\n  intakebot local send --subject 'VPN down' --body 'The VPN is down'\n", st.Demo.Address)
		return nil
	}
	fmt.Fprintf(stdout, "%s, newest first:\n", st.Demo.Address)
	for _, m := range mails {
		fmt.Fprintf(stdout, "\n%s  %s\n  %s\n", formatTime(m.Date, zone, time.DateTime), m.From, m.Subject)
		if m.ReplyTo != "" {
			fmt.Fprintf(stdout, "  reply to: %s\n", m.ReplyTo)
		}
		for _, l := range m.Links {
			fmt.Fprintf(stdout, "  link: %s\n", l)
		}
	}
	if newest := mails[0]; newest.ReplyTo != "" && newest.ReplyTo != st.Demo.Address {
		fmt.Fprintf(stdout, "\nAnswer the newest by mail:\n  intakebot local send --to %s --subject %s --body '...'\n",
			newest.ReplyTo, shellQuote(replySubject(newest.Subject)))
		if len(newest.Links) > 0 {
			fmt.Fprintln(stdout, "or open one of its links.")
		}
	}
	return nil
}

// replySubject is the subject of an answer to a mail.
func replySubject(s string) string {
	if strings.HasPrefix(strings.ToLower(s), "re:") {
		return s
	}
	return "Re: " + s
}

// shellQuote quotes s for a POSIX shell, for a command line to copy.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
