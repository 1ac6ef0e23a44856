package imapwatch

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/intakebot/intakebot/channels/email/mailtls"
)

// releaseTimeout bounds giving the lease back on the way out, when the
// caller's context is already done.
const releaseTimeout = 5 * time.Second

// Run watches the mailbox until ctx ends: connect, take the lease, drain
// the folder, then wait for new mail (IDLE when the server has it, Poll,
// PollInterval) and drain again. Failures are logged, shown by Status and
// retried with a capped exponential backoff. When ctx ends Run releases the
// lease, logs out and returns nil. Call Run once at a time per Watcher.
func (w *Watcher) Run(ctx context.Context) error {
	backoff := w.cfg.BackoffMin
	for {
		connected, err := w.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			// The server and the credentials work: whatever broke now is
			// new, so start again from the shortest wait.
			backoff = w.cfg.BackoffMin
		}
		delay := jitter(backoff)
		if errors.Is(err, ErrLeaseLost) {
			// Another bot works the mailbox now; that is not a fault.
			w.log.Warn("imap: lease lost to another bot; standing by", "retry_in", delay)
		} else {
			w.failed(err)
			w.log.Error("imap: session failed", "err", err, "retry_in", delay)
		}
		if sleep(ctx, delay) != nil {
			return nil
		}
		if !connected {
			backoff = min(backoff*2, w.cfg.BackoffMax)
		}
	}
}

// jitter spreads reconnects of many bots over ±20% of d.
func jitter(d time.Duration) time.Duration {
	return d - d/5 + rand.N(d/5*2+1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// session is one connection: it returns when the connection or the lease
// is lost, or ctx ends. connected reports whether login worked.
func (w *Watcher) session(ctx context.Context) (connected bool, err error) {
	conn, err := w.dial(ctx)
	if err != nil {
		return false, err
	}

	// IMAP commands do not take a context. The watchdog closes the
	// connection when ctx ends (or the session is ending) and the session
	// has not finished within LogoutGrace, so that no blocked command
	// outlives Run; closing fails every pending command.
	ending, finished := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { watchdog(ctx, ending, finished, w.cfg.LogoutGrace, conn) })
	defer func() {
		close(finished)
		wg.Wait()
		conn.Close()
	}()

	// New mail shows up as an untagged EXISTS, delivered on the client's
	// reader goroutine; a buffered channel of one keeps that goroutine from
	// ever blocking and merges notifications that arrive while we drain.
	newMail := make(chan struct{}, 1)
	opts := &imapclient.Options{
		TLSConfig: w.cfg.TLSConfig,
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(d *imapclient.UnilateralDataMailbox) {
				if d.NumMessages != nil {
					select {
					case newMail <- struct{}{}:
					default:
					}
				}
			},
		},
	}
	var c *imapclient.Client
	if w.cfg.TLS == mailtls.StartTLS {
		c, err = imapclient.NewStartTLS(conn, opts)
	} else {
		c = imapclient.New(conn, opts)
		err = c.WaitGreeting()
	}
	if err != nil {
		return false, fmt.Errorf("imap %s: greeting: %w", w.addr(), err)
	}
	defer c.Close()
	defer func() {
		// Tell the watchdog we are leaving, so a server that never answers
		// LOGOUT costs at most LogoutGrace.
		close(ending)
		if err := c.Logout().Wait(); err != nil {
			w.log.Debug("imap: logout", "err", err)
		}
	}()

	if err := w.login(ctx, c); err != nil {
		return false, err
	}
	w.succeeded()

	if err := w.acquire(ctx, c); err != nil {
		return true, err
	}
	// leaseCtx ends when ctx does or when the lease is lost; all work runs
	// under it, so that a bot that lost its lease stops before its next
	// message.
	leaseCtx, cancel := context.WithCancelCause(ctx)
	var lwg sync.WaitGroup
	lwg.Go(func() { w.keepLease(leaseCtx, cancel) })
	defer func() {
		cancel(nil)
		lwg.Wait()
		rctx, done := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
		defer done()
		if err := w.state.ReleaseLease(rctx, w.cfg.Name, w.owner); err != nil {
			// It expires by itself after LeaseTTL.
			w.log.Warn("imap: release lease", "err", err)
		}
	}()

	// work returns context.Cause(leaseCtx) when that ends: ErrLeaseLost
	// when the lease went to another bot.
	return true, w.work(leaseCtx, c, newMail)
}

