package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRetentionIsOffByDefaultAndTakesDays(t *testing.T) {
	c, _, err := Load("", Env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Retention.ClosedAfter != 0 || c.Retention.Schedule != "" || c.Retention.Dir == "" {
		t.Fatalf("defaults %+v", c.Retention)
	}
	c, _, err = Load("", Env{"INTAKEBOT_RETENTION_CLOSED_AFTER": "400d", "INTAKEBOT_RETENTION_SCHEDULE": "@daily"})
	if err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Retention.ClosedAfter) != 400*24*time.Hour || c.Retention.ClosedAfter.String() != "400d" {
		t.Fatalf("closed_after %s", c.Retention.ClosedAfter)
	}
	if probs := c.Validate(); len(probs) != 0 {
		t.Fatalf("valid retention refused: %v", probs)
	}
	if c, _, err := Load("", Env{"INTAKEBOT_RETENTION_CLOSED_AFTER": "72h"}); err != nil || time.Duration(c.Retention.ClosedAfter) != 72*time.Hour {
		t.Fatalf("72h: %v", err)
	}
}

func TestRetentionMistakesNameTheirKey(t *testing.T) {
	for _, bad := range []string{"soon", "-3d", "4x"} {
		_, _, err := Load("", Env{"INTAKEBOT_RETENTION_CLOSED_AFTER": bad})
		var probs Problems
		if !errors.As(err, &probs) || !strings.Contains(probs.Error(), "retention.closed_after") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	for name, env := range map[string]Env{
		"a schedule with retention off": {"INTAKEBOT_RETENTION_SCHEDULE": "@daily"},
		"a bad schedule":                {"INTAKEBOT_RETENTION_CLOSED_AFTER": "400d", "INTAKEBOT_RETENTION_SCHEDULE": "every day"},
		"a schedule with no dir": {"INTAKEBOT_RETENTION_CLOSED_AFTER": "400d", "INTAKEBOT_RETENTION_SCHEDULE": "@daily",
			"INTAKEBOT_RETENTION_DIR": " "},
	} {
		c, _, err := Load("", env)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if probs := c.Validate(); len(probs) == 0 || !strings.Contains(probs.Error(), "retention.") {
			t.Errorf("%s: %v", name, probs)
		}
	}
}
