package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/webhook"
)

// serve wires notify.webhooks: a new incident is posted at once (the
// commit wakes the route), signed with the secret named by secret_env,
// with its console link, to the listener.
func TestServePostsSignedAlertsToWebhooks(t *testing.T) {
	const secret = "0123456789abcdef-hook"
	got := make(chan webhook.Payload, 4)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := webhook.Verify([]byte(secret), r.Header.Get(webhook.HeaderSignature), r.Header.Get(webhook.HeaderTimestamp), body, time.Now(), time.Minute); err != nil {
			t.Errorf("post: %v", err)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var p webhook.Payload
		if err := json.Unmarshal(body, &p); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		got <- p
	}))
	defer srv.Close()
	s := startServe(t, map[string]string{
		"INTAKEBOT_EVENTS_TOKEN":    "0123456789abcdef-events",
		"INTAKEBOT_WEB_BASE_URL":    "https://hd.example.test",
		"INTAKEBOT_NOTIFY_WEBHOOKS": "[{url: '" + srv.URL + "/hook', secret_env: HOOK_SECRET, events: [new]}]",
		"HOOK_SECRET":               secret,
		// No poll to fall back on: the commit's wake-up must drain it.
		"INTAKEBOT_OUTBOX_POLL": "@every 1h",
	})
	post := func(fingerprint, summary string) {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url+"/api/v1/events", strings.NewReader(
			`{"source":"zabbix","fingerprint":"`+fingerprint+`","severity":"critical","summary":"`+summary+`","status":"firing"}`))
		req.Header.Set("Authorization", "Bearer 0123456789abcdef-events")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	next := func() webhook.Payload {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		select {
		case p := <-got:
			return p
		case <-ctx.Done():
			t.Fatal("no webhook post within 10 s")
		}
		return webhook.Payload{}
	}
	post("web1-http", "Web site down")
	if p := next(); p.Event != "new" || p.Incident.ID != "INC-000001" || p.Incident.Subject != "Web site down" ||
		p.URL != "https://hd.example.test/console/incidents/INC-000001" {
		t.Fatalf("payload %+v", p)
	}
	// Once the bot runs (its start-up drains are over), only the
	// commit's wake-up can bring the next one out before the hourly poll.
	post("db1-disk", "Disk full on db1")
	if p := next(); p.Incident.ID != "INC-000002" {
		t.Fatalf("payload %+v", p)
	}
}
