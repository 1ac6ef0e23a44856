package imapwatch_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/intakebot/intakebot/channels/email/imapwatch"
	"github.com/intakebot/intakebot/channels/email/mailtls"
)

// Every message in INBOX is handed over once, in UID order, in batches,
// unseen while the handler works on it, and ends \Seen in Processed.
func TestDeliversEachOnceInUIDOrder(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	want, raws := ids("order", 5)
	s.deliver(t, "INBOX", raws...)

	spy := s.admin(t)
	defer spy.Close()
	if _, err := spy.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait(); err != nil {
		t.Fatal(err)
	}
	var seenDuringHandle []uint32
	h := newRecorder(func(_ context.Context, m imapwatch.Inbound) (imapwatch.Result, error) {
		msgs, err := spy.Fetch(imap.UIDSetNum(imap.UID(m.UID)), &imap.FetchOptions{UID: true, Flags: true}).Collect()
		if err != nil {
			return imapwatch.Result{}, err
		}
		for _, x := range msgs {
			if slices.Contains(x.Flags, imap.FlagSeen) {
				seenDuringHandle = append(seenDuringHandle, m.UID)
			}
		}
		return imapwatch.Result{}, nil
	})
	cfg := s.config("support")
	cfg.BatchSize = 2
	w := f.watcher(t, cfg, h)
	stop := start(t, w)

	got := h.wait(t, 5)
	folders := s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want, "Quarantine": nil})
	stop()

	if len(seenDuringHandle) > 0 {
		t.Errorf("messages %v were \\Seen before their outcome was stored", seenDuringHandle)
	}
	var uids []uint32
	for i, m := range got {
		uids = append(uids, m.UID)
		if !bytes.Equal(m.Raw, raws[i]) || m.Truncated || m.Size != int64(len(raws[i])) {
			t.Errorf("message %d: raw %q truncated %v size %d", i, m.Raw, m.Truncated, m.Size)
		}
		if m.Mailbox != "support" || m.Folder != "INBOX" || m.UIDValidity == 0 {
			t.Errorf("message %d: %+v", i, m)
		}
	}
	if !slices.Equal(uids, []uint32{1, 2, 3, 4, 5}) {
		t.Errorf("UIDs handed over %v, want 1..5 once each in order", uids)
	}
	for _, m := range folders["Processed"] {
		if !m.seen() {
			t.Errorf("processed %s is not \\Seen", messageID(m.Raw))
		}
	}
	// Batches: one body fetch per two messages, not one per message. (Only
	// the watcher asks for a partial body; the test's own clients do not.)
	if n := s.wire.count("BODY.PEEK[]<0."); n != 3 {
		t.Errorf("%d body fetches for 5 messages in batches of 2, want 3", n)
	}
	if last, err := w.Status(); last.IsZero() || err != nil {
		t.Errorf("Status = %v, %v; want a success and no error", last, err)
	}
	cp, err := f.state.LoadCheckpoint(context.Background(), "support")
	if err != nil || cp.UID != 5 || cp.UIDValidity != got[0].UIDValidity {
		t.Errorf("checkpoint %+v, %v; want UID 5 under UIDVALIDITY %d", cp, err, got[0].UIDValidity)
	}
	if got := got[0].Source(); !strings.HasPrefix(got, "imap://support/INBOX;UIDVALIDITY=") || !strings.HasSuffix(got, "/;UID=1") {
		t.Errorf("Source() = %q", got)
	}
}

