// Package smtpout delivers the bot's messages to reporters by SMTP.
//
// A Notifier has the method set of workflow.Notifier: the outbox dispatcher
// hands it one intake.Outgoing notice at a time; it writes the mail from the
// templates (Renderer) and a Sender sends it. A returned error means "try
// again later". Errors that no retry can fix wrap ErrPermanent so that a
// caller may dead-letter the message at once.
//
// Each message goes out on its own connection. The bot sends a handful of
// mails per incident, so connection reuse would buy little and would add
// state (a half-dead pooled connection) that a retry would have to reason
// about.
package smtpout

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/intake"
)

// ErrPermanent marks a failure that retrying the same message cannot fix: the
// server rejected the recipient or the message with a 5xx reply (other than
// a 5.7.x policy refusal, see stageErr), or the message itself is unusable
// (no recipient address). Test with errors.Is. It wraps
// intake.ErrUndeliverable, which the outbox dead-letters at once.
var ErrPermanent = fmt.Errorf("permanent delivery failure: %w", intake.ErrUndeliverable)

// UnavailableHold is how long the mail route waits, for every bot, when the
// mail server cannot be reached or will not let us in (connect, TLS, EHLO,
// AUTH): that says nothing about the message, and every message would fail
// the same way. Each is attempted again after the hold without counting
// an attempt, so a server that is down for hours dead-letters nothing and
// costs one connection attempt per hold, not one per queued message.
const UnavailableHold = 30 * time.Second

// errUnavailable marks a session that failed before any message was sent:
// see UnavailableHold.
var errUnavailable = errors.New("mail server unavailable")

// Defaults applied by New when the corresponding Config field is zero.
const (
	DefaultLoopHeader = "X-Intakebot-Loop"
	DefaultTimeout    = 30 * time.Second
)

// Config says how to reach the mail server and how to present our mails.
type Config struct {
	Host string
	// Port defaults to 465 for implicit TLS, 587 for STARTTLS, 25 for none.
	Port int
	// TLS is mailtls.Implicit (SMTPS), mailtls.StartTLS (submission) or
	// mailtls.None (a relay on the same host); empty means StartTLS.
	TLS mailtls.Mode
	// Username and Password are used for AUTH PLAIN when Username is set.
	Username string
	Password string
	// Auth, when set, authenticates with its SASL mechanism (an OAuth 2.0
	// bearer token from mailauth: XOAUTH2 or OAUTHBEARER) instead of AUTH
	// PLAIN; Password must then be empty.
	Auth Authenticator
	// TLSConfig overrides the TLS client settings. It exists so that tests
	// (and deployments behind a private CA) can pass RootCAs; ServerName
	// defaults to Host. There is deliberately no configuration-file switch
	// for skipping certificate verification, and New refuses
	// InsecureSkipVerify unless Host is a loopback address.
	TLSConfig *tls.Config
	// Timeout bounds one whole delivery, from dialling to the answer to the
	// final dot; 30s when zero. A hung server then costs one retry, not a
	// stuck outbox.
	Timeout time.Duration
	// From is the help-desk address, e.g. "Help desk <helpdesk@example.test>".
	// It is also the envelope sender, so bounces come back to the help-desk
	// mailbox where the intake recognises them.
	From string
	// Domain is the right-hand side of our Message-IDs and the name we give
	// in EHLO; From's domain when empty.
	Domain string
	// LoopHeader names the header that marks mail as ours (default
	// X-Intakebot-Loop); its value is From's address. The intake drops mail
	// carrying it, so two bots cannot answer each other forever.
	LoopHeader string
	// Also are the other help-desk addresses (one per mailbox): a message
	// whose From names one of them goes out from it, so reporters are
	// answered from the address they wrote to.
	Also []string
	// Name is the display name of From and Also addresses that give none
	// (the organisation's name, config org.name), so that every mail
	// shows the same sender whichever mailbox it answers from.
	Name string
	// Tokens makes the per-recipient reply address in Reply-To and the
	// Message-ID; it must serve From and every Also address.
	Tokens *replytoken.Tokens
	// Now is the clock for the Date header; time.Now when nil.
	Now func() time.Time
}

// Authenticator makes the SASL client for one delivery, with fresh
// credentials each time (mailauth.Auth).
type Authenticator interface {
	Mechanism() string
	SASLClient(ctx context.Context) (sasl.Client, error)
}

// Sender sends written mails by SMTP. It is safe for concurrent use: it
// holds no connection between deliveries.
type Sender struct {
	addr       string
	tlsMode    mailtls.Mode
	tlsConfig  *tls.Config
	username   string
	password   string
	auth       Authenticator
	timeout    time.Duration
	from       *mail.Address
	domain     string
	loopHeader string
	now        func() time.Time
	tokens     *replytoken.Tokens
	also       map[string]*mail.Address // lower-cased address -> who we are there

	// health is the outcome of the last Check or delivery, for /readyz.
	mu      sync.Mutex
	lastOK  time.Time
	lastErr error
}

