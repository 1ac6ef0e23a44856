//go:build e2e

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
	"github.com/intakebot/intakebot/internal/apiclient"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/internal/slackserver"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// arrival is one mail the timing sink accepted: which incident and kind
// its Message-ID names (INC-000001.ack.1@...), and when.
type arrival struct {
	incident, kind string
	at             time.Time
}

// timingSink is an SMTP server that notes when it accepted each mail.
type timingSink struct{ arrived chan arrival }

var noticeID = regexp.MustCompile(`(?mi)^Message-Id:\s*<(INC-\d+)\.([a-z_]+)\.`)

func (s timingSink) NewSession(*smtp.Conn) (smtp.Session, error) { return timingSession{s}, nil }

type timingSession struct{ s timingSink }

func (timingSession) Mail(string, *smtp.MailOptions) error { return nil }
func (timingSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (timingSession) Reset()                               {}
func (timingSession) Logout() error                        { return nil }
func (x timingSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	at := time.Now()
	if m := noticeID.FindSubmatch(raw); m != nil {
		x.s.arrived <- arrival{incident: string(m[1]), kind: string(m[2]), at: at}
	}
	return nil
}

func startTimingSink(b *testing.B) (port int, arrived chan arrival) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	arrived = make(chan arrival, 1000)
	srv := smtp.NewServer(timingSink{arrived})
	srv.Domain = "mx.example.test"
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		wg.Wait()
	})
	return ln.Addr().(*net.TCPAddr).Port, arrived
}

