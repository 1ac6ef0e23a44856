//go:build e2e

package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// supportMail is a typical 3 KB report: headers of a real client, a few
// paragraphs, a signature.
func supportMail(i int) string {
	body := strings.Repeat("Since this morning Outlook keeps asking for my password and then shows "+
		"a spinning wheel. I restarted the laptop twice and cleared the credentials, nothing changed. "+
		"Colleagues in the same office are fine.\n\n", 10)
	return fmt.Sprintf(`From: User %d <user%d@example.test>
To: helpdesk@example.test
Subject: Outlook asks for my password again (%d)
Message-ID: <bench-%d@example.test>
Date: Wed, 25 Nov 2026 09:00:00 +0100
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
X-Mailer: Microsoft Outlook 16.0

Hello,

%s
Best regards,
User %d
`, i, i, i, i, body, i)
}

// BenchmarkEmailIngest fills the help-desk mailbox of a local Dovecot with
// INTAKEBOT_BENCH_MAILS (default 10,000) mails, measures a bare UID FETCH
// 1:* of them, then runs the bot on the mailbox and measures how fast every
// mail gets a stored outcome. INTAKEBOT_BENCH_GROUPING=false turns outage
// grouping off. Run it with scripts/bench-email; -benchtime 1x.
func BenchmarkEmailIngest(b *testing.B) {
	n := 10000
	if v := os.Getenv("INTAKEBOT_BENCH_MAILS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	port := os.Getenv("INTAKEBOT_E2E_IMAP_PORT")
	uid, _ := strconv.Atoi(os.Getenv("INTAKEBOT_E2E_MAIL_UID"))
	md := &maildirs{root: os.Getenv("INTAKEBOT_E2E_MAILDIR"), uid: uid}
	for i := range n {
		md.deliver(b, "helpdesk@example.test", supportMail(i))
	}

	// The raw rate: one client fetching everything, as the bot's batches do.
	c, err := imapclient.DialInsecure("127.0.0.1:"+port, nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := c.Login("helpdesk@example.test", "secret").Wait(); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	msgs, err := c.Fetch(imap.UIDSet{imap.UIDRange{Start: 1, Stop: 0}}, &imap.FetchOptions{
		UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}}}).Collect()
	if err != nil || len(msgs) != n {
		b.Fatalf("fetched %d of %d: %v", len(msgs), n, err)
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "imap-fetch-mails/s")
	c.Logout().Wait()

	rdb, prefix := redistest.New(b, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	ledger := prefix + ":{inbound}:log:email"
	start = time.Now()
	env := map[string]string{
		"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix,
		"INTAKEBOT_EMAIL_MAILBOXES": fmt.Sprintf(`[{name: helpdesk, address: helpdesk@example.test, batch_size: 500,
			imap: {host: 127.0.0.1, port: %s, tls: none, username: helpdesk@example.test, password: secret}}]`, port),
		// Nothing is sent, only intake is measured: no mail server listens,
		// so the mail route waits (smtpout.UnavailableHold).
		"INTAKEBOT_EMAIL_SMTP": `{host: 127.0.0.1, port: 9, tls: none}`,
	}
	// The mails are alike and name one CI: with outage grouping on (the
	// default) they are one outage, its first report the parent.
	if g := os.Getenv("INTAKEBOT_BENCH_GROUPING"); g != "" {
		env["INTAKEBOT_GROUPING_ENABLED"] = g
	}
	cpu0 := cpuTimes(b, rdb)
	startServe(b, env)
	// The end-to-end rate counts from the bot's start; the steady rate from
	// the first stored outcomes (start-up and the first batch's fetch left
	// out) to the last.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	var first time.Time
	var firstDone int64
	for {
		done, _ := rdb.XLen(context.Background(), ledger).Result()
		if done > 0 && first.IsZero() {
			first, firstDone = time.Now(), done
		}
		if done >= int64(n) {
			break
		}
		<-tick.C
	}
	elapsed := time.Since(start)
	b.ReportMetric(float64(n)/elapsed.Seconds(), "ingest-mails/s")
	b.ReportMetric(first.Sub(start).Seconds(), "first-outcome-s")
	// Where the machine's time went, per mail: the bot (this process),
	// Redis, Dovecot; and the two cores' capacity over the same time.
	cpu1 := cpuTimes(b, rdb)
	perMail := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(n) }
	b.ReportMetric(perMail(cpu1.bot-cpu0.bot), "bot-cpu-µs/mail")
	b.ReportMetric(perMail(cpu1.redis-cpu0.redis), "redis-cpu-µs/mail")
	b.ReportMetric(perMail(cpu1.dovecot-cpu0.dovecot), "dovecot-cpu-µs/mail")
	b.ReportMetric(perMail(time.Duration(runtime.NumCPU())*elapsed), "cores-µs/mail")
	if firstDone < int64(n) {
		b.ReportMetric(float64(int64(n)-firstDone)/time.Since(first).Seconds(), "steady-mails/s")
	}
	incidents, _ := rdb.Get(context.Background(), prefix+":{keys}:seq").Int()
	b.ReportMetric(float64(incidents), "incidents")
	queued := 0
	for i := range redisstore.Shards {
		k, _ := rdb.ZCard(context.Background(), fmt.Sprintf("%s:{s%02d}:outbox:email", prefix, i)).Result()
		queued += int(k)
	}
	b.ReportMetric(float64(queued), "acks-queued")
}

// cpuUse is the processor time used so far by the bot (this process, which
// runs it), by Redis (its INFO) and by Dovecot's processes (their own and
// their ended children's, from /proc).
type cpuUse struct{ bot, redis, dovecot time.Duration }

func cpuTimes(b *testing.B, rdb redis.UniversalClient) cpuUse {
	var u cpuUse
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	u.bot = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			sec, _ := strconv.ParseFloat(v, 64)
			u.redis += time.Duration(sec * float64(time.Second))
		}
	}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range stats {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue // ended meanwhile
		}
		// pid (comm) state ppid ...: utime, stime, cutime, cstime are the
		// 14th to 17th fields, in clock ticks (100 per second on Linux).
		open, end := bytes.IndexByte(raw, '('), bytes.LastIndexByte(raw, ')')
		if open < 0 || end < open {
			continue
		}
		comm := string(raw[open+1 : end])
		if comm != "dovecot" && comm != "imap" && comm != "auth" && comm != "anvil" && comm != "log" && comm != "config" && comm != "imap-login" {
			continue
		}
		f := strings.Fields(string(raw[end+1:]))
		for _, i := range []int{11, 12, 13, 14} { // after "state" (f[0])
			ticks, _ := strconv.ParseInt(f[i], 10, 64)
			u.dovecot += time.Duration(ticks) * 10 * time.Millisecond
		}
	}
	return u
}
