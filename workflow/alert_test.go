package workflow

import (
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// The changes that raise an agent alert, and the ones that do not.
func TestAlertOf(t *testing.T) {
	for _, tc := range []struct {
		ch   Change
		want intake.Alert
	}{
		{Change{Event: intake.EventSLA, Flag: FlagResponseWarning}, intake.AlertSLAWarning},
		{Change{Event: intake.EventSLA, Flag: FlagResolutionBreach}, intake.AlertSLABreach},
		{Change{Event: intake.EventSLA, Flag: "vip"}, ""},
		{Change{Event: intake.EventAnswerNo}, intake.AlertRejected},
		{Change{Event: intake.EventAnswerYes}, ""},
		{Change{Event: intake.EventMove}, ""},
	} {
		if got := AlertOf(tc.ch); got != tc.want {
			t.Errorf("AlertOf(%s %q) = %q, want %q", tc.ch.Event, tc.ch.Flag, got, tc.want)
		}
	}
}
