// Package imapwatch watches one IMAP folder and hands every message in it
// to a Handler, then files the message away once the handler has stored its
// outcome.
//
// The package knows nothing about incidents. Its contract with the rest of
// the bot is the data rule "ack the source only after the commit":
//
//   - a message is fetched with BODY.PEEK[] so that nothing marks it \Seen
//     before its outcome is stored;
//   - the Handler records the outcome (in Redis) and dedupes by Message-ID or
//     content hash, because a message can be handed over more than once
//     after a crash;
//   - only after Handle returns without error does the watcher set \Seen and
//     move the message to the processed or quarantine folder.
//
// Because handled mail leaves the watched folder, every message still in it
// is work. The stored checkpoint (UIDVALIDITY and last processed UID) is a
// record and a speed-up for the IDLE path, never a reason to skip a message.
//
// How each crash point is covered:
//
//   - before or during Handle: nothing was recorded and nothing moved; the
//     message is still in the folder, unseen, and the next drain hands it over.
//   - after Handle, before STORE \Seen / MOVE: the outcome is recorded, the
//     message is still in the folder; the next drain hands it over again and
//     the handler recognises it (its claim already holds an outcome) and
//     returns the same Result; then it is moved.
//   - after STORE \Seen, before MOVE: same as above; the drain searches for
//     UNDELETED messages, not UNSEEN ones, so \Seen never hides work.
//   - during a COPY-based move (servers without MOVE): after the COPY, before
//     STORE \Deleted, the original is handed over again and a second copy
//     lands in the target folder (a harmless duplicate in an archive folder);
//     after \Deleted, before UID EXPUNGE, the drain skips the original (it
//     searches UNDELETED; the copy already sits in the target folder) and it
//     disappears at the next expunge of the folder.
//   - after MOVE, before the checkpoint is written: the checkpoint is only a
//     record; nothing depends on it for correctness.
//
// A lease in Redis makes sure that two running bots never work one mailbox
// at once; it expires when its owner dies, and another bot takes over.
package imapwatch

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/emersion/go-sasl"
	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/intake"
)

// ReasonNoBody is logged when the server returns an empty body (or none)
// for a message. The watcher hands such a message over with NoBody set, so
// that it gets an outcome in the ledger, and always files it in the
// quarantine folder: see Inbound.NoBody.
const ReasonNoBody = "server returned no body"

// Defaults for the zero values of Config.
const (
	DefaultFolder          = "INBOX"
	DefaultBatchSize       = 100
	DefaultMaxMessageBytes = 25 << 20 // the usual size limit of mail servers
	DefaultBatchBytes      = 32 << 20
	DefaultLeaseTTL        = 30 * time.Second
	DefaultPollInterval    = time.Minute
	DefaultBackoffMin      = time.Second
	DefaultBackoffMax      = 5 * time.Minute
	DefaultDialTimeout     = 30 * time.Second
	DefaultLogoutGrace     = 3 * time.Second
)