// New checks cfg and returns a Sender. It does not connect: a mail server
// that is down at start-up only delays the outbox, it must not stop the bot.
func New(cfg Config) (*Sender, error) {
	if cfg.Host == "" {
		return nil, errors.New("smtpout: Host is required")
	}
	mode := mailtls.Mode(strings.ToLower(string(cfg.TLS)))
	if mode == "" {
		mode = mailtls.StartTLS
	}
	port := cfg.Port
	switch mode {
	case mailtls.Implicit:
		port = cmp(port, 465)
	case mailtls.StartTLS:
		port = cmp(port, 587)
	case mailtls.None:
		port = cmp(port, 25)
	default:
		return nil, fmt.Errorf("smtpout: TLS %q: want implicit, starttls or none", cfg.TLS)
	}
	if port < 1 || port > 65535 {
		return nil, fmt.Errorf("smtpout: Port %d out of range", port)
	}
	loopback := mailtls.Loopback(cfg.Host)
	// A bearer token opens the mailbox as surely as a password while it
	// lives: it gets the password rule below.
	if mode.InClear(cfg.Host) && cfg.Auth != nil {
		return nil, fmt.Errorf("smtpout: refusing AUTH %s without TLS to %s: the bearer token would cross the network in clear (use implicit or starttls, or a relay on localhost)", cfg.Auth.Mechanism(), cfg.Host)
	}
	// AUTH PLAIN sends the password base64-encoded, which is to say in the
	// clear: anyone on the path could read it. Without TLS we only allow it
	// to a relay on this very host, where the bytes never leave the machine.
	if mode.InClear(cfg.Host) && cfg.Username != "" {
		return nil, fmt.Errorf("smtpout: refusing AUTH without TLS to %s: the password would cross the network in clear (use implicit or starttls, or a relay on localhost)", cfg.Host)
	}
	if cfg.Auth != nil && cfg.Password != "" {
		return nil, errors.New("smtpout: Password and Auth both set: choose one way to authenticate")
	}
	if cfg.Password != "" && cfg.Username == "" {
		return nil, errors.New("smtpout: Password set without Username")
	}

	var tc *tls.Config
	if cfg.TLSConfig != nil {
		tc = cfg.TLSConfig.Clone()
	} else {
		tc = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if tc.ServerName == "" {
		tc.ServerName = cfg.Host
	}
	// Skipping verification turns TLS into theatre against an active
	// attacker; it is tolerated only where no network is crossed.
	if tc.InsecureSkipVerify && !loopback {
		return nil, fmt.Errorf("smtpout: InsecureSkipVerify refused for non-loopback host %s", cfg.Host)
	}

	if cfg.From == "" {
		return nil, errors.New("smtpout: From is required")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("smtpout: From %q: %w", cfg.From, err)
	}
	from.Name = cleanText(orDefault(from.Name, cfg.Name))
	_, fromDomain, _ := strings.Cut(from.Address, "@")

	domain := cfg.Domain
	if domain == "" {
		domain = fromDomain
	}
	if !replytoken.IsDotAtom(domain) {
		return nil, fmt.Errorf("smtpout: Domain %q is not a valid message-id domain", domain)
	}

	loop := cfg.LoopHeader
	if loop == "" {
		loop = DefaultLoopHeader
	}
	if !isFieldName(loop) {
		return nil, fmt.Errorf("smtpout: LoopHeader %q is not a valid header field name", loop)
	}

	if cfg.Tokens == nil {
		return nil, errors.New("smtpout: Tokens is required (reply addresses and Message-IDs)")
	}
	if !cfg.Tokens.Serves(from.Address) {
		return nil, fmt.Errorf("smtpout: Tokens does not serve From %s", from.Address)
	}
	also := map[string]*mail.Address{}
	for _, a := range cfg.Also {
		addr, err := mail.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("smtpout: address %q: %w", a, err)
		}
		if !cfg.Tokens.Serves(addr.Address) {
			return nil, fmt.Errorf("smtpout: Tokens does not serve %s", addr.Address)
		}
		addr.Name = cleanText(orDefault(addr.Name, cfg.Name))
		also[strings.ToLower(addr.Address)] = addr
	}

	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Sender{
		addr:       net.JoinHostPort(cfg.Host, strconv.Itoa(port)),
		tlsMode:    mode,
		tlsConfig:  tc,
		username:   cfg.Username,
		password:   cfg.Password,
		auth:       cfg.Auth,
		timeout:    timeout,
		from:       from,
		domain:     domain,
		loopHeader: loop,
		now:        now,
		tokens:     cfg.Tokens,
		also:       also,
	}, nil
}