// login authenticates with Config.Auth's SASL mechanism when set, else
// with LOGIN and the password.
func (w *Watcher) login(ctx context.Context, c *imapclient.Client) error {
	if w.cfg.Auth == nil {
		if err := c.Login(w.cfg.Username, w.cfg.Password).Wait(); err != nil {
			return fmt.Errorf("imap %s: login as %q: %w", w.addr(), w.cfg.Username, err)
		}
		return nil
	}
	mech := w.cfg.Auth.Mechanism()
	// Checked first so that a server that does not take tokens says so,
	// rather than failing an exchange it never offered.
	if !c.Caps().Has(imap.Cap("AUTH=" + mech)) {
		return fmt.Errorf("imap %s: server does not offer AUTH=%s", w.addr(), mech)
	}
	sc, err := w.cfg.Auth.SASLClient(ctx)
	if err != nil {
		return fmt.Errorf("imap %s: no token to log in as %q: %w", w.addr(), w.cfg.Username, err)
	}
	if err := c.Authenticate(sc); err != nil {
		return fmt.Errorf("imap %s: authenticate %s as %q: %w", w.addr(), mech, w.cfg.Username, err)
	}
	return nil
}

func watchdog(ctx context.Context, ending, finished <-chan struct{}, grace time.Duration, conn net.Conn) {
	select {
	case <-ctx.Done():
	case <-ending:
	case <-finished:
		return
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-t.C:
		conn.Close()
	case <-finished:
	}
}

func (w *Watcher) addr() string {
	return net.JoinHostPort(w.cfg.Host, strconv.Itoa(w.cfg.Port))
}

// dial opens the TCP connection (and the TLS session for implicit TLS)
// under ctx; STARTTLS happens in the IMAP client.
func (w *Watcher) dial(ctx context.Context) (net.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, w.cfg.DialTimeout)
	defer cancel()
	d := net.Dialer{}
	conn, err := d.DialContext(dctx, "tcp", w.addr())
	if err != nil {
		return nil, fmt.Errorf("imap: dial: %w", err)
	}
	if w.cfg.TLS != mailtls.Implicit {
		return conn, nil
	}
	cfg := w.cfg.TLSConfig.Clone()
	if cfg.NextProtos == nil {
		cfg.NextProtos = []string{"imap"}
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(dctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("imap %s: tls: %w", w.addr(), err)
	}
	return tc, nil
}

// acquire waits until this watcher holds the mailbox lease. Meanwhile it
// keeps the connection alive with NOOP, which also keeps Status honest for
// a standby bot.
func (w *Watcher) acquire(ctx context.Context, c *imapclient.Client) error {
	for logged := false; ; {
		ok, err := w.state.AcquireLease(ctx, w.cfg.Name, w.owner, w.cfg.LeaseTTL)
		if err != nil {
			return fmt.Errorf("imap: acquire lease: %w", err)
		}
		if ok {
			w.log.Info("imap: lease acquired; watching")
			return nil
		}
		if !logged {
			w.log.Info("imap: another bot holds the lease; waiting", "retry_every", w.cfg.LeaseRetry)
			logged = true
		}
		if err := sleep(ctx, w.cfg.LeaseRetry); err != nil {
			return err
		}
		if err := c.Noop().Wait(); err != nil {
			return fmt.Errorf("imap: noop: %w", err)
		}
		w.succeeded()
	}
}

// keepLease renews the lease every third of its TTL. A renewal refused
// means another bot owns the mailbox now; failed renewals (Redis away) are
// retried until the lease would have expired. Either way it cancels the
// session's work with the reason.
func (w *Watcher) keepLease(ctx context.Context, cancel context.CancelCauseFunc) {
	ttl := w.cfg.LeaseTTL
	t := time.NewTicker(ttl / 3)
	defer t.Stop()
	validUntil := time.Now().Add(ttl)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sent := time.Now()
		ok, err := w.state.RenewLease(ctx, w.cfg.Name, w.owner, ttl)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil && ok:
			validUntil = sent.Add(ttl)
		case err == nil:
			cancel(ErrLeaseLost)
			return
		default:
			w.log.Warn("imap: renew lease", "err", err)
			// Stop before the next tick could find it expired.
			if time.Now().Add(ttl / 3).After(validUntil) {
				cancel(fmt.Errorf("%w: could not renew it: %w", ErrLeaseLost, err))
				return
			}
		}
	}
}

