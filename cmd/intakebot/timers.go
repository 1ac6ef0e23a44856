package main

import (
	"fmt"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
)

// TimersConfig is the timers: section.
type TimersConfig struct {
	// Tick is how often due work is looked for (robfig/cron spec).
	Tick       string `yaml:"tick"`
	Validation struct {
		RemindAfter []Duration `yaml:"remind_after"`
		AcceptAfter Duration   `yaml:"accept_after"`
	} `yaml:"validation"`
	Satisfaction struct {
		RemindAfter []Duration `yaml:"remind_after"`
		CloseAfter  Duration   `yaml:"close_after"`
	} `yaml:"satisfaction"`
}

// SLAConfig is the sla: section.
type SLAConfig struct {
	WarnAt        float64 `yaml:"warn_at"`
	BusinessHours struct {
		Zone  string `yaml:"zone"`
		Days  string `yaml:"days"`
		Start string `yaml:"start"`
		End   string `yaml:"end"`
	} `yaml:"business_hours"`
	Targets map[intake.Priority]struct {
		Response   Duration `yaml:"response"`
		Resolution Duration `yaml:"resolution"`
	} `yaml:"targets"`
}

// timers turns the configuration into the workflow's timers.
func (c *Config) timers() (workflow.Timers, error) {
	durations := func(list []Duration) []time.Duration {
		out := make([]time.Duration, len(list))
		for i, d := range list {
			out[i] = time.Duration(d)
		}
		return out
	}
	t := workflow.Timers{
		ValidationReminders:    durations(c.Timers.Validation.RemindAfter),
		ValidationAcceptAfter:  time.Duration(c.Timers.Validation.AcceptAfter),
		SatisfactionReminders:  durations(c.Timers.Satisfaction.RemindAfter),
		SatisfactionCloseAfter: time.Duration(c.Timers.Satisfaction.CloseAfter),
		SLA:                    map[intake.Priority]workflow.SLATarget{},
		WarnAt:                 c.SLA.WarnAt,
	}
	if t.WarnAt < 0 || t.WarnAt >= 1 {
		return t, fmt.Errorf("sla.warn_at must be at least 0 and below 1 (a share of the target), not %v", t.WarnAt)
	}
	for p, target := range c.SLA.Targets {
		if !p.Valid() {
			return t, fmt.Errorf("sla.targets: %q is not a priority P1..P5", p)
		}
		t.SLA[p] = workflow.SLATarget{Response: time.Duration(target.Response), Resolution: time.Duration(target.Resolution)}
	}
	if bh := c.SLA.BusinessHours; bh.Zone != "" {
		hours, err := workflow.ParseBusinessHours(bh.Zone, bh.Days, bh.Start, bh.End)
		if err != nil {
			return t, fmt.Errorf("sla.business_hours: %w", err)
		}
		t.Hours = hours
	}
	return t, nil
}
