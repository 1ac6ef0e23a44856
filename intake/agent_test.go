package intake

import (
	"errors"
	"testing"
	"time"
)

func TestParseLifetime(t *testing.T) {
	day := 24 * time.Hour
	for in, want := range map[string]time.Duration{"90d": 90 * day, "1d": day, "12w": 84 * day, "36h": 36 * time.Hour, " 30m ": 30 * time.Minute, "3650d": MaxAgentLifetime} {
		got, err := ParseLifetime(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "d", "0d", "-1d", "3651d", "99999999999999999999d", "1.5d", "ninety days", "-5h", "0", "1y", "d90"} {
		if got, err := ParseLifetime(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%q: %v %v, want invalid", bad, got, err)
		}
	}
}

func TestAgentExpired(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if (Agent{}).Expired(now) {
		t.Fatal("an agent without expiry expired")
	}
	a := Agent{ExpiresAt: now}
	if !a.Expired(now) || a.Expired(now.Add(-time.Second)) {
		t.Fatal("expiry is the first instant the agent no longer works")
	}
}