// cursor is what a session knows about its folder.
type cursor struct {
	validity   uint32
	checkpoint imap.UID // highest UID filed away, as stored
	seen       imap.UID // highest UID handed over in this session
}

// work selects the folder and drains it until ctx ends or the connection
// fails.
func (w *Watcher) work(ctx context.Context, c *imapclient.Client, newMail <-chan struct{}) error {
	for _, f := range []string{w.cfg.ProcessedFolder, w.cfg.QuarantineFolder} {
		if err := ensureFolder(c, f); err != nil {
			return err
		}
	}
	sel, err := c.Select(w.cfg.Folder, nil).Wait()
	if err != nil {
		return fmt.Errorf("imap: select %q: %w", w.cfg.Folder, err)
	}
	cur := &cursor{validity: sel.UIDValidity}
	cp, err := w.state.LoadCheckpoint(ctx, w.cfg.Name)
	if err != nil {
		return fmt.Errorf("imap: load checkpoint: %w", err)
	}
	if cp.UIDValidity != sel.UIDValidity {
		if cp.UIDValidity != 0 {
			// The server renumbered the folder (recreated, restored, migrated):
			// old UIDs mean nothing now. The folder is still the source of
			// truth, and the handler dedupes by Message-ID, so a reset is all
			// that is needed.
			w.log.Warn("imap: UIDVALIDITY changed; resetting checkpoint",
				"old_uidvalidity", cp.UIDValidity, "old_uid", cp.UID, "uidvalidity", sel.UIDValidity)
		}
		cp = Checkpoint{UIDValidity: sel.UIDValidity, At: time.Now()}
		if err := w.saveCheckpoint(ctx, cp); err != nil {
			return fmt.Errorf("imap: save checkpoint: %w", err)
		}
	}
	cur.checkpoint = imap.UID(cp.UID)

	// With CheckInterval the NOOPs keep their pace across drains, so that
	// mail arriving at any moment is seen within one interval.
	var checks <-chan time.Time
	if w.cfg.CheckInterval > 0 {
		tick := time.NewTicker(w.cfg.CheckInterval)
		defer tick.Stop()
		checks = tick.C
	}
	full := true
	for {
		if err := w.drain(ctx, c, cur, full); err != nil {
			return err
		}
		w.countQuarantine(c)
		if full, err = w.wait(ctx, c, newMail, checks); err != nil {
			return err
		}
	}
}

// countQuarantine notes how many mails wait in the quarantine folder, for
// the metrics; a failure only leaves the last count.
func (w *Watcher) countQuarantine(c *imapclient.Client) {
	st, err := c.Status(w.cfg.QuarantineFolder, &imap.StatusOptions{NumMessages: true}).Wait()
	if err != nil || st.NumMessages == nil {
		w.log.Debug("imap: quarantine count failed", "err", err)
		return
	}
	w.mu.Lock()
	w.quarantined, w.quarantineKnown = int64(*st.NumMessages), true
	w.mu.Unlock()
}

// ensureFolder creates a folder unless LIST shows it.
func ensureFolder(c *imapclient.Client, name string) error {
	list, err := c.List("", name, nil).Collect()
	if err != nil {
		return fmt.Errorf("imap: list %q: %w", name, err)
	}
	for _, l := range list {
		if l.Mailbox == name {
			return nil
		}
	}
	err = c.Create(name, nil).Wait()
	var ierr *imap.Error
	if errors.As(err, &ierr) && ierr.Code == imap.ResponseCodeAlreadyExists {
		return nil
	}
	if err != nil {
		return fmt.Errorf("imap: create %q: %w", name, err)
	}
	return nil
}

