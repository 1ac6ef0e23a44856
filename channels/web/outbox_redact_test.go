package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// A webhook's URL often is its credential (a token in the path or the
// query, a user:password): the outbox listing, readable by every agent,
// shows only where it goes (scheme and host), in target and in the last
// error a failed post left (net/http quotes the whole URL).
func TestOutboxListingHidesWebhookURLCredentials(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	const hook = "https://user:pw@hooks.example.test/services/T000/B000/s3cr3tT0ken?key=k3y"
	store.AlertAgents([]redisstore.AlertTarget{{Route: intake.RouteWebhook, URL: hook, Alerts: intake.Alerts()}})
	a := newAPIOn(t, store)
	a.agent("alice", false)
	a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "VPN down", "reporter": {"name": "Ana", "email": "ana@example.test"}}`, 201)

	ctx := context.Background()
	claimed, err := store.Claim(ctx, intake.RouteWebhook, time.Now(), time.Minute, 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claimed %v, %v", claimed, err)
	}
	if err := store.Failed(ctx, claimed[0], `webhook: post x: Post "`+hook+`": dial tcp: connection refused`, time.Now().Add(time.Hour), false); err != nil {
		t.Fatal(err)
	}
	raw := a.rawGet("alice", "/api/v1/outbox")
	for _, secret := range []string{"s3cr3tT0ken", "k3y", "pw@", "/services/"} {
		if strings.Contains(raw, secret) {
			t.Errorf("the outbox listing shows %q: %s", secret, raw)
		}
	}
	msgs := a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any)
	var targets []any
	for _, m := range msgs {
		if got, ok := m.(map[string]any)["target"]; ok {
			targets = append(targets, got)
		}
	}
	if len(targets) != 1 || targets[0] != "https://hooks.example.test/…" {
		t.Errorf("targets %v: each should say where the alert goes, and no more", targets)
	}
}
