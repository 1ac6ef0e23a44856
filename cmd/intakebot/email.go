package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/mail"
	"os"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/email/imapwatch"
	"github.com/intakebot/intakebot/channels/email/inbound"
	"github.com/intakebot/intakebot/channels/email/message"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/intake"
)

// EmailConfig is the email: section.
type EmailConfig struct {
	// From is the sender of our mail; the first mailbox's address when empty.
	From      string          `yaml:"from"`
	Mailboxes []MailboxConfig `yaml:"mailboxes"`
	SMTP      struct {
		Host     string `yaml:"host"`
		Port     int    `yaml:"port"`
		TLS      string `yaml:"tls"`
		Username string `yaml:"username"`
		Password string `yaml:"password"`
		// PasswordFile holds the password instead (a mounted secret).
		PasswordFile string `yaml:"password_file"`
	} `yaml:"smtp"`
	// ReplyKey signs the reply tokens in Reply-To (base64, 32+ bytes).
	ReplyKey        string `yaml:"reply_key"`
	MaxMessageBytes int64  `yaml:"max_message_bytes"`
	// Workers is how many unrelated mails of a batch are processed at once.
	Workers int `yaml:"workers"`
	// MaxAttachmentBytes is how much of each attachment is kept.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
	// MailboxLease is how long a bot keeps a mailbox without renewing:
	// after a crash, another bot takes over within it.
	MailboxLease Duration `yaml:"mailbox_lease"`
	Caps         struct {
		PerRecipient int      `yaml:"per_recipient"`
		PerIncident  int      `yaml:"per_incident"`
		Window       Duration `yaml:"window"`
	} `yaml:"caps"`
}

// MailboxConfig is one watched mailbox.
type MailboxConfig struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	IMAP    struct {
		Host         string `yaml:"host"`
		Port         int    `yaml:"port"`
		TLS          string `yaml:"tls"`
		Username     string `yaml:"username"`
		Password     string `yaml:"password"`
		PasswordFile string `yaml:"password_file"`
		Folder       string `yaml:"folder"`
	} `yaml:"imap"`
	// BatchSize is how many mails one fetch brings (100 when zero).
	BatchSize        int    `yaml:"batch_size"`
	ProcessedFolder  string `yaml:"processed_folder"`
	QuarantineFolder string `yaml:"quarantine_folder"`
	Poll             string `yaml:"poll"`
}

// emailChannel is the wired e-mail channel: the sender for the outbox and
// one watcher per mailbox.
type emailChannel struct {
	sender   *smtpout.Sender
	watchers []*imapwatch.Watcher
	polls    []string // each watcher's poll schedule
}

// imapHandler hands fetched mail to the inbound processor, a whole batch at
// a time, and tells the watcher where to file each.
type imapHandler struct {
	p       *inbound.Processor
	address string // the mailbox's help-desk address
	workers int
}

func (h imapHandler) Handle(ctx context.Context, m imapwatch.Inbound) (imapwatch.Result, error) {
	res, errs := h.HandleBatch(ctx, []imapwatch.Inbound{m})
	return res[0], errs[0]
}

func (h imapHandler) HandleBatch(ctx context.Context, ms []imapwatch.Inbound) ([]imapwatch.Result, []error) {
	items := make([]inbound.Item, len(ms))
	for i, m := range ms {
		items[i] = inbound.Item{Source: inbound.Source{Mailbox: m.Mailbox, UIDValidity: m.UIDValidity, UID: m.UID,
			Truncated: m.Truncated, Address: h.address}, Raw: m.Raw}
	}
	recs, errs := h.p.ProcessBatch(ctx, items, h.workers)
	results := make([]imapwatch.Result, len(ms))
	for i, rec := range recs {
		results[i] = imapwatch.Result{Quarantine: rec.Outcome == intake.OutcomeQuarantined, Reason: rec.Reason}
	}
	return results, errs
}