// wait blocks until there is reason to drain again and says whether that
// drain must cover the whole folder (poll, timer) or only new UIDs (IDLE
// notification). With checks (CheckInterval's ticks) it asks with NOOP
// on each tick instead of idling.
func (w *Watcher) wait(ctx context.Context, c *imapclient.Client, newMail <-chan struct{}, checks <-chan time.Time) (full bool, err error) {
	timer := time.NewTimer(w.cfg.PollInterval)
	defer timer.Stop()
	if checks != nil {
		return w.check(ctx, c, newMail, checks, timer)
	}
	if !c.Caps().Has(imap.CapIdle) {
		select {
		case <-ctx.Done():
			return false, context.Cause(ctx)
		case <-w.poll:
		case <-timer.C:
		}
		return true, nil
	}
	idle, err := c.Idle()
	if err != nil {
		return false, fmt.Errorf("imap: idle: %w", err)
	}
	full, closed := true, false
	select {
	case <-ctx.Done():
	case <-newMail:
		full = false
	case <-w.poll:
	case <-timer.C:
	case <-c.Closed():
		closed = true
	}
	cerr := idle.Close()
	werr := idle.Wait()
	switch {
	case ctx.Err() != nil:
		return false, context.Cause(ctx)
	case closed:
		return false, errors.New("imap: connection closed during IDLE")
	case cerr != nil:
		return false, fmt.Errorf("imap: stop idle: %w", cerr)
	case werr != nil:
		return false, fmt.Errorf("imap: idle: %w", werr)
	}
	return full, nil
}

// check waits as wait does, but asks the server with NOOP on each tick
// of checks instead of idling. A NOOP's untagged EXISTS reaches newMail on
// the client's reader goroutine before the NOOP's own OK, so new mail is
// seen by the select after the NOOP that found it.
func (w *Watcher) check(ctx context.Context, c *imapclient.Client, newMail <-chan struct{}, checks <-chan time.Time, timer *time.Timer) (full bool, err error) {
	for {
		select {
		case <-ctx.Done():
			return false, context.Cause(ctx)
		case <-newMail:
			return false, nil
		case <-w.poll:
			return true, nil
		case <-timer.C:
			return true, nil
		case <-c.Closed():
			return false, errors.New("imap: connection closed")
		case <-checks:
			if err := c.Noop().Wait(); err != nil {
				return false, fmt.Errorf("imap: noop: %w", err)
			}
		}
	}
}

// drain hands over every undeleted message in the folder (full) or those
// above the highest UID seen in this session, in UID order, until a search
// finds nothing new. Handler failures do not stop it: the message stays
// for the next full drain.
func (w *Watcher) drain(ctx context.Context, c *imapclient.Client, cur *cursor, full bool) error {
	from := imap.UID(1)
	if !full {
		from = cur.seen + 1
	}
	var failures []error
	for {
		uids, err := search(c, from)
		if err != nil {
			return err
		}
		if len(uids) == 0 {
			break
		}
		fs, err := w.pipeline(ctx, c, cur, uids)
		failures = append(failures, fs...)
		if err != nil {
			return err
		}
		// Only mail that arrived while we worked is left to look at.
		from = uids[len(uids)-1] + 1
	}
	if len(failures) > 0 {
		w.failed(fmt.Errorf("imap: %d message(s) left in %q for a retry: %w", len(failures), w.cfg.Folder, errors.Join(failures...)))
	} else {
		w.succeeded()
	}
	return nil
}

// search lists the folder's undeleted UIDs from from on, ascending.
// \Deleted messages are skipped: they are on their way out (a COPY-based
// move that was not expunged yet, or deleted by a person).
func search(c *imapclient.Client, from imap.UID) ([]imap.UID, error) {
	crit := &imap.SearchCriteria{
		UID:     []imap.UIDSet{{imap.UIDRange{Start: from, Stop: 0}}},
		NotFlag: []imap.Flag{imap.FlagDeleted},
	}
	data, err := c.UIDSearch(crit, nil).Wait()
	if err != nil {
		return nil, fmt.Errorf("imap: uid search: %w", err)
	}
	// "from:*" also matches the highest UID when that is below from (a
	// range means the same either way round), so filter.
	uids := slices.DeleteFunc(data.AllUIDs(), func(u imap.UID) bool { return u < from })
	slices.Sort(uids)
	return uids, nil
}

// sizeChunk is how many batches' sizes one UID FETCH asks for: enough
// that the pipeline seldom waits for it, few enough that the sizes of a
// large backlog are not all held at once.
const sizeChunk = 8