// orDefault is s, or def when s is empty.
func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// identity picks the address a message goes out from: the help-desk
// address the reporter wrote to when it is one of ours, else From.
func (s *Sender) identity(address string) *mail.Address {
	if a, ok := s.also[strings.ToLower(address)]; ok {
		return a
	}
	return s.from
}

// Send sends m to m.Email.
//
// SMTP has no idempotency key: a server that accepted the message just
// before we lost the connection will receive it again on retry, and nothing
// in the protocol lets us ask. What we can do is make the duplicate
// recognisable: the Message-ID is derived from msg.ID, so both copies carry
// the same one and mail clients (and many servers) fold them into one.
func (s *Sender) Send(ctx context.Context, msg Mail) error {
	if strings.TrimSpace(msg.Email) == "" {
		return fmt.Errorf("smtpout: %s: %w: no recipient e-mail address", msg.ID, ErrPermanent)
	}
	rcpt, raw, err := s.compose(msg)
	if err != nil {
		// compose fails only on data no retry can change.
		return fmt.Errorf("smtpout: %s: %w: %w", msg.ID, ErrPermanent, err)
	}
	err = s.send(ctx, rcpt, raw)
	s.record(ctx, err)
	if err != nil {
		err = fmt.Errorf("smtpout: %s to %s: %w", msg.ID, rcpt, err)
		if errors.Is(err, errUnavailable) {
			return &intake.RetryLater{After: UnavailableHold, Err: err}
		}
		return err
	}
	return nil
}

// Check signs in to the mail server as a delivery would (connect, EHLO,
// STARTTLS, AUTH) and hangs up without sending anything, within the
// delivery timeout. Its outcome is the Sender's health until the next
// delivery, which then tells whether the server still takes our mail.
func (s *Sender) Check(ctx context.Context) error {
	err := s.session(ctx, func(ctx context.Context, c *smtp.Client) error {
		if qerr := c.Quit(); qerr != nil {
			c.Close()
		}
		return nil
	})
	s.record(ctx, err)
	if err != nil {
		return fmt.Errorf("smtpout: check %s: %w", s.addr, err)
	}
	return nil
}

// Name names the sender among the parts of the bot whose health is shown.
func (s *Sender) Name() string { return "smtp" }

// Status is when the mail server last took our session (a Check or a
// delivery), and the error of the last attempt if it failed.
func (s *Sender) Status() (lastSuccess time.Time, lastErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastOK, s.lastErr
}

// record keeps an attempt's outcome as the server's health. A permanent
// failure judges one recipient or message, and the server answered it:
// that is a server that works. A caller that gave up (shutdown) says
// nothing about the server.
func (s *Sender) record(ctx context.Context, err error) {
	if err != nil && errors.Is(ctx.Err(), context.Canceled) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err == nil || errors.Is(err, ErrPermanent) {
		s.lastOK, s.lastErr = s.now(), nil
		return
	}
	s.lastErr = err
}

// send runs one SMTP transaction on a fresh connection.
func (s *Sender) send(ctx context.Context, rcpt string, raw []byte) error {
	return s.session(ctx, func(ctx context.Context, c *smtp.Client) error {
		var opts *smtp.MailOptions
		if !isASCII(rcpt) {
			opts = &smtp.MailOptions{UTF8: true}
		}
		if err := c.Mail(s.from.Address, opts); err != nil {
			return stageErr(ctx, "mail from", err)
		}
		if err := c.Rcpt(rcpt, nil); err != nil {
			return stageErr(ctx, "rcpt to", err)
		}
		w, err := c.Data()
		if err != nil {
			return stageErr(ctx, "data", err)
		}
		if _, err := w.Write(raw); err != nil {
			w.Close()
			return stageErr(ctx, "data", err)
		}
		if err := w.Close(); err != nil {
			return stageErr(ctx, "data", err)
		}
		// The message is accepted once the final dot is answered; a failing
		// QUIT must not turn a delivery into a retry (and so a duplicate).
		if qerr := c.Quit(); qerr != nil {
			c.Close()
		}
		return nil
	})
}

// session opens a fresh connection, greets and signs in, and runs fn on
// it, all within the delivery timeout. fn ends the session (QUIT); on an
// error the connection is closed. A failure before fn wraps
// errUnavailable, unless ctx ended.
func (s *Sender) session(ctx context.Context, fn func(context.Context, *smtp.Client) error) error {
	signedIn := false
	err := s.open(ctx, func(ctx context.Context, c *smtp.Client) error {
		signedIn = true
		return fn(ctx, c)
	})
	if err != nil && !signedIn && ctx.Err() == nil {
		// Our own stop (or the delivery's timeout) says nothing of the
		// server: no hold for the route.
		return fmt.Errorf("%w: %w", errUnavailable, err)
	}
	return err
}