// await returns the first arrival of kind, skipping the others (change
// notices, for example), or fails after a minute.
func await(b *testing.B, arrived chan arrival, kind, incident string) arrival {
	deadline := time.After(time.Minute)
	for {
		select {
		case a := <-arrived:
			if a.kind == kind && (incident == "" || a.incident == incident) {
				return a
			}
		case <-deadline:
			b.Fatalf("no %s for %q within a minute", kind, incident)
		}
	}
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, p float64) time.Duration {
	i := int(float64(len(sorted))*p+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func reportLatency(b *testing.B, name string, d []time.Duration) {
	slices.Sort(d)
	b.ReportMetric(float64(percentile(d, 0.50).Microseconds())/1000, name+"-p50-ms")
	b.ReportMetric(float64(percentile(d, 0.99).Microseconds())/1000, name+"-p99-ms")
	b.Logf("%s: slowest %v", name, d[max(0, len(d)-5):])
}

// BenchmarkLatency appends INTAKEBOT_BENCH_MAILS (default 200) reports to
// the help-desk mailbox of a local Dovecot one at a time and measures the
// time from the APPEND to the acknowledgment accepted by a local SMTP sink;
// then, for each incident, from an agent's API move to validation to the
// validation question at the sink. Both polls (mailbox and outbox) are an
// hour, so that neither can be in the numbers. It runs twice: the bot
// watching with IDLE (Dovecot tells an IDLE client of new mail 500 ms
// after the change), and with check_every: 100ms (a NOOP every 100 ms
// instead). Run it with scripts/bench-latency; -benchtime 1x.
func BenchmarkLatency(b *testing.B) {
	b.Run("idle", func(b *testing.B) { benchLatency(b, "") })
	b.Run("check-every-100ms", func(b *testing.B) { benchLatency(b, "100ms") })
}

func benchLatency(b *testing.B, checkEvery string) {
	n := 200
	if v := os.Getenv("INTAKEBOT_BENCH_MAILS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	port := os.Getenv("INTAKEBOT_E2E_IMAP_PORT")
	if port == "" {
		b.Fatal("INTAKEBOT_E2E_IMAP_PORT must name a running Dovecot (.ci/dovecot.sh)")
	}
	checkEveryField := "" // IDLE
	if checkEvery != "" {
		checkEveryField = ", check_every: " + checkEvery
	}
	smtpPort, arrived := startTimingSink(b)
	_, prefix := redistest.New(b, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	s := startServe(b, map[string]string{
		"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix, "INTAKEBOT_OUTBOX_POLL": "@every 1h",
		"INTAKEBOT_EMAIL_MAILBOXES": fmt.Sprintf(`[{name: helpdesk, address: helpdesk@example.test, poll: "@every 1h"%s,
			imap: {host: 127.0.0.1, port: %s, tls: none, username: helpdesk@example.test, password: secret}}]`, checkEveryField, port),
		"INTAKEBOT_EMAIL_SMTP": fmt.Sprintf(`{host: 127.0.0.1, port: %d, tls: none}`, smtpPort),
	})
	out, err := cli(map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix}, "agents", "add", "alice")
	if err != nil {
		b.Fatal(err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	api := apiclient.New(s.url, lines[len(lines)-1])

	c, err := imapclient.DialInsecure("127.0.0.1:"+port, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if err := c.Login("helpdesk@example.test", "secret").Wait(); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var acks, questions []time.Duration
	// Reports come on a clock of their own, not in step with the bot's
	// last answer (which would favour or punish a NOOP cadence): 173 ms is
	// no multiple of 100, so the arrivals fall at every phase of the NOOPs.
	arrivals := time.NewTicker(173 * time.Millisecond)
	defer arrivals.Stop()
	for i := range n {
		raw := strings.ReplaceAll(supportMail(i), "\n", "\r\n")
		<-arrivals.C
		start := time.Now()
		cmd := c.Append("INBOX", int64(len(raw)), nil)
		if _, err := io.WriteString(cmd, raw); err != nil {
			b.Fatal(err)
		}
		if err := cmd.Close(); err != nil {
			b.Fatal(err)
		}
		if _, err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		ack := await(b, arrived, "ack", "")
		acks = append(acks, ack.at.Sub(start))

		path := "/api/v1/incidents/" + url.PathEscape(ack.incident) + "/transitions"
		if err := api.Do(ctx, "POST", path, map[string]string{"to": "solution", "note": "restarted the service"}, nil); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		if err := api.Do(ctx, "POST", path, map[string]string{"to": "validation"}, nil); err != nil {
			b.Fatal(err)
		}
		q := await(b, arrived, "validation", ack.incident)
		questions = append(questions, q.at.Sub(start))
	}
	reportLatency(b, "append-to-ack", acks)
	reportLatency(b, "move-to-question", questions)
}

var (
	incidentID     = regexp.MustCompile(`INC-\d+`)
	surveyYesValue = regexp.MustCompile(`"action_id":"survey_yes"[^}]*?"value":"([^"]+)"`)
)

// BenchmarkSlackLatency has INTAKEBOT_BENCH_MAILS (default 200) reporters
// write to the bot in a local Slack peer, one at a time; an agent moves
// each incident to validation through the API, and the reporter clicks
// "yes" on the prompt. It measures the time from the click to the prompt
// updated (its answer buttons gone) at the peer. The outbox poll is an hour.
func BenchmarkSlackLatency(b *testing.B) {
	n := 200
	if v := os.Getenv("INTAKEBOT_BENCH_MAILS"); v != "" {
		n, _ = strconv.Atoi(v)
	}
	slack := slackserver.New(b)
	_, prefix := redistest.New(b, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	s := startServe(b, map[string]string{
		"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix, "INTAKEBOT_OUTBOX_POLL": "@every 1h",
		"INTAKEBOT_SLACK_BOT_TOKEN": "xoxb-test", "INTAKEBOT_SLACK_APP_TOKEN": "xapp-test",
		"INTAKEBOT_SLACK_API_URL": slack.APIURL(), "INTAKEBOT_SLACK_TRIAGE_CHANNEL": "CTRIAGE",
		"INTAKEBOT_SLACK_AGENTS": "{UALICE: alice}",
	})
	out, err := cli(map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix}, "agents", "add", "alice")
	if err != nil {
		b.Fatal(err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	api := apiclient.New(s.url, lines[len(lines)-1])
	ctx := context.Background()
	// find waits for a bot message in the user's DM that passes ok.
	find := func(user, what string, ok func(slackserver.Message) bool) slackserver.Message {
		var found slackserver.Message
		if !slack.WaitUntil(time.Minute, func() bool {
			for _, m := range slack.Messages(user) {
				if m.BotID != "" && ok(m) {
					found = m
					return true
				}
			}
			return false
		}) {
			b.Fatalf("%s: no %s within a minute", user, what)
		}
		return found
	}
	var clicks []time.Duration
	for i := range n {
		user := fmt.Sprintf("U%05d", i)
		slack.AddUser(slackserver.User{ID: user, Name: "user" + user, RealName: "User " + user, Email: user + "@example.test", Locale: "en-US"})
		m := slack.AddMessage(slackserver.Message{Channel: user, User: user, Text: "The VPN drops every few minutes"})
		env := slack.Push("events_api", map[string]any{"type": "event_callback", "event_id": "Ev" + user, "event": map[string]any{
			"type": "message", "channel": m.Channel, "channel_type": "im", "user": user, "text": m.Text, "ts": m.TS}}, 0)
		if _, err := slack.Ack(env, time.Minute); err != nil {
			b.Fatal(err)
		}
		answer := find(user, "answer", func(m slackserver.Message) bool { return incidentID.MatchString(m.Text) })
		id := incidentID.FindString(answer.Text)
		path := "/api/v1/incidents/" + url.PathEscape(id) + "/transitions"
		for _, to := range []string{"solution", "validation"} {
			if err := api.Do(ctx, "POST", path, map[string]string{"to": to, "note": "restarted the VPN concentrator"}, nil); err != nil {
				b.Fatal(err)
			}
		}
		prompt := find(user, "validation prompt", func(m slackserver.Message) bool { return strings.Contains(string(m.Blocks), "survey_yes") })
		// The button's value names the incident and the question's round,
		// as Slack sends it back.
		value := surveyYesValue.FindSubmatch(prompt.Blocks)
		if value == nil {
			b.Fatalf("%s: no value on the yes button: %s", id, prompt.Blocks)
		}
		start := time.Now()
		slack.Push("interactive", map[string]any{
			"type": "block_actions", "user": map[string]any{"id": user}, "trigger_id": "trig" + user,
			"action_ts": fmt.Sprintf("%d.000100", start.Unix()),
			"container": map[string]any{"type": "message", "message_ts": prompt.TS, "channel_id": prompt.Channel},
			"channel":   map[string]any{"id": prompt.Channel}, "message": map[string]any{"ts": prompt.TS},
			"actions": []any{map[string]any{"action_id": "survey_yes", "block_id": "b", "value": string(value[1]), "type": "button"}},
		}, 0)
		if !slack.WaitUntil(time.Minute, func() bool {
			m, ok := slack.Message(prompt.Channel, prompt.TS)
			// Its answer buttons gone (a link button, to the portal, stays).
			return ok && !strings.Contains(string(m.Blocks), "survey_yes")
		}) {
			b.Fatalf("%s: the prompt kept its answer buttons for a minute", id)
		}
		clicks = append(clicks, time.Since(start))
	}
	reportLatency(b, "slack-click-to-prompt", clicks)
}