// groups hands out the messages of uids in groups of at most BatchSize
// messages and BatchBytes of bodies, in UID order. It fetches their sizes
// (and flags) sizeChunk batches at a time, so that an oversized message is
// only partly downloaded and memory stays bounded, and asks for the next
// chunk's as soon as one arrives, so the pipeline does not stall on them.
type groups struct {
	w     *Watcher
	c     *imapclient.Client
	uids  []imap.UID
	msgs  []*imapclient.FetchMessageBuffer
	ahead chan fetched // the next chunk's sizes on their way, or nil
}

// fetchSizes sends the UID FETCH of the next chunk's sizes and returns at
// once; the answer arrives on the channel (buffered, so the goroutine ends
// even when nobody waits any more).
func (g *groups) fetchSizes() chan fetched {
	n := min(len(g.uids), sizeChunk*g.w.cfg.BatchSize)
	cmd := g.c.Fetch(imap.UIDSetNum(g.uids[:n]...), &imap.FetchOptions{UID: true, RFC822Size: true, Flags: true})
	g.uids = g.uids[n:]
	done := make(chan fetched, 1)
	go func() {
		bufs, err := cmd.Collect()
		done <- fetched{bufs, err}
	}()
	return done
}

// next returns the next group, or none when every message was handed out.
func (g *groups) next() ([]*imapclient.FetchMessageBuffer, error) {
	for len(g.msgs) == 0 && (g.ahead != nil || len(g.uids) > 0) {
		if g.ahead == nil {
			g.ahead = g.fetchSizes()
		}
		f := <-g.ahead
		g.ahead = nil
		if f.err != nil {
			return nil, fmt.Errorf("imap: fetch sizes: %w", f.err)
		}
		if len(g.uids) > 0 {
			g.ahead = g.fetchSizes()
		}
		// Another client may have deleted or expunged some since the search.
		msgs := slices.DeleteFunc(f.bufs, func(m *imapclient.FetchMessageBuffer) bool {
			return slices.Contains(m.Flags, imap.FlagDeleted)
		})
		slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })
		g.msgs = msgs
	}
	n, total := 0, int64(0)
	for n < len(g.msgs) && n < g.w.cfg.BatchSize {
		size := min(g.msgs[n].RFC822Size, g.w.cfg.MaxMessageBytes)
		if n > 0 && total+size > g.w.cfg.BatchBytes {
			break
		}
		total += size
		n++
	}
	out := g.msgs[:n:n]
	g.msgs = g.msgs[n:]
	return out, nil
}

// bodies is a UID FETCH of a group's bodies on its way: the client reads
// the answer on a goroutine of its own, so that the server can send it
// while the previous group is handled.
type bodies struct {
	msgs    []*imapclient.FetchMessageBuffer
	section *imap.FetchItemBodySection
	done    chan fetched
}

type fetched struct {
	bufs []*imapclient.FetchMessageBuffer
	err  error
}

// fetchBodies sends the UID FETCH of msgs' bodies and returns at once.
func (w *Watcher) fetchBodies(c *imapclient.Client, msgs []*imapclient.FetchMessageBuffer) *bodies {
	var set imap.UIDSet
	for _, m := range msgs {
		set.AddNum(m.UID)
	}
	// BODY.PEEK so the message is not marked \Seen before its outcome is
	// stored; <0.N> so an oversized one costs at most N bytes. A message
	// smaller than N comes whole.
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: w.cfg.MaxMessageBytes}}
	cmd := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}})
	// Buffered, so the goroutine ends even when nobody waits any more
	// (the session failed); closing the connection ends Collect.
	b := &bodies{msgs: msgs, section: section, done: make(chan fetched, 1)}
	go func() {
		bufs, err := cmd.Collect()
		b.done <- fetched{bufs, err}
	}()
	return b
}

// wait returns the bodies by UID. A message the server answered for is in
// the map even when its body came back empty (or NIL); one it did not
// answer for was expunged.
func (b *bodies) wait() (map[imap.UID][]byte, error) {
	f := <-b.done
	if f.err != nil {
		return nil, fmt.Errorf("imap: fetch bodies: %w", f.err)
	}
	out := make(map[imap.UID][]byte, len(f.bufs))
	for _, buf := range f.bufs {
		out[buf.UID] = buf.FindBodySection(b.section)
	}
	return out, nil
}

