package intake

import "strings"

// SLA statuses of an incident, from the flags the SLA timers set on it
// (sla_response_warning, sla_resolution_breach, ...). An incident shows
// its worst one: a breach hides the warning that came before it.
const (
	SLAOK       = ""
	SLAWarning  = "warning"
	SLABreached = "breached"
)

// SLAStatus is the incident's worst SLA status: SLABreached when a target
// was missed, SLAWarning when one is close, SLAOK otherwise.
func (inc *Incident) SLAStatus() string {
	status := SLAOK
	for flag := range inc.Flags {
		switch SLAFlagStatus(flag) {
		case SLABreached:
			return SLABreached
		case SLAWarning:
			status = SLAWarning
		}
	}
	return status
}

// SLAFlagStatus reads one flag: SLAWarning or SLABreached for an SLA flag,
// SLAOK for any other. The flags are named sla_TARGET_warning and
// sla_TARGET_breach, so a target added later is read without a change here.
func SLAFlagStatus(flag string) string {
	if !strings.HasPrefix(flag, "sla_") {
		return SLAOK
	}
	switch {
	case strings.HasSuffix(flag, "_breach"):
		return SLABreached
	case strings.HasSuffix(flag, "_warning"):
		return SLAWarning
	}
	return SLAOK
}
