package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/intakebot/intakebot/internal/poll"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/internal/localmail"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// readiness is /readyz's answer.
type readiness struct {
	code       int
	Status     string `json:"status"`
	Code       string `json:"code"`
	Components map[string]struct {
		OK     bool   `json:"ok"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"components"`
}

func getReadyz(t *testing.T, base string) readiness {
	t.Helper()
	res, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := readiness{code: res.StatusCode}
	if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	return r
}

// waitReadyz asks /readyz until done says yes (the watchers sign in in
// the background).
func waitReadyz(t *testing.T, base string, done func(readiness) bool) readiness {
	t.Helper()
	var r readiness
	if !poll.Within(30*time.Second, func() bool { r = getReadyz(t, base); return done(r) }) {
		t.Fatalf("/readyz never got there: %+v", r)
	}
	return r
}

func getBody(t *testing.T, u string) (int, string) {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(raw)
}

// mailEnv configures one mailbox and the SMTP server of a local mail
// server (go-imap's and go-smtp's servers, in-process) with the given
// passwords.
func mailEnv(t *testing.T, imapPassword, smtpPassword string) (map[string]string, *localmail.Server) {
	t.Helper()
	m, err := localmail.Start(localmail.Config{IMAPListen: "127.0.0.1:0", SMTPListen: "127.0.0.1:0", Domain: "desk.test"}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	desk := m.Account(localmail.Helpdesk)
	_, imapPort, _ := net.SplitHostPort(m.IMAPAddr())
	_, smtpPort, _ := net.SplitHostPort(m.SMTPAddr())
	_, prefix := redistest.New(t, redisstore.Connect)
	return map[string]string{
		"INTAKEBOT_REDIS_URL":    os.Getenv(redistest.EnvURL),
		"INTAKEBOT_REDIS_PREFIX": prefix,
		"INTAKEBOT_EMAIL_MAILBOXES": `[{name: support, address: ` + desk.Address + `, poll: "@every 1h", imap: {host: 127.0.0.1, port: ` + imapPort +
			`, tls: none, username: ` + desk.Address + `, password: "` + imapPassword + `"}}]`,
		"INTAKEBOT_EMAIL_SMTP": `{host: 127.0.0.1, port: ` + smtpPort + `, tls: none, username: ` + desk.Address + `, password: "` + smtpPassword + `"}`,
	}, m
}

// A mailbox that cannot sign in makes the bot degraded: still ready (200),
// with the mailbox's error; the SMTP server, which took us, is ok.
func TestReadyzDegradedByAMailboxWithAWrongPassword(t *testing.T) {
	env, m := mailEnv(t, "wrong-password", "")
	env["INTAKEBOT_EMAIL_SMTP"] = strings.Replace(env["INTAKEBOT_EMAIL_SMTP"], `password: ""`, `password: "`+m.Account(localmail.Helpdesk).Password+`"`, 1)
	s := startServe(t, env)
	r := waitReadyz(t, s.url, func(r readiness) bool { return r.Components["support"].Error != "" })
	if r.code != http.StatusOK || r.Status != "degraded" {
		t.Fatalf("/readyz %d %+v, want 200 degraded", r.code, r)
	}
	if mb := r.Components["support"]; mb.OK || mb.Status != "failing" || !strings.Contains(mb.Error, "login") {
		t.Errorf("mailbox: %+v", mb)
	}
	if smtp := r.Components["smtp"]; !smtp.OK || smtp.Status != "ok" || smtp.Error != "" {
		t.Errorf("smtp: %+v", smtp)
	}
	_, metrics := getBody(t, s.url+"/metrics")
	for _, want := range []string{`intakebot_mailbox_up{mailbox="support"} 0`, "intakebot_smtp_up 1", "intakebot_redis_up 1"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// An SMTP server that refuses our AUTH is found at start (nothing sent):
// degraded, with the server's answer, and intakebot_smtp_up 0. With
// http.readyz_strict the same answer is 503.
func TestReadyzDegradedBySMTPRefusingAuth(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(map[bool]string{false: "default", true: "strict"}[strict], func(t *testing.T) {
			env, m := mailEnv(t, "", "wrong-password")
			desk := m.Account(localmail.Helpdesk)
			env["INTAKEBOT_EMAIL_MAILBOXES"] = strings.Replace(env["INTAKEBOT_EMAIL_MAILBOXES"], `password: ""`, `password: "`+desk.Password+`"`, 1)
			if strict {
				env["INTAKEBOT_HTTP_READYZ_STRICT"] = "true"
			}
			s := startServe(t, env)
			// The mailbox signs in in the background; SMTP was checked
			// before serving.
			r := waitReadyz(t, s.url, func(r readiness) bool { return r.Components["support"].OK })
			want := http.StatusOK
			if strict {
				want = http.StatusServiceUnavailable
			}
			if r.code != want || r.Status != "degraded" {
				t.Fatalf("/readyz %d %+v, want %d degraded", r.code, r, want)
			}
			if strict && r.Code != "degraded" {
				t.Errorf("strict 503 without its code: %+v", r)
			}
			if smtp := r.Components["smtp"]; smtp.OK || smtp.Status != "failing" || !strings.Contains(smtp.Error, "auth") || !strings.Contains(smtp.Error, "535") {
				t.Errorf("smtp: %+v", smtp)
			}
			_, metrics := getBody(t, s.url+"/metrics")
			if !strings.Contains(metrics, "intakebot_smtp_up 0") || !strings.Contains(metrics, `intakebot_mailbox_up{mailbox="support"} 1`) {
				t.Errorf("metrics:\n%s", grepLines(metrics, "_up"))
			}
		})
	}
}

// With Redis killed under a running bot: the API answers 503 with
// Retry-After to a valid and to a bogus token alike, the survey pages
// answer 503 in English and Spanish, /metrics still serves the runtime's
// metrics with intakebot_redis_up 0, and once Redis is back on its port
// the API works again.
func TestRedisOutage(t *testing.T) {
	o := redistest.StartOutage(t)
	rdb, err := redisstore.Connect(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	token, err := redisstore.New(rdb, "intakebot").AddAgent(context.Background(), "alice", false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = byte(i)
	}
	s := startServe(t, map[string]string{"INTAKEBOT_REDIS_URL": o.URL, "INTAKEBOT_WEB_LINK_KEY": base64.StdEncoding.EncodeToString(key)})
	api := func(tok string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", s.url+"/api/v1/incidents", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if res := api(token); res.StatusCode != http.StatusOK {
		t.Fatalf("before the outage: %s", res.Status)
	}
	signer, err := surveylink.NewSigner(key, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := signer.Sign("INC-000001", surveylink.StepValidation, 1)
	if err != nil {
		t.Fatal(err)
	}
	link := surveylink.URL(s.url, tok)

	o.Kill()
	for name, tok := range map[string]string{"valid": token, "bogus": "ibt_bogus"} {
		if res := api(tok); res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" {
			t.Errorf("%s token with Redis down: %s, Retry-After %q; want 503 with Retry-After", name, res.Status, res.Header.Get("Retry-After"))
		}
	}
	for lang, phrase := range map[string]string{"en": "Please try again in a few minutes", "es": "inténtelo de nuevo en unos minutos"} {
		for _, method := range []string{"GET", "POST"} {
			req, _ := http.NewRequest(method, link, strings.NewReader(url.Values{"answer": {"yes"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Accept-Language", lang)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" || !strings.Contains(string(raw), phrase) {
				t.Errorf("survey %s (%s) with Redis down: %s, Retry-After %q:\n%s", method, lang, res.Status, res.Header.Get("Retry-After"), raw)
			}
		}
	}
	code, metrics := getBody(t, s.url+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics with Redis down: %d", code)
	}
	for _, want := range []string{"go_goroutines ", "process_resident_memory_bytes ", "intakebot_redis_up 0", "intakebot_http_requests_total"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics with Redis down lacks %q", want)
		}
	}
	if strings.Contains(metrics, "intakebot_outbox_waiting{") {
		t.Errorf("/metrics with Redis down shows the outbox's depth:\n%s", grepLines(metrics, "intakebot_outbox"))
	}
	if r := getReadyz(t, s.url); r.code != http.StatusServiceUnavailable {
		t.Errorf("/readyz with Redis down: %d", r.code)
	}
	if code, _ := getBody(t, s.url+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with Redis down: %d", code)
	}

	o.Start()
	var status int
	var statusText string
	poll.Until(t, "the API to answer after Redis came back", 30*time.Second, func() bool {
		res := api(token)
		status, statusText = res.StatusCode, res.Status
		if status != http.StatusOK && status != http.StatusServiceUnavailable {
			t.Fatalf("after Redis came back: %s", statusText)
		}
		return status == http.StatusOK
	})
	if res := api("ibt_bogus"); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("bogus token after the outage: %s", res.Status)
	}
	if _, metrics := getBody(t, s.url+"/metrics"); !strings.Contains(metrics, "intakebot_redis_up 1") {
		t.Errorf("after the outage:\n%s", grepLines(metrics, "redis_up"))
	}
}