// open is session without telling setup failures apart.
func (s *Sender) open(ctx context.Context, fn func(context.Context, *smtp.Client) error) (err error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return stageErr(ctx, "connect", err)
	}
	// go-smtp sets and clears its own per-command deadlines (five minutes
	// before our settings apply), so a deadline of ours on the connection
	// would be overwritten. Closing the connection when ctx ends (cancelled
	// by the caller, or our Timeout) reliably interrupts a blocked read or
	// write.
	closed := make(chan struct{})
	stop := context.AfterFunc(ctx, func() {
		conn.Close()
		close(closed)
	})
	defer func() {
		// If the callback already started, wait for it: it must not outlive
		// this call.
		if !stop() {
			<-closed
		}
	}()

	var c *smtp.Client
	if s.tlsMode == mailtls.StartTLS {
		// NewClientStartTLS fails when the server does not offer STARTTLS
		// rather than carrying on in plaintext: no silent downgrade. Its
		// first EHLO (before TLS) says "localhost"; ours follows below.
		c, err = smtp.NewClientStartTLS(conn, s.tlsConfig)
		if err != nil {
			conn.Close()
			return stageErr(ctx, "starttls", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	c.CommandTimeout = s.timeout
	c.SubmissionTimeout = s.timeout
	// EHLO should name the sending host; go-smtp would say "localhost",
	// which some servers reject, so we give the mail domain.
	if err := c.Hello(s.domain); err != nil {
		return stageErr(ctx, "ehlo", err)
	}

	if s.auth != nil {
		if err := s.authenticate(ctx, c); err != nil {
			return err
		}
	} else if s.username != "" {
		if ok, _ := c.Extension("AUTH"); !ok || !c.SupportsAuth(sasl.Plain) {
			return stageErr(ctx, "auth", errors.New("server does not offer AUTH PLAIN"))
		}
		// An authentication failure is not ErrPermanent: it is about our
		// configuration, not this message, and dead-lettering every message
		// while an operator fixes the password would lose them all.
		if err := c.Auth(sasl.NewPlainClient("", s.username, s.password)); err != nil {
			return stageErr(ctx, "auth", err)
		}
	}
	return fn(ctx, c)
}

// authenticate logs in with Auth's mechanism and a fresh token. Like a
// wrong password, a token that cannot be had is not ErrPermanent: it is
// about our configuration, and the message goes out once that is fixed.
func (s *Sender) authenticate(ctx context.Context, c *smtp.Client) error {
	mech := s.auth.Mechanism()
	if ok, _ := c.Extension("AUTH"); !ok || !c.SupportsAuth(mech) {
		return stageErr(ctx, "auth", fmt.Errorf("server does not offer AUTH %s", mech))
	}
	sc, err := s.auth.SASLClient(ctx)
	if err != nil {
		return stageErr(ctx, "auth", err)
	}
	if err := c.Auth(sc); err != nil {
		return stageErr(ctx, "auth "+mech, err)
	}
	return nil
}

func (s *Sender) dial(ctx context.Context) (net.Conn, error) {
	d := &net.Dialer{}
	if s.tlsMode == mailtls.Implicit {
		td := &tls.Dialer{NetDialer: d, Config: s.tlsConfig}
		return td.DialContext(ctx, "tcp", s.addr)
	}
	return d.DialContext(ctx, "tcp", s.addr)
}

// stageErr names the SMTP step that failed and decides whether the failure
// is permanent. A 5xx answer to RCPT or DATA judges this recipient or this
// message, and the same message would be refused again, so it is permanent,
// with one exception: enhanced status 5.7.x (security or policy: relaying
// denied, SPF/DMARC failure, a blocklisted IP) usually judges our sending
// setup, and would refuse every message until an operator fixes it; those
// are retried, so that the backlog goes out once they do. A 5xx to the
// greeting, EHLO, AUTH or MAIL FROM concerns our setup too, and 4xx answers
// and network errors are temporary by definition.
func stageErr(ctx context.Context, stage string, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return fmt.Errorf("%s: %w (%w)", stage, cerr, err)
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) && se.Code >= 500 && se.Code < 600 &&
		(stage == "rcpt to" || stage == "data") && se.EnhancedCode[1] != 7 {
		return fmt.Errorf("%s: %w: %w", stage, ErrPermanent, err)
	}
	return fmt.Errorf("%s: %w", stage, err)
}

func cmp(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}