// newEmailChannel builds the e-mail channel from the configuration, or
// returns nil when no mailbox and no SMTP server is configured.
func newEmailChannel(cfg EmailConfig, incidents inbound.Incidents, ledger inbound.Ledger, threads inbound.Threads,
	files inbound.Files, acts inbound.Acts, state imapwatch.State, log *slog.Logger) (*emailChannel, error) {
	if len(cfg.Mailboxes) == 0 && cfg.SMTP.Host == "" {
		return nil, nil
	}
	if len(cfg.Mailboxes) == 0 || cfg.SMTP.Host == "" {
		return nil, fmt.Errorf("email: configure both mailboxes (to read reports) and smtp (to answer them)")
	}
	from := cfg.From
	if from == "" {
		from = cfg.Mailboxes[0].Address
	}
	fromAddr, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("email.from %q: %w", from, err)
	}
	key, err := base64.StdEncoding.DecodeString(cfg.ReplyKey)
	if err != nil {
		return nil, fmt.Errorf("email.reply_key is not base64: %w", err)
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		log.Warn("email.reply_key is not set: replies to mail sent before a restart are threaded by headers and subject only")
	}
	smtpPassword, err := secret(cfg.SMTP.Password, cfg.SMTP.PasswordFile)
	if err != nil {
		return nil, fmt.Errorf("email.smtp: %w", err)
	}
	var also []string
	for _, mb := range cfg.Mailboxes {
		if mb.Address != "" {
			also = append(also, mb.Address)
		}
	}
	// Reporters are answered from the address they wrote to; the sender
	// also reads the reply tokens and Message-IDs of every one of them.
	sender, err := smtpout.New(smtpout.Config{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
		Username: cfg.SMTP.Username, Password: smtpPassword, From: from, Also: also, ReplyKey: key})
	if err != nil {
		return nil, fmt.Errorf("email.smtp: %w", err)
	}
	own := []string{strings.ToLower(fromAddr.Address)}
	for _, mb := range cfg.Mailboxes {
		own = append(own, strings.ToLower(mb.Address))
	}
	proc := inbound.New(inbound.Config{
		Detector: message.Detector{OwnAddresses: own, LoopHeader: smtpout.DefaultLoopHeader},
		Limits:   message.Options{MaxMessageBytes: cfg.MaxMessageBytes, MaxAttachmentBytes: cfg.MaxAttachmentBytes},
	}, inbound.Deps{Incidents: incidents, Ledger: ledger, Threads: threads, Files: files, Acts: acts, Tokens: sender, Log: log, Now: time.Now})

	ch := &emailChannel{sender: sender}
	for _, mb := range cfg.Mailboxes {
		password, err := secret(mb.IMAP.Password, mb.IMAP.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("email.mailboxes %s: %w", mb.Name, err)
		}
		w, err := imapwatch.New(imapwatch.Config{
			Name: mb.Name, Host: mb.IMAP.Host, Port: mb.IMAP.Port, TLS: mb.IMAP.TLS,
			Username: mb.IMAP.Username, Password: password, Folder: mb.IMAP.Folder,
			ProcessedFolder: or(mb.ProcessedFolder, "Processed"), QuarantineFolder: or(mb.QuarantineFolder, "Quarantine"),
			MaxMessageBytes: cfg.MaxMessageBytes, BatchSize: mb.BatchSize, LeaseTTL: time.Duration(cfg.MailboxLease),
		}, imapHandler{p: proc, address: mb.Address, workers: max(cfg.Workers, 1)}, state, log) // the watcher names its mailbox
		if err != nil {
			return nil, fmt.Errorf("email.mailboxes %s: %w", mb.Name, err)
		}
		ch.watchers = append(ch.watchers, w)
		ch.polls = append(ch.polls, or(mb.Poll, "@every 1m"))
	}
	return ch, nil
}

// secret is value, or the trimmed content of file when file is set.
func secret(value, file string) (string, error) {
	if file == "" {
		return value, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(raw)), nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
