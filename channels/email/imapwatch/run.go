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

	full := true
	for {
		if err := w.drain(ctx, c, cur, full); err != nil {
			return err
		}
		w.countQuarantine(c)
		if full, err = w.wait(ctx, c, newMail); err != nil {
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
// notification).
func (w *Watcher) wait(ctx context.Context, c *imapclient.Client, newMail <-chan struct{}) (full bool, err error) {
	timer := time.NewTimer(w.cfg.PollInterval)
	defer timer.Stop()
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
		for batch := range slices.Chunk(uids, w.cfg.BatchSize) {
			fs, err := w.batch(ctx, c, cur, batch)
			failures = append(failures, fs...)
			if err != nil {
				return err
			}
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

// batch handles up to BatchSize messages: their sizes first (one UID
// FETCH), then their bodies in groups of at most BatchBytes (one UID FETCH
// each), so that memory stays bounded and an oversized message is only
// partly downloaded.
func (w *Watcher) batch(ctx context.Context, c *imapclient.Client, cur *cursor, uids []imap.UID) ([]error, error) {
	msgs, err := c.Fetch(imap.UIDSetNum(uids...), &imap.FetchOptions{UID: true, RFC822Size: true, Flags: true}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap: fetch sizes: %w", err)
	}
	// Another client may have deleted or expunged some since the search.
	msgs = slices.DeleteFunc(msgs, func(m *imapclient.FetchMessageBuffer) bool {
		return slices.Contains(m.Flags, imap.FlagDeleted)
	})
	slices.SortFunc(msgs, func(a, b *imapclient.FetchMessageBuffer) int { return cmp.Compare(a.UID, b.UID) })

	var failures []error
	for len(msgs) > 0 {
		n, total := 0, int64(0)
		for n < len(msgs) {
			size := min(msgs[n].RFC822Size, w.cfg.MaxMessageBytes)
			if n > 0 && total+size > w.cfg.BatchBytes {
				break
			}
			total += size
			n++
		}
		fs, err := w.group(ctx, c, cur, msgs[:n])
		failures = append(failures, fs...)
		if err != nil {
			return failures, err
		}
		msgs = msgs[n:]
	}
	return failures, nil
}

// group fetches the bodies of msgs, hands each over in UID order and files
// away those whose outcome the handler stored.
func (w *Watcher) group(ctx context.Context, c *imapclient.Client, cur *cursor, msgs []*imapclient.FetchMessageBuffer) ([]error, error) {
	var set imap.UIDSet
	for _, m := range msgs {
		set.AddNum(m.UID)
	}
	// BODY.PEEK so the message is not marked \Seen before its outcome is
	// stored; <0.N> so an oversized one costs at most N bytes. A message
	// smaller than N comes whole.
	section := &imap.FetchItemBodySection{Peek: true, Partial: &imap.SectionPartial{Offset: 0, Size: w.cfg.MaxMessageBytes}}
	bufs, err := c.Fetch(set, &imap.FetchOptions{UID: true, BodySection: []*imap.FetchItemBodySection{section}}).Collect()
	if err != nil {
		return nil, fmt.Errorf("imap: fetch bodies: %w", err)
	}
	// A message the server answered for is in bodies even when its body
	// came back empty (or NIL); one it did not answer for was expunged.
	bodies := make(map[imap.UID][]byte, len(bufs))
	for _, b := range bufs {
		bodies[b.UID] = b.FindBodySection(section)
	}

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
	var processed, quarantined imap.UIDSet
	var high imap.UID
	for i, in := range ins {
		uid := imap.UID(in.UID)
		log := w.log.With("uid", uid, "uidvalidity", cur.validity)
		res, err := results[i], errs[i]
		if err != nil && ctx.Err() != nil {
			// The handler gave up because we are stopping (or lost the
			// lease); the message simply waits for the next drain.
			return failures, context.Cause(ctx)
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
			return failures, context.Cause(ctx)
		}
		switch {
		case in.NoBody:
			log.Warn("imap: quarantined", "reason", ReasonNoBody, "size", in.Size, "outcome", res.Reason)
			quarantined.AddNum(uid)
		case res.Quarantine:
			log.Warn("imap: quarantined", "reason", res.Reason, "truncated", in.Truncated)
			quarantined.AddNum(uid)
		default:
			log.Debug("imap: processed", "reason", res.Reason)
			processed.AddNum(uid)
		}
		high = max(high, uid)
	}
	if high == 0 {
		return failures, nil
	}
	if err := w.file(c, processed, quarantined); err != nil {
		return failures, err
	}
	if high > cur.checkpoint {
		cp := Checkpoint{UIDValidity: cur.validity, UID: uint32(high), At: time.Now()}
		if err := w.saveCheckpoint(ctx, cp); err != nil {
			return failures, fmt.Errorf("imap: save checkpoint: %w", err)
		}
		cur.checkpoint = high
	}
	return failures, nil
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

// file marks the handled messages \Seen and moves them to their folders.
// Both are batch commands on UID sets. \Seen goes first because MOVE (and
// the COPY fallback) carries the flags along.
func (w *Watcher) file(c *imapclient.Client, processed, quarantined imap.UIDSet) error {
	var all imap.UIDSet
	all.AddSet(processed)
	all.AddSet(quarantined)
	seen := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	if err := c.Store(all, seen, nil).Close(); err != nil {
		return fmt.Errorf("imap: store \\Seen: %w", err)
	}
	// Move uses UID MOVE, or UID COPY + UID STORE \Deleted + UID EXPUNGE on
	// servers without MOVE (plain EXPUNGE when they lack UIDPLUS too).
	for _, m := range []struct {
		set    imap.UIDSet
		folder string
	}{{processed, w.cfg.ProcessedFolder}, {quarantined, w.cfg.QuarantineFolder}} {
		if len(m.set) == 0 {
			continue
		}
		if _, err := c.Move(m.set, m.folder).Wait(); err != nil {
			return fmt.Errorf("imap: move to %q: %w", m.folder, err)
		}
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
