package workflow

import (
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
)

func TestGroupingPick(t *testing.T) {
	g := Grouping{Enabled: true, Window: 15 * time.Minute, MinScore: 0.5, Never: []string{"security"}}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	vpn := []string{"connect", "vpn"}
	for _, tc := range []struct {
		name  string
		terms []string
		open  []Outage
		want  string
	}{
		{"nothing open", vpn, nil, ""},
		{"alike, recent", vpn, []Outage{{Parent: "INC-000001", Last: now.Add(-time.Minute), Terms: []string{"vpn"}}}, "INC-000001"},
		{"alike, too old", vpn, []Outage{{Parent: "INC-000001", Last: now.Add(-16 * time.Minute), Terms: vpn}}, ""},
		{"unlike", vpn, []Outage{{Parent: "INC-000001", Last: now, Terms: []string{"printer", "jam"}}}, ""},
		{"the most alike", vpn, []Outage{
			{Parent: "INC-000001", Last: now, Terms: []string{"connect", "printer"}},
			{Parent: "INC-000002", Last: now, Terms: vpn}}, "INC-000002"},
		{"a tie: the oldest", vpn, []Outage{{Parent: "INC-000003", Last: now, Terms: vpn}, {Parent: "INC-000002", Last: now, Terms: vpn}}, "INC-000002"},
		{"an alert wins, alike or not, however old", vpn, []Outage{
			{Parent: "INC-000001", Last: now, Terms: vpn},
			{Parent: "INC-000009", Event: true, Last: now.Add(-48 * time.Hour), Terms: []string{"gateway"}}}, "INC-000009"},
		{"no terms", nil, []Outage{{Parent: "INC-000001", Last: now, Terms: vpn}}, ""},
	} {
		if got := g.Pick(tc.terms, tc.open, now); got != tc.want {
			t.Errorf("%s: Pick = %q, want %q", tc.name, got, tc.want)
		}
	}
	for _, tc := range []struct {
		inc  intake.Incident
		want bool
	}{
		{intake.Incident{CI: "vpn", Category: "network"}, true},
		{intake.Incident{CI: " ", Category: "network"}, false},
		{intake.Incident{CI: "vpn", Category: "security"}, false},
	} {
		if got := g.Applies(&tc.inc); got != tc.want {
			t.Errorf("Applies(%+v) = %v", tc.inc, got)
		}
	}
	g.Enabled = false
	if g.Applies(&intake.Incident{CI: "vpn"}) {
		t.Error("a disabled policy applies")
	}
}