func TestQuarantine(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	want, raws := ids("q", 3)
	s.deliver(t, "INBOX", raws...)
	h := newRecorder(func(_ context.Context, m imapwatch.Inbound) (imapwatch.Result, error) {
		if m.UID == 2 {
			return imapwatch.Result{Quarantine: true, Reason: "unparseable"}, nil
		}
		return imapwatch.Result{}, nil
	})
	w := f.watcher(t, s.config("support"), h)
	if _, known := w.Quarantined(); known {
		t.Fatal("quarantine counted before any pass")
	}
	start(t, w)
	folders := s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": {want[0], want[2]}, "Quarantine": {want[1]}})
	if !folders["Quarantine"][0].seen() {
		t.Error("quarantined message is not \\Seen")
	}
	if !waitFor(t, func() bool { n, known := w.Quarantined(); return known && n == 1 }) {
		n, known := w.Quarantined()
		t.Fatalf("quarantine count = %d (known %v), want 1", n, known)
	}
	if !strings.Contains(f.logs.String(), "unparseable") {
		t.Error("the quarantine reason is not logged")
	}
}

// A server that returns an empty BODY[] for messages that are not empty
// (RFC822.SIZE > 0) gets each of them handed over with NoBody set, so that
// the handler records an outcome for it; whatever the handler answers,
// each is quarantined under its own UID, whole on the server, and the
// mail between them is processed as usual.
func TestEmptyBodyQuarantined(t *testing.T) {
	s := startServer(t, serverOpts{noBody: []imap.UID{1, 3}})
	f := newFixture(t)
	want, raws := ids("nobody", 3)
	s.deliver(t, "INBOX", raws...)
	h := newRecorder(func(context.Context, imapwatch.Inbound) (imapwatch.Result, error) {
		return imapwatch.Result{}, nil // even "processed" does not file an empty body away
	})
	w := f.watcher(t, s.config("support"), h)
	start(t, w)
	folders := s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": {want[1]}, "Quarantine": {want[0], want[2]}})
	for i, q := range folders["Quarantine"] {
		if !bytes.Equal(q.Raw, raws[2*i]) {
			t.Errorf("quarantined message %d is not the original: %q", i, q.Raw)
		}
	}
	got := h.all()
	if len(got) != 3 {
		t.Fatalf("handed over %+v, want all three", got)
	}
	for i, m := range got {
		empty := i != 1
		if m.UID != uint32(i+1) || m.NoBody != empty || (len(m.Raw) == 0) != empty || (!empty && !bytes.Equal(m.Raw, raws[1])) {
			t.Errorf("message %d: UID %d NoBody %v raw %q", i, m.UID, m.NoBody, m.Raw)
		}
	}
	logs := f.logs.String()
	for _, uid := range []string{"uid=1", "uid=3"} {
		if !strings.Contains(logs, uid) || !strings.Contains(logs, imapwatch.ReasonNoBody) {
			t.Errorf("log does not name %s with %q:\n%s", uid, imapwatch.ReasonNoBody, logs)
		}
	}
	if !waitFor(t, func() bool { n, known := w.Quarantined(); return known && n == 2 }) {
		n, _ := w.Quarantined()
		t.Fatalf("quarantine count = %d, want 2", n)
	}
}

// A failed Handle leaves the message untouched; the watcher goes on with
// the next one, Status shows the failure, and the next run hands it over
// again.
func TestHandlerErrorLeavesMessageForNextRun(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	want, raws := ids("err", 3)
	s.deliver(t, "INBOX", raws...)
	var mu sync.Mutex
	failing := true
	h := newRecorder(func(_ context.Context, m imapwatch.Inbound) (imapwatch.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		if m.UID == 2 && failing {
			return imapwatch.Result{}, errors.New("redis is down")
		}
		return imapwatch.Result{}, nil
	})
	w := f.watcher(t, s.config("support"), h)
	stop := start(t, w)
	h.wait(t, 3)
	folders := s.waitFolders(t, map[string][]string{"INBOX": {want[1]}, "Processed": {want[0], want[2]}})
	if folders["INBOX"][0].seen() {
		t.Error("the failed message was marked \\Seen")
	}
	waitFor(t, func() bool { _, err := w.Status(); return err != nil })
	if _, err := w.Status(); err == nil || !strings.Contains(err.Error(), "redis is down") {
		t.Errorf("Status error = %v, want the handler's failure", err)
	}
	stop()

	mu.Lock()
	failing = false
	mu.Unlock()
	w2 := f.watcher(t, s.config("support"), h)
	start(t, w2)
	got := h.wait(t, 4)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	if c := counts(got); c[want[1]] != 2 || c[want[0]] != 1 || c[want[2]] != 1 {
		t.Errorf("hand-overs per message %v; want the failed one twice, the others once", c)
	}
	waitFor(t, func() bool { _, err := w2.Status(); return err == nil })
}

