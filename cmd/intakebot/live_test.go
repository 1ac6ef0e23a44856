package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/intakebot/intakebot/internal/apiclient"
)

// serve publishes every change for the consoles of every bot as soon as it
// is committed: the watch route is drained by the same woken loops as the
// others, with the outbox poll far away.
func TestServePublishesChangesForTheConsoles(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_OUTBOX_POLL": "@every 1h"})
	defer s.stop()
	var url string
	for _, line := range s.lines {
		if m := regexp.MustCompile(`in-memory store at (redis://[0-9.:]+[0-9])`).FindStringSubmatch(line); m != nil {
			url = m[1]
		}
	}
	if url == "" {
		t.Fatalf("no embedded store address in:\n%s", strings.Join(s.lines, "\n"))
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	sub := rdb.Subscribe(ctx, "intakebot:{web}:changes")
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	api := apiclient.New(s.url, s.token)
	if err := api.Do(ctx, "POST", "/api/v1/incidents", map[string]any{"subject": "Printer jammed",
		"reporter": map[string]string{"name": "Ana", "email": "ana@example.test"}}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-sub.Channel():
		if m.Payload != "INC-000001 1" {
			t.Fatalf("published %q, want the new incident and its version", m.Payload)
		}
	case <-time.After(30 * time.Second): // a guard against a hang, not a timing assertion
		t.Fatal("no change published for the consoles")
	}
}
