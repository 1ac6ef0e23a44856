package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestServeTakesSystemEventsAndCountsThem(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_EVENTS_TOKEN": "0123456789abcdef-events"})
	post := func(token, body string) int {
		t.Helper()
		req, _ := http.NewRequest("POST", s.url+"/api/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	body := `{"source":"zabbix","fingerprint":"web1-http","severity":"critical","summary":"Web site down","status":"firing"}`
	if code := post("wrong-token-wrong-token", body); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	if code := post("0123456789abcdef-events", body); code != http.StatusOK {
		t.Fatalf("event: %d", code)
	}
	out, err := cli(map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}, "incidents", "show", "INC-000001")
	if err != nil || !strings.Contains(out, "Web site down") || !strings.Contains(out, "P1") {
		t.Fatalf("incident: %v\n%s", err, out)
	}
	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{`intakebot_inbound_total{channel="event",outcome="created"} 1`, `intakebot_outbox_waiting{channel="email"}`,
		`intakebot_mailbox_quarantine_messages{mailbox="helpdesk"}`, `intakebot_mailbox_poll_lag_seconds{mailbox="helpdesk"}`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestServeRefusesAWeakEventsToken(t *testing.T) {
	err := run(context.Background(), []string{"serve"}, io.Discard, io.Discard, envOf(map[string]string{
		"INTAKEBOT_EVENTS_TOKEN": "short", "INTAKEBOT_HTTP_LISTEN": "127.0.0.1:0",
		"INTAKEBOT_LOCAL_IMAP_LISTEN": "127.0.0.1:0", "INTAKEBOT_LOCAL_SMTP_LISTEN": "127.0.0.1:0"}))
	if err == nil || !strings.Contains(err.Error(), "events.token") {
		t.Fatalf("err = %v", err)
	}
}
