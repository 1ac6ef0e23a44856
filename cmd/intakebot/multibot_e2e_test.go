//go:build e2e

package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// multibotMail is report i: each from its own sender, with its own subject
// and Message-ID, so that each opens an incident of its own.
func multibotMail(i int) string {
	return fmt.Sprintf(`From: Reporter %[1]d <reporter%[2]s@example.test>
To: helpdesk@example.test
Subject: The printer in room %[1]d does not print
Message-ID: <multibot-%[2]s@example.test>
Date: Wed, 25 Nov 2026 09:00:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello,

since this morning the printer in room %[1]d shows "paper jam", but there is no
paper stuck anywhere. I switched it off and on again.

Thanks,
Reporter %[1]d
`, i, fmt.Sprintf("%04d", i))
}

// TestE2EThreeBotsOneMailbox is issue 5, "Several bots, one state": three
// `intakebot serve` processes share one Redis and one IMAP mailbox holding
// 1,000 reports; the one that reads the mailbox is killed with SIGKILL
// midway; in the end there are exactly 1,000 outcomes, 1,000 incidents and
// 1,000 acknowledgments, none twice.
//
// What the test pins down, and why it is shaped so:
//
//   - The mailbox is a folder of its own in Dovecot's helpdesk@example.test
//     account, named after the test's Redis prefix, so that its counts are
//     not mixed with the other end-to-end tests' mail.
//   - bot-1 starts alone and takes the mailbox lease (its owner token is read
//     from Redis); bot-2 and bot-3 start next and must stand by. So the
//     victim is known to be the lease holder, and the test checks the token
//     in Redis is still bot-1's just before killing it.
//   - 500 reports are filed; once at least 200 have an outcome, bot-1 gets
//     SIGKILL as soon as the test sees it in the middle of a batch (incidents
//     registered whose outcomes are not recorded yet, the rest of the batch
//     claimed or not even begun), then the other 500 are filed. By
//     construction the kill lands before 1,000 outcomes exist; the survivors
//     must take over and finish without registering, recording or answering
//     anything twice.
//   - The mailbox lease lives 30 s (imapwatch.DefaultLeaseTTL) and standby
//     bots retry every 15 s; neither is configurable, so the takeover takes
//     20 to 45 s of the test's time and the deadline allows for it.
//   - bot-1 dispatches no outbox (outbox.deliver: false, an intake-only
//     bot); bot-2 and bot-3 both dispatch, concurrently. The
//     outbox lease of a claimed message is five minutes (workflow.Dispatcher
//     Lease, not configurable): killing a bot that holds claimed
//     acknowledgments would hold them back five minutes, and one accepted by
//     SMTP just before the kill would be sent again after that with the same
//     Message-ID (the documented at-least-once window of SMTP). Keeping the
//     victim off the outbox keeps the test inside a minute or two and lets it
//     demand exactly 1,000 SMTP transactions, not just 1,000 Message-IDs.
//   - All bots share email.reply_key and web.link_key, as a deployment of
//     several bots must: the Message-ID of an answer is signed with the reply
//     key, so bots with keys of their own would disagree on it.
func TestE2EThreeBotsOneMailbox(t *testing.T) {
	const (
		mails   = 1000
		first   = 500 // filed before the kill; the rest after it
		killAt  = 200 // outcomes before the kill
		mailbox = "helpdesk"
	)
	port := os.Getenv("INTAKEBOT_E2E_IMAP_PORT")
	root := os.Getenv("INTAKEBOT_E2E_MAILDIR")
	uid, err := strconv.Atoi(os.Getenv("INTAKEBOT_E2E_MAIL_UID"))
	if port == "" || root == "" || err != nil {
		t.Fatal("INTAKEBOT_E2E_IMAP_PORT, INTAKEBOT_E2E_MAILDIR and INTAKEBOT_E2E_MAIL_UID must name a running Dovecot (.ci/dovecot.sh)")
	}
	began := time.Now()
	phase := func(format string, args ...any) {
		t.Helper()
		t.Logf("%6.1fs  %s", time.Since(began).Seconds(), fmt.Sprintf(format, args...))
	}
	ctx := t.Context()

	rdb, prefix := redistest.New(t, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	bin := buildBotBinary(t)
	phase("built %s (race detector: %v)", bin, raceEnabled())
	acks, smtpPort := startAckSink(t)

	folder := "multibot-" + prefix
	inbox := newMailFolder(t, root, "helpdesk@example.test", folder, uid)
	home := filepath.Join(root, "helpdesk@example.test")
	processedDir, quarantineDir := filepath.Join(home, "."+folder+"-processed"), filepath.Join(home, "."+folder+"-quarantine")
	leaseKey := prefix + ":{mbox:" + mailbox + "}:lease"
	ledgerKey := prefix + ":{inbound}:log:email"
	outcomes := func() int64 { n, _ := rdb.XLen(ctx, ledgerKey).Result(); return n }
	lease := func() string { v, _ := rdb.Get(ctx, leaseKey).Result(); return v }

	key := func(b byte) string { return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(b), 32))) }
	env := func(deliver string) map[string]string {
		return map[string]string{
			"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix,
			"INTAKEBOT_HTTP_LISTEN": "127.0.0.1:0",
			"INTAKEBOT_LOG_FORMAT":  "json", "INTAKEBOT_LOG_LEVEL": "info",
			"INTAKEBOT_OUTBOX_POLL": "@every 1s", "INTAKEBOT_OUTBOX_DELIVER": deliver,
			"INTAKEBOT_EMAIL_REPLY_KEY": key('r'), "INTAKEBOT_WEB_LINK_KEY": key('l'),
			"INTAKEBOT_EMAIL_MAILBOXES": fmt.Sprintf(`[{name: %s, address: helpdesk@example.test, poll: "@every 1s",
				processed_folder: %s-processed, quarantine_folder: %s-quarantine,
				imap: {host: 127.0.0.1, port: %s, tls: none, username: helpdesk@example.test, password: secret, folder: %s}}]`,
				mailbox, folder, folder, port, folder),
			"INTAKEBOT_EMAIL_SMTP": fmt.Sprintf(`{host: 127.0.0.1, port: %d, tls: none}`, smtpPort),
		}
	}

	// bot-1 alone: the lease that appears is its.
	victim := startBotProc(t, bin, "bot-1", env("false"))
	var victimToken string
	waitUntil(t, "bot-1 to take the mailbox lease", time.Minute, 20*time.Millisecond, func() (bool, string) {
		victimToken = lease()
		return victimToken != "", "no lease"
	})
	survivors := []*botProc{startBotProc(t, bin, "bot-2", env("true")), startBotProc(t, bin, "bot-3", env("true"))}
	for _, p := range survivors {
		waitUntil(t, p.name+" to stand by", time.Minute, 20*time.Millisecond, func() (bool, string) {
			return len(p.logRecords("imap: another bot holds the lease; waiting")) > 0, "not yet"
		})
	}
	all := append([]*botProc{victim}, survivors...)
	phase("3 bots serving (%s, %s, %s); bot-1 holds the mailbox lease", victim.url, survivors[0].url, survivors[1].url)

	out, err := runBotCommand(bin, map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix}, "agents", "add", "auditor")
	if err != nil {
		t.Fatalf("agents add: %v\n%s", err, out)
	}
	token := strings.TrimSpace(out[strings.LastIndex(strings.TrimSpace(out), "\n")+1:])

	senders := map[string]string{} // Message-ID -> sender
	for i := range mails {
		senders[fmt.Sprintf("multibot-%04d@example.test", i)] = fmt.Sprintf("reporter%04d@example.test", i)
	}
	for i := range first {
		inbox.deliver(t, multibotMail(i))
	}
	phase("%d reports filed", first)

	// Kill the lease holder midway, while it works: when it has registered
	// incidents whose outcomes it has not recorded yet (the counter is read
	// before the ledger, and both only grow). Should it finish the first
	// half before the test sees such a moment, it is killed idle; the second
	// half is left to the survivors either way.
	incidentsRegistered := func() int64 { n, _ := rdb.Get(ctx, prefix+":{keys}:seq").Int64(); return n }
	midBatch := false
	waitUntil(t, fmt.Sprintf("bot-1 in the middle of a batch, past %d outcomes", killAt), time.Minute, time.Millisecond, func() (bool, string) {
		registered := incidentsRegistered()
		n := outcomes()
		midBatch = n >= killAt && registered > n
		return midBatch || n >= first, fmt.Sprintf("%d incidents, %d outcomes", registered, n)
	})
	if got := lease(); got != victimToken {
		t.Fatalf("the mailbox lease is %q just before the kill, not bot-1's %q", got, victimToken)
	}
	standbyWork := 0
	for _, p := range survivors {
		standbyWork += len(p.logRecords("inbound mail"))
	}
	victim.kill(t)
	killedAt := time.Now()
	atKill, registeredAtKill := outcomes(), incidentsRegistered()
	phase("bot-1 killed with SIGKILL (in the middle of a batch: %v) at %d outcomes and %d incidents registered", midBatch, atKill, registeredAtKill)
	if standbyWork != 0 {
		t.Errorf("the standby bots handled %d mails while bot-1 held the lease", standbyWork)
	}
	for i := first; i < mails; i++ {
		inbox.deliver(t, multibotMail(i))
	}
	phase("the other %d reports filed", mails-first)

	var takeover time.Duration
	waitUntil(t, "a survivor to take the mailbox over", 2*time.Minute, 20*time.Millisecond, func() (bool, string) {
		l := lease()
		return l != "" && l != victimToken, "lease " + strconv.Quote(l)
	})
	takeover = time.Since(killedAt)
	phase("mailbox taken over %.1fs after the kill", takeover.Seconds())
	waitUntil(t, fmt.Sprintf("%d outcomes", mails), time.Minute, 20*time.Millisecond, func() (bool, string) {
		n := outcomes()
		return n >= mails, fmt.Sprintf("%d outcomes", n)
	})
	phase("%d outcomes", mails)
	waitUntil(t, fmt.Sprintf("%d acknowledgments", mails), time.Minute, 20*time.Millisecond, func() (bool, string) {
		total, distinct := acks.counts()
		return distinct >= mails, fmt.Sprintf("%d received, %d distinct", total, distinct)
	})
	phase("%d acknowledgments received", mails)
	// Everything is filed away and the outbox records every delivery.
	waitUntil(t, "the mailbox folder to be empty", time.Minute, 20*time.Millisecond, func() (bool, string) {
		n, err := countMaildir(inbox.dir)
		return err == nil && n == 0, fmt.Sprintf("%d left, %v", n, err)
	})
	waitUntil(t, "the outbox to be empty", time.Minute, 100*time.Millisecond, func() (bool, string) {
		var ob struct {
			Messages []intake.Notice `json:"messages"`
		}
		err := apiGet(ctx, survivors[0].url, token, "/api/v1/outbox?limit=1000", &ob)
		return err == nil && len(ob.Messages) == 0, fmt.Sprintf("%d messages, %v", len(ob.Messages), err)
	})
	phase("mailbox folder and outbox empty")

	// Exactly 1,000 outcomes, every one "created", one per mail and incident.
	if n := outcomes(); n != mails {
		t.Errorf("the ledger holds %d entries, want %d", n, mails)
	}
	var ledger []intake.InboundRecord
	for cursor := ""; ; {
		var page struct {
			Messages []intake.InboundRecord `json:"messages"`
			Next     string                 `json:"next_cursor"`
		}
		q := url.Values{"channel": {"email"}, "limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := apiGet(ctx, survivors[1].url, token, "/api/v1/inbound?"+q.Encode(), &page); err != nil {
			t.Fatal(err)
		}
		ledger = append(ledger, page.Messages...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	byMail, incidentOfMail := map[string]int{}, map[string]string{}
	for _, r := range ledger {
		byMail[r.MessageID]++
		if r.Outcome != intake.OutcomeCreated || r.Incident == "" {
			t.Errorf("outcome %q (%s) incident %q for %s, want created", r.Outcome, r.Reason, r.Incident, r.MessageID)
		}
		if sender, ok := senders[r.MessageID]; !ok || !strings.EqualFold(r.From, sender) {
			t.Errorf("ledger entry for %q from %q: not a mail of this test", r.MessageID, r.From)
		}
		incidentOfMail[r.MessageID] = r.Incident
	}
	for id, n := range byMail {
		if n != 1 {
			t.Errorf("%d ledger entries for %s", n, id)
		}
	}
	if len(ledger) != mails || len(byMail) != mails {
		t.Errorf("the ledger lists %d outcomes for %d mails, want %d for %d", len(ledger), len(byMail), mails, mails)
	}

	// Exactly 1,000 incidents, one per mail, each from its sender.
	var incidents []*intake.Incident
	for cursor := ""; ; {
		var page struct {
			Incidents []*intake.Incident `json:"incidents"`
			Next      string             `json:"next_cursor"`
		}
		q := url.Values{"limit": {"500"}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		if err := apiGet(ctx, survivors[0].url, token, "/api/v1/incidents?"+q.Encode(), &page); err != nil {
			t.Fatal(err)
		}
		incidents = append(incidents, page.Incidents...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	reporterOf := map[string]string{} // incident -> reporter e-mail
	for _, inc := range incidents {
		if _, dup := reporterOf[inc.ID]; dup {
			t.Errorf("%s listed twice", inc.ID)
		}
		reporterOf[inc.ID] = strings.ToLower(inc.Reporter.Email)
		if inc.State != intake.Analysis {
			t.Errorf("%s is in %s, want analysis", inc.ID, inc.State)
		}
	}
	if len(incidents) != mails || len(reporterOf) != mails {
		t.Errorf("%d incidents listed (%d distinct), want %d", len(incidents), len(reporterOf), mails)
	}
	perReporter := map[string]int{}
	for _, r := range reporterOf {
		perReporter[r]++
	}
	for mid, sender := range senders {
		inc := incidentOfMail[mid]
		if reporterOf[inc] != sender {
			t.Errorf("mail %s from %s: its incident %q has reporter %q", mid, sender, inc, reporterOf[inc])
		}
		if perReporter[sender] != 1 {
			t.Errorf("%s reported once and has %d incidents", sender, perReporter[sender])
		}
	}
	seq, _ := rdb.Get(ctx, prefix+":{keys}:seq").Int()

	// Exactly 1,000 acknowledgments: one SMTP transaction per incident, to
	// its reporter, no Message-ID twice, none resent.
	total, distinct := acks.counts()
	acks.mu.Lock()
	if len(acks.bad) > 0 {
		t.Errorf("unreadable mail: %v", acks.bad)
	}
	ackRE := regexp.MustCompile(`^<(INC-\d{6,})\.ack\.\d+\.[^@>]+@example\.test>$`)
	ackedIncidents := map[string]int{}
	for id, n := range acks.byID {
		if n != 1 {
			t.Errorf("%s was sent %d times", id, n)
		}
		m := ackRE.FindStringSubmatch(id)
		if m == nil {
			t.Errorf("%s is not the Message-ID of an acknowledgment", id)
			continue
		}
		ackedIncidents[m[1]]++
		if rcpts := acks.rcpts[id]; !slices.Equal(rcpts, []string{reporterOf[m[1]]}) {
			t.Errorf("%s went to %v, want [%s]", id, rcpts, reporterOf[m[1]])
		}
	}
	acks.mu.Unlock()
	if total != mails || distinct != mails {
		t.Errorf("the SMTP server received %d mails with %d distinct Message-IDs, want %d and %d", total, distinct, mails, mails)
	}
	for inc := range reporterOf {
		if ackedIncidents[inc] != 1 {
			t.Errorf("%s was acknowledged %d times", inc, ackedIncidents[inc])
		}
	}

	// Each incident's history records its one delivery.
	checkHistories(ctx, t, survivors, token, reporterOf)

	// The mail is filed: all in the processed folder, none quarantined.
	if n, err := countMaildir(processedDir); err != nil || n != mails {
		t.Errorf("%d mails in the processed folder (%v), want %d", n, err, mails)
	}
	if n, err := countMaildir(quarantineDir); err != nil || n != 0 {
		t.Errorf("%d mails in the quarantine folder (%v), want 0", n, err)
	}

	// Who did what, for the log.
	for _, p := range all {
		phase("%s: %d inbound outcomes logged, %d lease acquisitions, %d errors logged",
			p.name, len(p.logRecords("inbound mail")), len(p.logRecords("imap: lease acquired; watching")), len(p.errorLines()))
	}
	phase("incident counter at %d; the SIGKILL came at %d of %d outcomes, %d incidents; takeover after %.1fs", seq, atKill, mails, registeredAtKill, takeover.Seconds())

	// Both survivors dispatched (bot-1 never did): together they count
	// every acknowledgment once, and no failed attempt.
	var delivered float64
	for _, p := range survivors {
		d, err := metric(ctx, p.url, `intakebot_outbox_delivered_total{channel="email",kind="ack"}`)
		if err != nil {
			t.Fatal(err)
		}
		f, err := metric(ctx, p.url, `intakebot_outbox_failures_total{channel="email"}`)
		if err != nil {
			t.Fatal(err)
		}
		if f != 0 {
			t.Errorf("%s counts %v failed deliveries", p.name, f)
		}
		phase("%s delivered %v acknowledgments", p.name, d)
		delivered += d
	}
	if delivered != mails {
		t.Errorf("the survivors count %v acknowledgments delivered, want %d", delivered, mails)
	}

	// The survivors stop cleanly on SIGTERM and give the lease back.
	var wg sync.WaitGroup
	for _, p := range survivors {
		wg.Go(func() {
			code, err := p.stop(30 * time.Second)
			if err != nil || code != 0 {
				t.Errorf("%s after SIGTERM: exit status %d, %v", p.name, code, err)
			}
		})
	}
	wg.Wait()
	if l, err := rdb.Get(ctx, leaseKey).Result(); err != redis.Nil {
		t.Errorf("the mailbox lease is %q (%v) after every bot stopped, want it released", l, err)
	}
	if total, distinct := acks.counts(); total != mails || distinct != mails {
		t.Errorf("after the shutdown the SMTP server has %d mails with %d distinct Message-IDs, want %d and %d", total, distinct, mails, mails)
	}
	for _, p := range survivors {
		if lines := p.errorLines(); len(lines) > 0 {
			t.Errorf("%s logged errors:\n%s", p.name, strings.Join(lines, "\n"))
		}
	}
	phase("survivors stopped with status 0")
}

// checkHistories reads every incident (eight at a time, from the surviving
// bots in turn) and checks its history notes exactly one delivered
// acknowledgment.
func checkHistories(ctx context.Context, t *testing.T, bots []*botProc, token string, incidents map[string]string) {
	t.Helper()
	ids := make(chan string)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for id := range ids {
				var inc intake.Incident
				if err := apiGet(ctx, bots[w%len(bots)].url, token, "/api/v1/incidents/"+id, &inc); err != nil {
					t.Error(err)
					continue
				}
				n := 0
				for _, h := range inc.History {
					if h.Event == "notified" {
						n++
						if h.Note != "ack" || h.Via != "email" {
							t.Errorf("%s: notified %q via %q, want ack via email", id, h.Note, h.Via)
						}
					}
				}
				if n != 1 {
					t.Errorf("%s: %d deliveries in its history, want 1", id, n)
				}
			}
		})
	}
	for id := range incidents {
		ids <- id
	}
	close(ids)
	wg.Wait()
}

// runBotCommand runs the bot binary with one command and env, returning
// its output.
func runBotCommand(bin string, env map[string]string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = botEnv(env)
	out, err := cmd.CombinedOutput()
	return string(out), err
}