// Poll wakes an idle watcher for a full drain, which retries a message
// whose Handle failed, without a reconnect.
func TestPollRetriesFailedMessage(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	want, raws := ids("poll", 1)
	s.deliver(t, "INBOX", raws...)
	var mu sync.Mutex
	calls := 0
	h := newRecorder(func(context.Context, imapwatch.Inbound) (imapwatch.Result, error) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			return imapwatch.Result{}, errors.New("try later")
		}
		return imapwatch.Result{}, nil
	})
	w := f.watcher(t, s.config("support"), h)
	start(t, w)
	h.wait(t, 1)
	s.wire.waitCount(t, " IDLE\r\n", 1)
	w.Poll()
	h.wait(t, 2)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	if n := strings.Count(f.logs.String(), "lease acquired"); n != 1 {
		t.Errorf("%d sessions; Poll should not reconnect", n)
	}
}

// A stop right after Handle returns, before the move, is a crash at the
// worst point: the outcome is stored, the message is still in INBOX. The
// next run hands it over again (the handler dedupes) and files it.
func TestCrashBetweenHandleAndMove(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	want, raws := ids("crash", 2)
	s.deliver(t, "INBOX", raws...)

	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	h := newRecorder(func(context.Context, imapwatch.Inbound) (imapwatch.Result, error) {
		once.Do(cancel) // "crash" as soon as the first outcome is stored
		return imapwatch.Result{}, nil
	})
	w := f.watcher(t, s.config("support"), h)
	stop := startCtx(t, ctx, cancel, w)
	h.wait(t, 1)
	stop()
	folders := s.waitFolders(t, map[string][]string{"INBOX": want, "Processed": nil})
	for _, m := range folders["INBOX"] {
		if m.seen() {
			t.Errorf("%s is \\Seen after a crash before the move", messageID(m.Raw))
		}
	}

	start(t, f.watcher(t, s.config("support"), h))
	got := h.wait(t, 3)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	if c := counts(got); c[want[0]] != 2 || c[want[1]] != 1 {
		t.Errorf("hand-overs per message %v; want the first twice (handler dedupes), the second once", c)
	}
}

// Two bots on one mailbox: the lease lets only one work it, so every
// message is handed over exactly once overall, also mail that arrives
// while they run.
func TestTwoWatchersOneMailbox(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	want, raws := ids("two", 20)
	s.deliver(t, "INBOX", raws[:15]...)
	h := newRecorder(nil)
	for range 2 {
		cfg := s.config("shared")
		cfg.BatchSize = 4
		cfg.LeaseTTL = time.Second
		start(t, f.watcher(t, cfg, h))
	}
	h.wait(t, 15)
	s.deliver(t, "INBOX", raws[15:]...)
	got := h.wait(t, 20)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	for id, n := range counts(h.all()) {
		if n != 1 {
			t.Errorf("%s handed over %d times", id, n)
		}
	}
	if len(got) != 20 {
		t.Errorf("%d hand-overs for 20 messages", len(got))
	}
}