// Config describes one mailbox to watch.
type Config struct {
	// Name identifies the mailbox in Redis keys, logs, Inbound and health. It
	// must be unique among the bot's mailboxes and stable across restarts.
	Name string

	Host string
	Port int          // 0: 993 for implicit TLS, else 143
	TLS  mailtls.Mode // mailtls.Implicit (default), StartTLS or None
	// TLSConfig is cloned; ServerName defaults to Host. Tests pass RootCAs.
	TLSConfig *tls.Config

	Username, Password string
	// Auth, when set, logs in by SASL AUTHENTICATE with its mechanism
	// (an OAuth 2.0 bearer token from mailauth) instead of LOGIN with
	// Username and Password. A failure to get a token shows in Status.
	Auth Authenticator

	Folder           string // watched folder, default INBOX
	ProcessedFolder  string // required; created when missing
	QuarantineFolder string // required; created when missing

	// BatchSize is how many messages one UID FETCH asks for (default 100).
	BatchSize int
	// BatchBytes bounds the bodies held in memory by one fetch (default
	// 32 MiB); a batch is cut when either limit is reached.
	BatchBytes int64
	// MaxMessageBytes is the most of one message that is downloaded (default
	// 25 MiB). A larger message is handed over with its first MaxMessageBytes
	// bytes and Inbound.Truncated set; see Inbound.
	MaxMessageBytes int64

	// LeaseTTL is how long the mailbox lease lives without renewal (default
	// 30s); it is renewed every third of it.
	LeaseTTL time.Duration
	// LeaseRetry is how often a bot that does not hold the lease tries again
	// (default LeaseTTL/2).
	LeaseRetry time.Duration
	// PollInterval is how often the whole folder is drained even without an
	// IDLE notification or Poll call (default 1m; one UID SEARCH when the
	// folder is empty). It bounds how long a message whose Handle failed
	// waits for its retry, and how long mail waits on servers without IDLE
	// or whose IDLE misses mail that arrived just before it started (as
	// Cyrus did until 3.4).
	PollInterval time.Duration
	// CheckInterval, when above zero, replaces IDLE: the watcher asks the
	// server for news with NOOP this often instead. For servers that hold
	// IDLE notices back (Dovecot tells an IDLE client of new mail 500 ms
	// after the change; a NOOP sees it at once), where the reporter's
	// acknowledgment must come sooner than that. Zero (default): IDLE.
	CheckInterval time.Duration
	// BackoffMin and BackoffMax bound the exponential backoff between failed
	// connections (defaults 1s and 5m); it resets after a good connection.
	BackoffMin, BackoffMax time.Duration
	// DialTimeout bounds the TCP connect and TLS handshake (default 30s).
	DialTimeout time.Duration
	// LogoutGrace is how long a stopping watcher waits for a command in
	// flight and for LOGOUT before it closes the connection (default 3s).
	LogoutGrace time.Duration
}

// Authenticator makes the SASL client for one login, with fresh
// credentials each time (mailauth.Auth: XOAUTH2 or OAUTHBEARER).
type Authenticator interface {
	Mechanism() string
	SASLClient(ctx context.Context) (sasl.Client, error)
}

// Inbound is one message as found in the folder.
type Inbound struct {
	Mailbox     string // Config.Name
	Folder      string // the watched folder
	UIDValidity uint32
	UID         uint32
	// Size is the message's size on the server (RFC822.SIZE).
	Size int64
	// Raw is the message as fetched with BODY.PEEK[]: the whole message, or
	// its first MaxMessageBytes bytes when Truncated.
	Raw []byte
	// Truncated says the message is larger than MaxMessageBytes and Raw holds
	// only its beginning (headers and the start of the body). The watcher does
	// not decide on its own what happens to such a message: every inbound
	// message must get an outcome in the ledger, and only the handler writes
	// the ledger. The expected answer is Result{Quarantine: true}, which keeps
	// the complete original on the server, in the quarantine folder.
	//
	Truncated bool
	// NoBody says the server returned an empty body for the message, or no
	// body section at all (seen with broken stores). Raw is empty, so the
	// handler must record its outcome under Source, not its content (every
	// such message would look like the same empty one); whatever Result it
	// gives, the watcher quarantines the message, whole on the server, and
	// logs ReasonNoBody.
	NoBody bool
}

// Source names the message the way RFC 5092 IMAP URLs do, for ledgers and
// logs: imap://NAME/FOLDER;UIDVALIDITY=V/;UID=U.
func (m Inbound) Source() string {
	return fmt.Sprintf("imap://%s/%s;UIDVALIDITY=%d/;UID=%d", m.Mailbox, m.Folder, m.UIDValidity, m.UID)
}

// Result is the handler's verdict on a message whose outcome it stored.
// The zero value files the message in the processed folder.
type Result struct {
	Quarantine bool   // file it in the quarantine folder instead
	Reason     string // why, for the log
}

// Handler receives every message in the folder. It must store the message's
// outcome before returning nil and must dedupe: the same message can come
// again (with the same or, after a UIDVALIDITY change, another UID) when
// the bot stopped between Handle and the move. When Handle returns an error
// the message stays untouched in the folder and is handed over again at a
// later drain.
type Handler interface {
	Handle(ctx context.Context, m Inbound) (Result, error)
}

