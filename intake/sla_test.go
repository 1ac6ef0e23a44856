package intake

import (
	"testing"
	"time"
)

func TestSLAStatusIsTheWorstFlag(t *testing.T) {
	now := time.Now()
	for _, c := range []struct {
		flags []string
		want  string
	}{
		{nil, SLAOK},
		{[]string{"vip"}, SLAOK},
		{[]string{"sla_response_warning"}, SLAWarning},
		{[]string{"sla_response_warning", "sla_response_breach"}, SLABreached},
		{[]string{"sla_resolution_breach", "sla_response_warning"}, SLABreached},
		{[]string{"sla_response_warning", "sla_resolution_warning"}, SLAWarning},
		{[]string{"response_breach"}, SLAOK}, // not an SLA flag
	} {
		inc := &Incident{Flags: map[string]time.Time{}}
		for _, f := range c.flags {
			inc.Flags[f] = now
		}
		if got := inc.SLAStatus(); got != c.want {
			t.Errorf("flags %v: %q, want %q", c.flags, got, c.want)
		}
	}
}