// A bot that died holding the lease stops renewing it; once it expires
// another takes over.
func TestLeaseTakeoverAfterOwnerStopsRenewing(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	ctx := context.Background()
	if ok, err := f.state.AcquireLease(ctx, "support", "dead-bot", 300*time.Millisecond); !ok || err != nil {
		t.Fatalf("seed lease: %v %v", ok, err)
	}
	want, raws := ids("takeover", 1)
	s.deliver(t, "INBOX", raws...)
	var owner string
	h := newRecorder(func(ctx context.Context, _ imapwatch.Inbound) (imapwatch.Result, error) {
		owner, _ = f.rdb.Get(ctx, f.leaseKey("support")).Result()
		return imapwatch.Result{}, nil
	})
	start(t, f.watcher(t, s.config("support"), h))
	h.wait(t, 1)
	if owner == "" || owner == "dead-bot" {
		t.Errorf("handled while the lease was held by %q", owner)
	}
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	if !strings.Contains(f.logs.String(), "another bot holds the lease") {
		t.Error("the wait for the lease is not logged")
	}
}

// A watcher whose lease was taken (it expired while the bot hung, say)
// stops working the mailbox and waits until it can take it again.
func TestLostLeaseStopsWork(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	ctx := context.Background()
	var owner string
	h := newRecorder(func(ctx context.Context, _ imapwatch.Inbound) (imapwatch.Result, error) {
		owner, _ = f.rdb.Get(ctx, f.leaseKey("support")).Result()
		return imapwatch.Result{}, nil
	})
	cfg := s.config("support")
	cfg.LeaseTTL = 300 * time.Millisecond
	start(t, f.watcher(t, cfg, h))
	s.wire.waitCount(t, " IDLE\r\n", 1)
	if err := f.rdb.Set(ctx, f.leaseKey("support"), "other-bot", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if !waitFor(t, func() bool { return strings.Contains(f.logs.String(), "lease lost") }) {
		t.Fatal("the watcher did not notice it lost the lease")
	}
	want, raws := ids("lost", 1)
	s.deliver(t, "INBOX", raws...)
	// Give the standby watcher a chance to misbehave: wait for a NOOP it
	// sends while it waits for the lease.
	s.wire.waitCount(t, " NOOP\r\n", s.wire.count(" NOOP\r\n")+1)
	if got := h.all(); len(got) != 0 {
		t.Fatalf("handled %d messages without the lease", len(got))
	}
	if err := f.rdb.Del(ctx, f.leaseKey("support")).Err(); err != nil {
		t.Fatal(err)
	}
	h.wait(t, 1)
	if owner == "other-bot" {
		t.Error("handled while another bot held the lease")
	}
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
}

// A recreated folder has a new UIDVALIDITY and starts its UIDs again: the
// checkpoint is reset (and logged), and nothing is skipped.
func TestUIDValidityChange(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	admin := s.admin(t)
	defer admin.Close()
	if err := admin.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	first, raws := ids("v1", 2)
	s.deliver(t, "Support", raws...)
	cfg := s.config("support")
	cfg.Folder = "Support"
	h := newRecorder(nil)
	stop := start(t, f.watcher(t, cfg, h))
	old := h.wait(t, 2)
	s.waitFolders(t, map[string][]string{"Support": nil, "Processed": first})
	stop()

	if err := admin.Delete("Support").Wait(); err != nil {
		t.Fatal(err)
	}
	if err := admin.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	second, raws := ids("v2", 1)
	s.deliver(t, "Support", raws...)
	start(t, f.watcher(t, cfg, h))
	got := h.wait(t, 3)[2]
	s.waitFolders(t, map[string][]string{"Support": nil, "Processed": append(first, second...)})
	if got.UID != 1 || got.UIDValidity == old[0].UIDValidity {
		t.Errorf("after the change: UID %d UIDVALIDITY %d (was %d); want UID 1 under a new UIDVALIDITY", got.UID, got.UIDValidity, old[0].UIDValidity)
	}
	if !strings.Contains(f.logs.String(), "UIDVALIDITY changed") {
		t.Error("the UIDVALIDITY change is not logged")
	}
	cp, err := f.state.LoadCheckpoint(context.Background(), "support")
	if err != nil || cp.UIDValidity != got.UIDValidity || cp.UID != 1 {
		t.Errorf("checkpoint %+v, %v; want UID 1 under %d", cp, err, got.UIDValidity)
	}
}

// Mail that arrives while the watcher IDLEs is handed over without any
// poll (PollInterval is an hour in these tests), again and again.
func TestIdleHandsOverNewMail(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	h := newRecorder(nil)
	start(t, f.watcher(t, s.config("support"), h))
	want, raws := ids("idle", 2)
	for i := range raws {
		s.wire.waitCount(t, " IDLE\r\n", i+1)
		s.deliver(t, "INBOX", raws[i])
		h.wait(t, i+1)
	}
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
}

// With CheckInterval set the watcher never IDLEs: it asks with NOOP, and
// the mail a NOOP finds is handed over without any poll (PollInterval is
// an hour), again and again.
func TestCheckIntervalAsksWithNoopInsteadOfIdle(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	h := newRecorder(nil)
	cfg := s.config("support")
	cfg.CheckInterval = 10 * time.Millisecond
	start(t, f.watcher(t, cfg, h))
	want, raws := ids("check", 2)
	for i := range raws {
		noops := s.wire.count(" NOOP\r\n")
		s.wire.waitCount(t, " NOOP\r\n", noops+1) // waiting, not draining
		s.deliver(t, "INBOX", raws[i])
		h.wait(t, i+1)
	}
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	if n := s.wire.count(" IDLE\r\n"); n != 0 {
		t.Errorf("the watcher sent IDLE %d times; with CheckInterval it must only NOOP", n)
	}
}

// A wrong password shows in Status and is retried with backoff until the
// context ends; a good mailbox on the same server is not held up.
func TestWrongPasswordKeepsRetryingAndSparesOthers(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	bad := s.config("bad")
	bad.Password = "wrong"
	wb := f.watcher(t, bad, newRecorder(nil))
	stopBad := start(t, wb)

	want, raws := ids("good", 1)
	s.deliver(t, "INBOX", raws...)
	h := newRecorder(nil)
	start(t, f.watcher(t, s.config("good"), h))
	h.wait(t, 1)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})

	s.wire.waitCount(t, `"wrong"`, 3)
	last, err := wb.Status()
	if !last.IsZero() || err == nil || !strings.Contains(err.Error(), "login") {
		t.Errorf("Status = %v, %v; want no success and the login error", last, err)
	}
	stopBad()
}

