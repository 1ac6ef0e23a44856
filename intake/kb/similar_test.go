package kb

import (
	"testing"

	"github.com/intakebot/intakebot/intake"
)

func TestOverlapScoresSimilarReports(t *testing.T) {
	en := func(s string) []string { return ReportTerms(intake.English, s) }
	es := func(s string) []string { return ReportTerms(intake.Spanish, s) }
	for _, tc := range []struct {
		name     string
		a, b     []string
		min, max float64
	}{
		{"same words", en("The VPN is down"), en("VPN down!"), 1, 1},
		{"other forms", en("VPN not connecting"), en("the vpn won't connect"), 0.5, 1},
		{"spanish forms", es("La VPN no conecta"), es("no consigo conectar a la VPN"), 0.5, 1},
		{"unrelated", en("printer jammed on floor 2"), en("VPN down"), 0, 0},
		{"empty", nil, en("VPN down"), 0, 0},
	} {
		got := Overlap(tc.a, tc.b)
		if got < tc.min || got > tc.max {
			t.Errorf("%s: Overlap(%v, %v) = %.2f, want %.2f..%.2f", tc.name, tc.a, tc.b, got, tc.min, tc.max)
		}
	}
	if got := ReportTerms(intake.English, "VPN vpn VPN gateway"); len(got) != 2 {
		t.Errorf("Terms repeats: %v", got)
	}
}
