package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

func sign(secret string, at time.Time, body string) (ts, sig string) {
	ts = strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "v0:%s:%s", ts, body)
	return ts, "v0=" + hex.EncodeToString(mac.Sum(nil))
}

func TestHTTPModeChecksEverySignature(t *testing.T) {
	w := newWorld(t)
	srv := httptest.NewServer(w.bot.HTTPHandler(signingSecret))
	t.Cleanup(srv.Close)
	post := func(path, contentType, body string, at time.Time, tamper func(*http.Request)) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		ts, sig := sign(signingSecret, at, body)
		req.Header.Set("X-Slack-Request-Timestamp", ts)
		req.Header.Set("X-Slack-Signature", sig)
		if tamper != nil {
			tamper(req)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	event := `{"type":"event_callback","event_id":"EvHTTP1","event":{"type":"message","channel":"DUJOHN","channel_type":"im","user":"UJOHN","text":"the wifi keeps dropping","ts":"1700000050.000001"}}`

	// Tampered: a body other than the one signed.
	res := post("/slack/events", "application/json", event, time.Now(), func(r *http.Request) {
		_, sig := sign(signingSecret, time.Now(), strings.Replace(event, "wifi", "WIFI", 1))
		r.Header.Set("X-Slack-Signature", sig)
	})
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("tampered: %d", res.StatusCode)
	}
	// Stale: signed correctly, six minutes ago (a replay).
	if res = post("/slack/events", "application/json", event, time.Now().Add(-6*time.Minute), nil); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("stale: %d", res.StatusCode)
	}
	// Unsigned.
	if res = post("/slack/events", "application/json", event, time.Now(), func(r *http.Request) { r.Header.Del("X-Slack-Signature") }); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned: %d", res.StatusCode)
	}
	if page, _ := w.store.List(w.ctx, intake.ListFilter{Limit: 10}); len(page.Incidents) != 0 {
		t.Fatal("a refused request registered an incident")
	}
	// Valid, twice (Slack's retry): one incident.
	for range 2 {
		if res = post("/slack/events", "application/json", event, time.Now(), nil); res.StatusCode != http.StatusOK {
			t.Fatalf("valid: %d", res.StatusCode)
		}
	}
	inc := w.onlyIncident()

	// Slash command and interactivity are form posts.
	form := url.Values{"command": {"/incident"}, "user_id": {john}, "trigger_id": {"trig-http"}, "text": {"help"}}.Encode()
	if res = post("/slack/commands", "application/x-www-form-urlencoded", form, time.Now(), nil); res.StatusCode != http.StatusOK || len(w.srv.Views()) != 1 {
		t.Fatalf("slash command: %d, views %d", res.StatusCode, len(w.srv.Views()))
	}
	click := url.Values{"payload": {fmt.Sprintf(`{"type":"block_actions","user":{"id":%q},"container":{"channel_id":%q,"message_ts":"1"},"actions":[{"action_id":%q,"block_id":"b","value":%q}]}`,
		alice, triage, actionTake, inc.ID)}}.Encode()
	if res = post("/slack/interactive", "application/x-www-form-urlencoded", click, time.Now(), nil); res.StatusCode != http.StatusOK {
		t.Fatalf("click: %d", res.StatusCode)
	}
	if got := w.incident(inc.ID); got.Owner != "alice" {
		t.Fatalf("owner = %q", got.Owner)
	}
	// Bad payloads get 400, not a crash.
	if res = post("/slack/events", "application/json", `{"type":`, time.Now(), nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad JSON: %d", res.StatusCode)
	}
	if res = post("/slack/interactive", "application/x-www-form-urlencoded", "nothing=here", time.Now(), nil); res.StatusCode != http.StatusBadRequest {
		t.Fatalf("no payload: %d", res.StatusCode)
	}
}

func TestHTTPModeAnswersTheURLChallenge(t *testing.T) {
	w := newWorld(t)
	srv := httptest.NewServer(w.bot.HTTPHandler(signingSecret))
	t.Cleanup(srv.Close)
	body := `{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","token":"x"}`
	req, _ := http.NewRequest("POST", srv.URL+"/slack/events", strings.NewReader(body))
	ts, sig := sign(signingSecret, time.Now(), body)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sig)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got, err := io.ReadAll(res.Body)
	if err != nil || string(got) != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("challenge answer = %q, %v", got, err)
	}
}