// An oversized message is handed over with its beginning and a flag; the
// handler quarantines it and the whole original stays on the server.
func TestMaxMessageBytes(t *testing.T) {
	s := startServer(t, serverOpts{})
	f := newFixture(t)
	big := append(letter("big@example.test"), bytes.Repeat([]byte("attachment line\r\n"), 300)...)
	small := letter("small@example.test")
	s.deliver(t, "INBOX", big, small)
	h := newRecorder(func(_ context.Context, m imapwatch.Inbound) (imapwatch.Result, error) {
		if m.Truncated {
			return imapwatch.Result{Quarantine: true, Reason: "too large"}, nil
		}
		return imapwatch.Result{}, nil
	})
	cfg := s.config("support")
	cfg.MaxMessageBytes = 400
	start(t, f.watcher(t, cfg, h))
	got := h.wait(t, 2)
	folders := s.waitFolders(t, map[string][]string{"INBOX": nil,
		"Processed": {"<small@example.test>"}, "Quarantine": {"<big@example.test>"}})
	if m := got[0]; !m.Truncated || len(m.Raw) != 400 || m.Size != int64(len(big)) || !bytes.Equal(m.Raw, big[:400]) {
		t.Errorf("big: truncated %v, %d bytes of %d", m.Truncated, len(m.Raw), m.Size)
	}
	if !strings.Contains(string(got[0].Raw), "Message-ID: <big@example.test>") {
		t.Error("the truncated message lost its header")
	}
	if m := got[1]; m.Truncated || !bytes.Equal(m.Raw, small) {
		t.Errorf("small: truncated %v, raw %q", m.Truncated, m.Raw)
	}
	if q := folders["Quarantine"][0]; !bytes.Equal(q.Raw, big) {
		t.Errorf("the quarantined original has %d bytes, want %d", len(q.Raw), len(big))
	}
}

