package imapwatch_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/imapidle"
	"github.com/intakebot/intakebot/internal/testcert"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/intakebot/intakebot/channels/email/imapwatch"
	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/internal/oauthserver"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// waitTimeout is generous: it only bounds a test that would otherwise hang.
const waitTimeout = 20 * time.Second

// wire records the raw IMAP traffic of a test server (both directions) so
// that tests can wait for what the watcher said, e.g. IDLE.
type wire struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newWire() *wire { return &wire{changed: make(chan struct{})} }

func (w *wire) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return len(p), nil
}

func (w *wire) count(s string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Count(w.buf.String(), s)
}

// waitCount waits until s occurs at least n times on the wire.
func (w *wire) waitCount(t *testing.T, s string, n int) {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		w.mu.Lock()
		got := strings.Count(w.buf.String(), s)
		ch := w.changed
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("wire: waited for %d x %q, saw %d", n, s, got)
		}
	}
}

type discardLogger struct{}

func (discardLogger) Printf(string, ...any) {}

// noBody makes the server answer a body fetch of the UIDs in blank with an
// empty BODY[] literal, as broken servers do; their RFC822.SIZE and the
// stored message stay intact. Everything else is the wrapped session's.
type noBody struct {
	imapidle.Session
	blank map[imap.UID]bool
}

func (s noBody) Fetch(w *imapserver.FetchWriter, numSet imap.NumSet, options *imap.FetchOptions) error {
	uids, ok := numSet.(imap.UIDSet)
	if !ok || len(options.BodySection) == 0 {
		return s.Session.Fetch(w, numSet, options)
	}
	var rest, blanked imap.UIDSet
	for uid := range s.blank {
		if uids.Contains(uid) {
			blanked.AddNum(uid)
		}
	}
	// The watcher fetches bodies by UID range from its size fetch, so the
	// set lists each UID it wants; keep the others for the real backend.
	nums, _ := uids.Nums()
	for _, uid := range nums {
		if !s.blank[uid] {
			rest.AddNum(uid)
		}
	}
	if len(rest) > 0 {
		if err := s.Session.Fetch(w, rest, options); err != nil {
			return err
		}
	}
	if len(blanked) == 0 {
		return nil
	}
	found, err := s.Search(imapserver.NumKindSeq, &imap.SearchCriteria{UID: []imap.UIDSet{blanked}}, &imap.SearchOptions{})
	if err != nil {
		return err
	}
	seqSet, _ := found.All.(imap.SeqSet)
	seqs, _ := seqSet.Nums()
	blankedNums, _ := blanked.Nums()
	for i, seq := range seqs {
		resp := w.CreateMessage(seq)
		resp.WriteUID(blankedNums[i]) // both in ascending order
		for _, section := range options.BodySection {
			if err := resp.WriteBodySection(section, 0).Close(); err != nil {
				return err
			}
		}
		if err := resp.Close(); err != nil {
			return err
		}
	}
	return nil
}

type serverOpts struct {
	caps     imap.CapSet
	implicit bool // TLS from the first byte
	startTLS bool // STARTTLS offered, no login without it
	// oauth, when set, adds AUTHENTICATE XOAUTH2 and OAUTHBEARER that
	// accept only tokens this endpoint issued (see oauth_test.go).
	oauth  *oauthserver.Server
	noBody []imap.UID
}

// server is a real IMAP server (go-imap's imapserver with the in-memory
// backend) on a loopback port.
type server struct {
	port      int
	wire      *wire
	clientTLS *tls.Config // trusts the server's self-signed certificate
	implicit  bool
	startTLS  bool
}

func startServer(t *testing.T, o serverOpts) *server {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser("bot", "secret")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	caps := o.caps
	if caps == nil {
		caps = imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}}
	}
	s := &server{wire: newWire(), implicit: o.implicit, startTLS: o.startTLS}
	var serverTLS *tls.Config
	if o.implicit || o.startTLS {
		serverTLS, s.clientTLS = selfSigned(t)
	}
	opts := &imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			sess := imapidle.Session{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2), Every: 5 * time.Millisecond}
			if o.oauth != nil {
				return oauthSession{sess, o.oauth}, nil, nil
			}
			if len(o.noBody) > 0 {
				blank := map[imap.UID]bool{}
				for _, uid := range o.noBody {
					blank[uid] = true
				}
				return noBody{sess, blank}, nil, nil
			}
			return sess, nil, nil
		},
		Caps:         caps,
		Logger:       discardLogger{},
		InsecureAuth: !o.startTLS,
		DebugWriter:  s.wire,
	}
	if o.startTLS {
		opts.TLSConfig = serverTLS
	}
	srv := imapserver.New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.port = ln.Addr().(*net.TCPAddr).Port
	if o.implicit {
		ln = tls.NewListener(ln, serverTLS)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return s
}