// BatchHandler is a Handler that can take a whole fetched group at once,
// for example to work on unrelated messages in parallel. It returns one
// result and one error per message, in the same order; the watcher files
// them exactly as it files Handle's.
type BatchHandler interface {
	Handler
	HandleBatch(ctx context.Context, ms []Inbound) ([]Result, []error)
}

// Checkpoint records how far a mailbox was processed. The type lives in
// intake so that the Redis store, which keeps it, need not import this
// package.
type Checkpoint = intake.MailboxCheckpoint

// Leaser gives one owner at a time the right to work a mailbox.
type Leaser interface {
	// AcquireLease takes the lease if it is free (or already owner's).
	AcquireLease(ctx context.Context, mailbox, owner string, ttl time.Duration) (bool, error)
	// RenewLease extends it, only while owner holds it; false means lost.
	RenewLease(ctx context.Context, mailbox, owner string, ttl time.Duration) (bool, error)
	// ReleaseLease gives it up, only if owner holds it.
	ReleaseLease(ctx context.Context, mailbox, owner string) error
}

// Checkpointer persists a mailbox's checkpoint.
type Checkpointer interface {
	LoadCheckpoint(ctx context.Context, mailbox string) (Checkpoint, error)
	// SaveCheckpoint stores cp if owner still holds the lease, and reports
	// whether it did. Under an unchanged UIDVALIDITY the UID only grows; a
	// new UIDVALIDITY replaces the checkpoint.
	SaveCheckpoint(ctx context.Context, mailbox, owner string, cp Checkpoint) (bool, error)
}

// State is what the watcher keeps outside the IMAP server; the Redis store
// (workflow/redisstore) implements it.
type State interface {
	Leaser
	Checkpointer
}

// ErrLeaseLost says the mailbox lease is held by someone else now.
var ErrLeaseLost = errors.New("imapwatch: mailbox lease lost")

// Watcher watches one mailbox. Watchers share nothing but the State, so a
// failing mailbox (bad password, server down) never holds up another.
type Watcher struct {
	cfg     Config
	handler Handler
	state   State
	log     *slog.Logger
	owner   string        // lease token, unique per Watcher
	poll    chan struct{} // Poll's nudges; buffered so Poll never blocks

	mu              sync.Mutex
	lastSuccess     time.Time
	lastErr         error
	quarantined     int64 // mails in the quarantine folder, last counted
	quarantineKnown bool
}

// Quarantined is how many mails the quarantine folder held when last
// counted (after each pass over the mailbox), and whether it was counted.
func (w *Watcher) Quarantined() (int64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.quarantined, w.quarantineKnown
}