func TestImplicitTLS(t *testing.T) {
	s := startServer(t, serverOpts{implicit: true})
	f := newFixture(t)
	want, raws := ids("tls", 2)
	s.deliver(t, "INBOX", raws...)
	h := newRecorder(nil)
	start(t, f.watcher(t, s.config("support"), h))
	h.wait(t, 2)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})

	// Without the test CA the certificate is refused, and Status says so.
	untrusted := s.config("untrusted")
	untrusted.TLSConfig = nil
	w := f.watcher(t, untrusted, newRecorder(nil))
	start(t, w)
	waitFor(t, func() bool { _, err := w.Status(); return err != nil })
	if _, err := w.Status(); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Status error %v, want a certificate error", err)
	}
}

// The server refuses LOGIN before STARTTLS, so a watcher that gets mail
// through has upgraded the connection.
func TestStartTLS(t *testing.T) {
	s := startServer(t, serverOpts{startTLS: true})
	f := newFixture(t)
	want, raws := ids("starttls", 2)
	s.deliver(t, "INBOX", raws...)
	h := newRecorder(nil)
	start(t, f.watcher(t, s.config("support"), h))
	h.wait(t, 2)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
}

// Servers without MOVE get UID COPY + STORE \Deleted + UID EXPUNGE.
func TestMoveFallbackWithoutMOVE(t *testing.T) {
	s := startServer(t, serverOpts{caps: imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapUIDPlus: {}}})
	f := newFixture(t)
	want, raws := ids("copy", 3)
	s.deliver(t, "INBOX", raws...)
	h := newRecorder(nil)
	start(t, f.watcher(t, s.config("support"), h))
	h.wait(t, 3)
	folders := s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	for _, m := range folders["Processed"] {
		if !m.seen() || slices.Contains(m.Flags, imap.FlagDeleted) {
			t.Errorf("%s flags %v; want \\Seen, not \\Deleted", messageID(m.Raw), m.Flags)
		}
	}
	if s.wire.count("UID COPY") == 0 || s.wire.count("UID EXPUNGE") == 0 || s.wire.count("UID MOVE") != 0 {
		t.Error("expected UID COPY + UID EXPUNGE and no UID MOVE on the wire")
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	f := newFixture(t)
	good := imapwatch.Config{Name: "support", Host: "imap.example.test", ProcessedFolder: "P", QuarantineFolder: "Q"}
	if _, err := imapwatch.New(good, newRecorder(nil), f.state, f.log); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for name, mutate := range map[string]func(*imapwatch.Config){
		"no name":             func(c *imapwatch.Config) { c.Name = "" },
		"brace in name":       func(c *imapwatch.Config) { c.Name = "a}b" },
		"space in name":       func(c *imapwatch.Config) { c.Name = "a b" },
		"no host":             func(c *imapwatch.Config) { c.Host = "" },
		"bad tls":             func(c *imapwatch.Config) { c.TLS = "ssl" },
		"bad port":            func(c *imapwatch.Config) { c.Port = 70000 },
		"no processed":        func(c *imapwatch.Config) { c.ProcessedFolder = "" },
		"no quarantine":       func(c *imapwatch.Config) { c.QuarantineFolder = "" },
		"processed is folder": func(c *imapwatch.Config) { c.ProcessedFolder = "INBOX" },
		"clear text remote":   func(c *imapwatch.Config) { c.TLS = mailtls.None },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := imapwatch.New(cfg, newRecorder(nil), f.state, f.log); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}
