package main

import (
	"cmp"
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
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/channels/email/senderauth"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/config"
)

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
			Truncated: m.Truncated, NoBody: m.NoBody, Address: h.address}, Raw: m.Raw}
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
func newEmailChannel(cfg config.Email, org config.Org, incidents inbound.Incidents, ledger inbound.Ledger, threads inbound.Threads,
	files inbound.Files, acts inbound.Acts, state imapwatch.State, log *slog.Logger) (*emailChannel, error) {
	if !cfg.Enabled() {
		return nil, nil
	}
	// Validate made sure both halves are there.
	from := cmp.Or(cfg.From, cfg.Mailboxes[0].Address)
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
	keys := [][]byte{key}
	for i, k := range cfg.PreviousReplyKeys {
		old, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return nil, fmt.Errorf("email.previous_reply_keys[%d] is not base64: %w", i, err)
		}
		keys = append(keys, old)
	}
	auth, err := senderauth.New(senderauth.Config{TrustedAuthServIDs: cfg.SenderAuth.TrustedAuthServIDs,
		Accept: cfg.SenderAuth.Accept, VerifyDKIM: cfg.SenderAuth.VerifyDKIM})
	if err != nil {
		return nil, fmt.Errorf("email.sender_auth: %w", err)
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
	// Reporters are answered from the address they wrote to, so reply
	// addresses are made on, and read from, every one of them.
	tokens, err := replytoken.New(replytoken.Config{Addresses: append([]string{from}, also...), Keys: keys})
	if err != nil {
		return nil, fmt.Errorf("email (reply_key, previous_reply_keys, from, mailboxes): %w", err)
	}
	smtpCfg := smtpout.Config{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
		Username: cfg.SMTP.Username, Password: smtpPassword, From: from, Also: also, Name: org.Name, Tokens: tokens}
	smtpAuth, err := mailAuth(cfg.SMTP, smtpPassword)
	if err != nil {
		return nil, fmt.Errorf("email.smtp: %w", err)
	}
	if smtpAuth != nil { // a nil *Auth must not become a non-nil interface
		smtpCfg.Auth = smtpAuth
	}
	sender, err := smtpout.New(smtpCfg)
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
	}, inbound.Deps{Incidents: incidents, Ledger: ledger, Threads: threads, Files: files, Acts: acts, Tokens: tokens, Auth: auth, Log: log, Now: time.Now})

	ch := &emailChannel{sender: sender}
	for _, mb := range cfg.Mailboxes {
		password, err := secret(mb.IMAP.Password, mb.IMAP.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("email.mailboxes %s: %w", mb.Name, err)
		}
		imapCfg := imapwatch.Config{
			Name: mb.Name, Host: mb.IMAP.Host, Port: mb.IMAP.Port, TLS: mb.IMAP.TLS,
			Username: mb.IMAP.Username, Password: password, Folder: mb.IMAP.Folder,
			ProcessedFolder: cmp.Or(mb.ProcessedFolder, "Processed"), QuarantineFolder: cmp.Or(mb.QuarantineFolder, "Quarantine"),
			MaxMessageBytes: cfg.MaxMessageBytes, BatchSize: mb.BatchSize, LeaseTTL: time.Duration(cfg.MailboxLease),
			CheckInterval: time.Duration(mb.CheckEvery),
		}
		imapAuth, err := mailAuth(mb.IMAP.Server, password)
		if err != nil {
			return nil, fmt.Errorf("email.mailboxes %s: imap: %w", mb.Name, err)
		}
		if imapAuth != nil {
			imapCfg.Auth = imapAuth
		}
		w, err := imapwatch.New(imapCfg, imapHandler{p: proc, address: mb.Address, workers: max(cfg.Workers, 1)}, state, log) // the watcher names its mailbox
		if err != nil {
			return nil, fmt.Errorf("email.mailboxes %s: %w", mb.Name, err)
		}
		ch.watchers = append(ch.watchers, w)
		ch.polls = append(ch.polls, cmp.Or(mb.Poll, "@every 1m"))
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