// New checks cfg, fills in its defaults and returns a Watcher; Run starts it.
func New(cfg Config, h Handler, st State, log *slog.Logger) (*Watcher, error) {
	if h == nil || st == nil || log == nil {
		return nil, errors.New("imapwatch: handler, state and logger are required")
	}
	if err := validName(cfg.Name); err != nil {
		return nil, err
	}
	if cfg.Host == "" {
		return nil, fmt.Errorf("imapwatch %s: host is required", cfg.Name)
	}
	switch cfg.TLS {
	case "":
		cfg.TLS = mailtls.Implicit
	case mailtls.Implicit, mailtls.StartTLS, mailtls.None:
	default:
		return nil, fmt.Errorf("imapwatch %s: tls %q: want %q, %q or %q", cfg.Name, cfg.TLS, mailtls.Implicit, mailtls.StartTLS, mailtls.None)
	}
	// LOGIN sends the password as it is, and a bearer token is as good as
	// a password while it lives: without TLS only to this machine.
	if cfg.TLS.InClear(cfg.Host) {
		what := "the password"
		if cfg.Auth != nil {
			what = "the OAuth 2.0 bearer token"
		}
		return nil, fmt.Errorf("imapwatch %s: tls none would send %s in clear to %s; only loopback hosts may use it", cfg.Name, what, cfg.Host)
	}
	if cfg.Port == 0 {
		cfg.Port = 143
		if cfg.TLS == mailtls.Implicit {
			cfg.Port = 993
		}
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("imapwatch %s: bad port %d", cfg.Name, cfg.Port)
	}
	if cfg.Folder == "" {
		cfg.Folder = DefaultFolder
	}
	// No defaults for the target folders: hierarchy delimiters and namespace
	// prefixes differ between servers, so only the operator knows a name that
	// works.
	if cfg.ProcessedFolder == "" || cfg.QuarantineFolder == "" {
		return nil, fmt.Errorf("imapwatch %s: processed and quarantine folders are required", cfg.Name)
	}
	if cfg.ProcessedFolder == cfg.Folder || cfg.QuarantineFolder == cfg.Folder {
		return nil, fmt.Errorf("imapwatch %s: processed and quarantine folders must differ from %q", cfg.Name, cfg.Folder)
	}
	positive := func(p *int64, def int64) {
		if *p <= 0 {
			*p = def
		}
	}
	duration := func(p *time.Duration, def time.Duration) {
		if *p <= 0 {
			*p = def
		}
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	positive(&cfg.BatchBytes, DefaultBatchBytes)
	positive(&cfg.MaxMessageBytes, DefaultMaxMessageBytes)
	if cfg.MaxMessageBytes > 1<<32-1 {
		// The partial fetch length is a 32-bit number on the wire.
		cfg.MaxMessageBytes = 1<<32 - 1
	}
	duration(&cfg.LeaseTTL, DefaultLeaseTTL)
	duration(&cfg.LeaseRetry, cfg.LeaseTTL/2)
	duration(&cfg.PollInterval, DefaultPollInterval)
	duration(&cfg.BackoffMin, DefaultBackoffMin)
	duration(&cfg.BackoffMax, DefaultBackoffMax)
	if cfg.BackoffMax < cfg.BackoffMin {
		cfg.BackoffMax = cfg.BackoffMin
	}
	duration(&cfg.DialTimeout, DefaultDialTimeout)
	duration(&cfg.LogoutGrace, DefaultLogoutGrace)
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	} else {
		cfg.TLSConfig = &tls.Config{}
	}
	if cfg.TLSConfig.ServerName == "" {
		cfg.TLSConfig.ServerName = cfg.Host
	}

	token := make([]byte, 12)
	_, _ = rand.Read(token) // crypto/rand.Read never fails
	return &Watcher{
		cfg:     cfg,
		handler: h,
		state:   st,
		log:     log.With("mailbox", cfg.Name, "folder", cfg.Folder),
		owner:   hex.EncodeToString(token),
		poll:    make(chan struct{}, 1),
	}, nil
}

// validName keeps a mailbox name usable inside a Redis hash tag.
func validName(name string) error {
	if name == "" {
		return errors.New("imapwatch: mailbox name is required")
	}
	if strings.ContainsAny(name, "{}") || strings.ContainsFunc(name, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) {
		return fmt.Errorf("imapwatch: mailbox name %q: no braces, spaces or control characters", name)
	}
	return nil
}

// Name is the mailbox's Config.Name.
func (w *Watcher) Name() string { return w.cfg.Name }

// Poll asks for a full drain of the folder as soon as possible, e.g. from
// a cron entry. It never blocks; nudges while one is pending merge.
func (w *Watcher) Poll() {
	select {
	case w.poll <- struct{}{}:
	default:
	}
}

// Status reports the last time the watcher talked to its server without
// trouble and the error of the latest failure since then: nil when the
// latest attempt succeeded. A message whose Handle failed counts as a
// failure until a later drain goes through cleanly.
func (w *Watcher) Status() (lastSuccess time.Time, lastErr error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastSuccess, w.lastErr
}

func (w *Watcher) succeeded() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastSuccess = time.Now()
	w.lastErr = nil
}

func (w *Watcher) failed(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lastErr = err
}