// pipeline hands over the messages uids group by group, and overlaps the
// three costs of a group, which used to follow each other: while the
// handler works on group N, the server already sends the bodies of group
// N+1 and files away group N-1 (STORE \Seen, MOVE), all on the one
// connection as pipelined commands. At most two groups' bodies are held
// at once.
//
// The crash-safety story is unchanged: a group is filed only after the
// handler stored the outcomes of its messages, and the checkpoint moves
// only after the filing is confirmed, in UID order. A crash (or a stop)
// between the two leaves messages in the folder whose outcome is stored;
// the next drain hands them over again and the handler dedupes them.
func (w *Watcher) pipeline(ctx context.Context, c *imapclient.Client, cur *cursor, uids []imap.UID) (failures []error, err error) {
	gs := &groups{w: w, c: c, uids: uids}
	var filing *filing
	defer func() {
		// The filing already sent is waited for on every way out, so that
		// the checkpoint follows what is filed; after a failure or a stop
		// its own error only matters when there was none before.
		if ferr := w.settle(ctx, cur, filing); err == nil {
			err = ferr
		}
	}()
	first, err := gs.next()
	if err != nil || len(first) == 0 {
		return nil, err
	}
	next := w.fetchBodies(c, first)
	for next != nil {
		current := next
		raws, err := current.wait()
		if err != nil {
			return failures, err
		}
		next = nil
		more, err := gs.next()
		if err != nil {
			return failures, err
		}
		if len(more) > 0 {
			next = w.fetchBodies(c, more)
		}
		done, fs, err := w.group(ctx, cur, current.msgs, raws)
		failures = append(failures, fs...)
		if err != nil {
			return failures, err
		}
		// Group N-1's filing ran on the server while group N was handled.
		prev := filing
		filing = nil
		if err := w.settle(ctx, cur, prev); err != nil {
			return failures, err
		}
		if done.high != 0 {
			filing = w.file(c, done)
		}
	}
	return failures, nil
}

// handled is what a group's handling left to file away.
type handled struct {
	processed, quarantined imap.UIDSet
	high                   imap.UID
}

// group hands the messages of one group over in UID order and sorts the
// results: which to move where, which failed. err is set when the session
// must stop (ctx ended); the group's stored outcomes then wait for the next
// drain, like after a crash.
func (w *Watcher) group(ctx context.Context, cur *cursor, msgs []*imapclient.FetchMessageBuffer, bodies map[imap.UID][]byte) (handled, []error, error) {
	// Hand over the whole group, then act on the results in UID order.
	var ins []Inbound
	for _, m := range msgs {
		raw, ok := bodies[m.UID]
		if !ok {
			continue // expunged by another client since the size fetch
		}
		if m.UID <= cur.checkpoint {
			// Normal after a stop between Handle and the move, or after a
			// failed Handle; the handler dedupes.
			w.log.Info("imap: handing over again a message at or below the checkpoint", "uid", m.UID, "checkpoint", cur.checkpoint)
		}
		cur.seen = max(cur.seen, m.UID)
		ins = append(ins, Inbound{
			Mailbox: w.cfg.Name, Folder: w.cfg.Folder, UIDValidity: cur.validity, UID: uint32(m.UID),
			Size: m.RFC822Size, Raw: raw, Truncated: m.RFC822Size > w.cfg.MaxMessageBytes,
			// The server lost or withheld the body. It is still handed
			// over, so that its outcome is recorded (under its UID), and
			// quarantined below, for a person to look at the original.
			NoBody: len(raw) == 0,
		})
	}
	results, errs := w.handle(ctx, ins)

	var failures []error
	var h handled
	for i, in := range ins {
		uid := imap.UID(in.UID)
		log := w.log.With("uid", uid, "uidvalidity", cur.validity)
		res, err := results[i], errs[i]
		if err != nil && ctx.Err() != nil {
			// The handler gave up because we are stopping (or lost the
			// lease); the message simply waits for the next drain.
			return handled{}, failures, context.Cause(ctx)
		}
		if err != nil {
			log.Error("imap: handler failed; message left in the folder for a retry", "err", err)
			failures = append(failures, fmt.Errorf("uid %d: %w", uid, err))
			continue
		}
		if err := ctx.Err(); err != nil {
			// Stopping, or the lease was lost, while Handle ran. The outcome
			// is stored but no more commands go out: this is the crash
			// between Handle and the move, and it is covered the same way
			// (the next drain hands the message over again; the handler
			// dedupes), so a shutdown and a crash leave the same state.
			return handled{}, failures, context.Cause(ctx)
		}
		switch {
		case in.NoBody:
			log.Warn("imap: quarantined", "reason", ReasonNoBody, "size", in.Size, "outcome", res.Reason)
			h.quarantined.AddNum(uid)
		case res.Quarantine:
			log.Warn("imap: quarantined", "reason", res.Reason, "truncated", in.Truncated)
			h.quarantined.AddNum(uid)
		default:
			log.Debug("imap: processed", "reason", res.Reason)
			h.processed.AddNum(uid)
		}
		h.high = max(h.high, uid)
	}
	return h, failures, nil
}

