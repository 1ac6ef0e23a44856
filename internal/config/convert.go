package config

import (
	"fmt"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
)

// Rules turns the configuration into checked registration rules.
func (c *Config) Rules() (*intake.Rules, error) {
	var matrix intake.Matrix
	if c.Priority.Matrix != nil {
		matrix = intake.Matrix(c.Priority.Matrix)
	}
	return intake.NewRules(intake.RulesConfig{
		DefaultLanguage:       intake.Lang(c.Language.Default),
		DefaultCategory:       c.DefaultCategory,
		DefaultCategoryLabels: c.DefaultCategoryLabels,
		DefaultGroup:          c.DefaultGroup,
		DefaultImpact:         intake.Level(c.Priority.DefaultImpact),
		DefaultUrgency:        intake.Level(c.Priority.DefaultUrgency),
		Categories:            c.Categories,
		CIs:                   c.CIs,
		ImpactKeywords:        c.Priority.ImpactKeywords,
		UrgencyKeywords:       c.Priority.UrgencyKeywords,
		Matrix:                matrix,
		Groups:                c.Groups,
	})
}

// WorkflowTimers turns the configuration into the workflow's timers.
func (c *Config) WorkflowTimers() (workflow.Timers, error) {
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
