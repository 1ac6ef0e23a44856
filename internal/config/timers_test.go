package config

import (
	"strings"
	"testing"
	"time"
)

func TestTimersConfig(t *testing.T) {
	cfg, _, err := Load("", Env{})
	if err != nil {
		t.Fatal(err)
	}
	tm, err := cfg.WorkflowTimers()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.ValidationReminders) != 2 || tm.ValidationAcceptAfter != 168*time.Hour || tm.SLA["P1"].Response != 15*time.Minute || tm.Hours != nil {
		t.Fatalf("defaults = %+v", tm)
	}
	for env, want := range map[string]string{
		"INTAKEBOT_SLA_WARN_AT":        "sla.warn_at",
		"INTAKEBOT_SLA_TARGETS":        "not a priority",
		"INTAKEBOT_SLA_BUSINESS_HOURS": "sla.business_hours",
	} {
		val := map[string]string{
			"INTAKEBOT_SLA_WARN_AT":        "1.5",
			"INTAKEBOT_SLA_TARGETS":        "{P9: {response: 1h}}",
			"INTAKEBOT_SLA_BUSINESS_HOURS": "{zone: Mars/Olympus, days: mon-fri, start: '09:00', end: '18:00'}",
		}[env]
		cfg, _, err := Load("", Env{env: val})
		if err == nil {
			_, err = cfg.WorkflowTimers()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: %v, want an error about %s", env, val, err, want)
		}
	}
	cfg, _, _ = Load("", Env{"INTAKEBOT_SLA_BUSINESS_HOURS_ZONE": "Europe/Madrid"})
	if tm, err := cfg.WorkflowTimers(); err != nil || tm.Hours == nil {
		t.Fatalf("business hours: %v %v", tm.Hours, err)
	}
}