// handle hands the messages over: all at once to a BatchHandler (which
// may work on several at a time), else one by one in UID order, stopping
// when ctx ends.
func (w *Watcher) handle(ctx context.Context, ins []Inbound) ([]Result, []error) {
	if bh, ok := w.handler.(BatchHandler); ok && len(ins) > 0 {
		return bh.HandleBatch(ctx, ins)
	}
	results, errs := make([]Result, len(ins)), make([]error, len(ins))
	for i, in := range ins {
		if err := ctx.Err(); err != nil {
			errs[i] = context.Cause(ctx)
			continue
		}
		results[i], errs[i] = w.handler.Handle(ctx, in)
	}
	return results, errs
}

// filing is a group's STORE and MOVEs on their way.
type filing struct {
	high  imap.UID
	store *imapclient.FetchCommand
	moves []*imapclient.MoveCommand
	where []string
}

// file sends the commands that mark the handled messages \Seen and move
// them to their folders, and returns without waiting: settle waits. Both
// are batch commands on UID sets. \Seen goes first because MOVE (and the
// COPY fallback) carries the flags along; the server runs pipelined
// commands in order.
func (w *Watcher) file(c *imapclient.Client, h handled) *filing {
	var all imap.UIDSet
	all.AddSet(h.processed)
	all.AddSet(h.quarantined)
	seen := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	f := &filing{high: h.high, store: c.Store(all, seen, nil)}
	// Move uses UID MOVE, or UID COPY + UID STORE \Deleted + UID EXPUNGE on
	// servers without MOVE (plain EXPUNGE when they lack UIDPLUS too).
	for _, m := range []struct {
		set    imap.UIDSet
		folder string
	}{{h.processed, w.cfg.ProcessedFolder}, {h.quarantined, w.cfg.QuarantineFolder}} {
		if len(m.set) == 0 {
			continue
		}
		f.moves = append(f.moves, c.Move(m.set, m.folder))
		f.where = append(f.where, m.folder)
	}
	return f
}

// settle waits for a filing (nil: nothing to wait for) and then moves the
// checkpoint up to its highest UID.
func (w *Watcher) settle(ctx context.Context, cur *cursor, f *filing) error {
	if f == nil {
		return nil
	}
	// Every command is waited for, even after a failure, so that none is
	// left for the next reader of the connection.
	var errs []error
	if err := f.store.Close(); err != nil {
		errs = append(errs, fmt.Errorf("imap: store \\Seen: %w", err))
	}
	for i, m := range f.moves {
		if _, err := m.Wait(); err != nil {
			errs = append(errs, fmt.Errorf("imap: move to %q: %w", f.where[i], err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if f.high > cur.checkpoint {
		cp := Checkpoint{UIDValidity: cur.validity, UID: uint32(f.high), At: time.Now()}
		if err := w.saveCheckpoint(ctx, cp); err != nil {
			return fmt.Errorf("imap: save checkpoint: %w", err)
		}
		cur.checkpoint = f.high
	}
	return nil
}

// saveCheckpoint stores cp, or gives ErrLeaseLost when another bot holds
// the mailbox now.
func (w *Watcher) saveCheckpoint(ctx context.Context, cp Checkpoint) error {
	ok, err := w.state.SaveCheckpoint(ctx, w.cfg.Name, w.owner, cp)
	if err == nil && !ok {
		return ErrLeaseLost
	}
	return err
}