// selfSigned makes a certificate for 127.0.0.1 and a client config that
// trusts it.
func selfSigned(t *testing.T) (serverTLS, clientTLS *tls.Config) {
	cert, pool := testcert.New(t)
	return &tls.Config{Certificates: []tls.Certificate{cert}}, &tls.Config{RootCAs: pool}
}

// config is a watcher config for this server with test-sized timings.
func (s *server) config(name string) imapwatch.Config {
	c := imapwatch.Config{
		Name: name, Host: "127.0.0.1", Port: s.port, TLS: mailtls.None,
		Username: "bot", Password: "secret",
		ProcessedFolder: "Processed", QuarantineFolder: "Quarantine",
		LeaseTTL: 3 * time.Second, LeaseRetry: 20 * time.Millisecond,
		PollInterval: time.Hour, // the tests drive drains with IDLE and Poll
		BackoffMin:   10 * time.Millisecond, BackoffMax: 100 * time.Millisecond,
		LogoutGrace: 2 * time.Second,
	}
	switch {
	case s.implicit:
		c.TLS, c.TLSConfig = mailtls.Implicit, s.clientTLS
	case s.startTLS:
		c.TLS, c.TLSConfig = mailtls.StartTLS, s.clientTLS
	}
	return c
}

// admin opens a client of its own, as a person or an MTA would.
func (s *server) admin(t *testing.T) *imapclient.Client {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", s.port)
	var c *imapclient.Client
	var err error
	switch {
	case s.implicit:
		c, err = imapclient.DialTLS(addr, &imapclient.Options{TLSConfig: s.clientTLS})
	case s.startTLS:
		c, err = imapclient.DialStartTLS(addr, &imapclient.Options{TLSConfig: s.clientTLS})
	default:
		c, err = imapclient.DialInsecure(addr, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login("bot", "secret").Wait(); err != nil {
		c.Close()
		t.Fatal(err)
	}
	return c
}

// deliver appends messages to folder, like a mail delivery agent.
func (s *server) deliver(t *testing.T, folder string, raws ...[]byte) {
	t.Helper()
	c := s.admin(t)
	defer c.Close()
	for _, raw := range raws {
		cmd := c.Append(folder, int64(len(raw)), nil)
		if _, err := cmd.Write(raw); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
	}
	_ = c.Logout().Wait()
}

type stored struct {
	UID   imap.UID
	Flags []imap.Flag
	Raw   []byte
}

func (m stored) seen() bool { return slices.Contains(m.Flags, imap.FlagSeen) }

// contents lists a folder, read-only and without setting \Seen.
func (s *server) contents(t *testing.T, folder string) []stored {
	t.Helper()
	c := s.admin(t)
	defer c.Close()
	sel, err := c.Select(folder, &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil {
		return nil // not created yet
	}
	var out []stored
	if sel.NumMessages > 0 {
		section := &imap.FetchItemBodySection{Peek: true}
		msgs, err := c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{UID: true, Flags: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			out = append(out, stored{UID: m.UID, Flags: m.Flags, Raw: m.FindBodySection(section)})
		}
	}
	_ = c.Logout().Wait()
	return out
}

// waitFolders waits until each folder holds exactly the named messages
// (by Message-ID, any order).
func (s *server) waitFolders(t *testing.T, want map[string][]string) map[string][]stored {
	t.Helper()
	var last map[string][]string
	ok := waitFor(t, func() bool {
		got := make(map[string][]stored)
		last = make(map[string][]string)
		for folder := range want {
			got[folder] = s.contents(t, folder)
			for _, m := range got[folder] {
				last[folder] = append(last[folder], messageID(m.Raw))
			}
			slices.Sort(last[folder])
		}
		for folder, ids := range want {
			ids = slices.Sorted(slices.Values(ids))
			if !slices.Equal(ids, last[folder]) {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("folders: want %v, have %v", want, last)
	}
	out := make(map[string][]stored)
	for folder := range want {
		out[folder] = s.contents(t, folder)
	}
	return out
}

// waitFor checks cond until it holds or waitTimeout passes.
func waitFor(t *testing.T, cond func() bool) bool {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(waitTimeout)
	for !cond() {
		select {
		case <-tick.C:
		case <-timeout:
			return false
		}
	}
	return true
}

func messageID(raw []byte) string {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "unparseable"
	}
	return m.Header.Get("Message-ID")
}

// letter is a small message with a Message-ID of id.
func letter(id string) []byte {
	return fmt.Appendf(nil, "From: Ana <ana@example.test>\r\nTo: help@example.test\r\n"+
		"Subject: help %s\r\nMessage-ID: <%s>\r\nDate: Wed, 25 Nov 2026 09:00:00 +0000\r\n\r\nmy mail is down (%s)\r\n", id, id, id)
}

func ids(prefix string, n int) ([]string, [][]byte) {
	var names []string
	var raws [][]byte
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("%s-%02d@example.test", prefix, i)
		names = append(names, "<"+id+">")
		raws = append(raws, letter(id))
	}
	return names, raws
}

// recorder is a Handler that keeps every message it was given; fn, when
// set, decides the result.
type recorder struct {
	fn func(ctx context.Context, m imapwatch.Inbound) (imapwatch.Result, error)

	mu      sync.Mutex
	got     []imapwatch.Inbound
	changed chan struct{}
}

func newRecorder(fn func(context.Context, imapwatch.Inbound) (imapwatch.Result, error)) *recorder {
	return &recorder{fn: fn, changed: make(chan struct{})}
}

func (r *recorder) Handle(ctx context.Context, m imapwatch.Inbound) (imapwatch.Result, error) {
	var res imapwatch.Result
	var err error
	if r.fn != nil {
		res, err = r.fn(ctx, m)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, m)
	close(r.changed)
	r.changed = make(chan struct{})
	return res, err
}

func (r *recorder) all() []imapwatch.Inbound {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// wait waits until the handler was called at least n times.
func (r *recorder) wait(t *testing.T, n int) []imapwatch.Inbound {
	t.Helper()
	timeout := time.After(waitTimeout)
	for {
		r.mu.Lock()
		got := slices.Clone(r.got)
		ch := r.changed
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("handler: waited for %d messages, got %d", n, len(got))
		}
	}
}

// counts is how often each Message-ID was handed over.
func counts(got []imapwatch.Inbound) map[string]int {
	c := make(map[string]int)
	for _, m := range got {
		c[messageID(m.Raw)]++
	}
	return c
}

// logs is a concurrency-safe log sink that tests can search.
type logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logs) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func newLogger(t *testing.T) (*slog.Logger, *logs) {
	l := &logs{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("watcher log:\n%s", l.String())
		}
	})
	return slog.New(slog.NewTextHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug})), l
}

type fixture struct {
	rdb    redis.UniversalClient
	prefix string
	state  *redisstore.Store
	log    *slog.Logger
	logs   *logs
}

func newFixture(t *testing.T) *fixture {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	log, l := newLogger(t)
	return &fixture{rdb: rdb, prefix: prefix, state: redisstore.New(rdb, prefix), log: log, logs: l}
}

func (f *fixture) leaseKey(name string) string { return f.prefix + ":{mbox:" + name + "}:lease" }

func (f *fixture) watcher(t *testing.T, cfg imapwatch.Config, h imapwatch.Handler) *imapwatch.Watcher {
	t.Helper()
	w, err := imapwatch.New(cfg, h, f.state, f.log)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// start runs w until the returned stop is called (or the test ends) and
// checks that Run returns promptly and cleanly.
func start(t *testing.T, w *imapwatch.Watcher) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	return startCtx(t, ctx, cancel, w)
}

func startCtx(t *testing.T, ctx context.Context, cancel context.CancelFunc, w *imapwatch.Watcher) (stop func()) {
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(waitTimeout):
				t.Errorf("Run did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
