package workflow

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC) // a Monday

func policy() Timers {
	return Timers{
		ValidationReminders: []time.Duration{24 * time.Hour, 72 * time.Hour}, ValidationAcceptAfter: 7 * 24 * time.Hour,
		SatisfactionReminders: []time.Duration{48 * time.Hour}, SatisfactionCloseAfter: 5 * 24 * time.Hour,
		SLA:    map[intake.Priority]SLATarget{"P2": {Response: time.Hour, Resolution: 8 * time.Hour}},
		WarnAt: 0.8,
	}
}

func kinds(steps []timedStep) string {
	var out []string
	for _, s := range steps {
		out = append(out, string(s.kind)+":"+s.flag+":"+s.ref)
	}
	return strings.Join(out, " ")
}

func inValidation(entered time.Time, reminded ...time.Time) *intake.Incident {
	inc := &intake.Incident{ID: "INC-000001", State: intake.Validation, Priority: "P4", Channel: intake.ChannelEmail,
		RegisteredAt: entered.Add(-time.Hour), EnteredAt: map[intake.State]time.Time{intake.Validation: entered}}
	for _, at := range reminded {
		inc.History = append(inc.History, intake.HistoryEntry{At: at, Event: string(intake.EventRemind)})
	}
	return inc
}

func TestValidationRemindersAndSilence(t *testing.T) {
	p := policy()
	round := fmt.Sprint(t0.UnixNano())
	cases := []struct {
		name     string
		inc      *intake.Incident
		now      time.Time
		want     string
		wantNext time.Time
	}{
		{"just asked", inValidation(t0), t0.Add(time.Hour), "", t0.Add(24 * time.Hour)},
		{"first reminder", inValidation(t0), t0.Add(25 * time.Hour), "remind::timer:remind:1:" + round, t0.Add(72 * time.Hour)},
		{"first sent", inValidation(t0, t0.Add(25*time.Hour)), t0.Add(26 * time.Hour), "", t0.Add(72 * time.Hour)},
		{"second", inValidation(t0, t0.Add(25*time.Hour)), t0.Add(73 * time.Hour), "remind::timer:remind:2:" + round, t0.Add(7 * 24 * time.Hour)},
		// A bot that was down for three days sends one reminder, not two.
		{"down three days", inValidation(t0), t0.Add(80 * time.Hour), "remind::timer:remind:2:" + round, t0.Add(7 * 24 * time.Hour)},
		{"both sent", inValidation(t0, t0.Add(25*time.Hour), t0.Add(73*time.Hour)), t0.Add(100 * time.Hour), "", t0.Add(7 * 24 * time.Hour)},
		// Silence: no reminder any more, the answer counts as yes.
		{"silence", inValidation(t0), t0.Add(8 * 24 * time.Hour), "answer_yes::timer:timeout:" + round, time.Time{}},
		// A reminder of an earlier round does not count for this one.
		{"new round", inValidation(t0, t0.Add(-time.Hour)), t0.Add(25 * time.Hour), "remind::timer:remind:1:" + round, t0.Add(72 * time.Hour)},
	}
	for _, c := range cases {
		steps, next := p.Due(c.inc, c.now)
		if got := kinds(steps); got != c.want || !next.Equal(c.wantNext) {
			t.Errorf("%s: steps %q next %v, want %q next %v", c.name, got, next, c.want, c.wantNext)
		}
	}
}

func TestSatisfactionTimeoutAndEventIncidents(t *testing.T) {
	p := policy()
	inc := &intake.Incident{State: intake.Satisfaction, Channel: intake.ChannelEmail, EnteredAt: map[intake.State]time.Time{intake.Satisfaction: t0, intake.Validation: t0}}
	if steps, next := p.Due(inc, t0.Add(49*time.Hour)); kinds(steps) == "" || steps[0].kind != intake.EventRemind || !next.Equal(t0.Add(5*24*time.Hour)) {
		t.Fatalf("reminder: %q next %v", kinds(steps), next)
	}
	steps, _ := p.Due(inc, t0.Add(6*24*time.Hour))
	if len(steps) != 1 || steps[0].kind != intake.EventSkipSurvey || !strings.Contains(steps[0].note, "no rating") {
		t.Fatalf("timeout: %+v", steps)
	}
	// Nobody to survey for a system event: skipped at once, history says why.
	inc.Channel = intake.ChannelEvent
	steps, _ = p.Due(inc, t0)
	if len(steps) != 1 || steps[0].kind != intake.EventSkipSurvey || !strings.Contains(steps[0].note, "system event") {
		t.Fatalf("event incident: %+v", steps)
	}
	// Turned off: nothing happens, nothing is due.
	if steps, next := (Timers{}).Due(inc, t0.Add(1000*time.Hour)); len(steps) != 1 || !next.IsZero() {
		t.Fatalf("no timers but an event incident: %+v %v", steps, next)
	}
	inc.Channel = intake.ChannelEmail
	if steps, next := (Timers{}).Due(inc, t0.Add(1000*time.Hour)); len(steps) != 0 || !next.IsZero() {
		t.Fatalf("no timers: %+v %v", steps, next)
	}
}

func TestSLAWarningsAndBreaches(t *testing.T) {
	p := policy()
	inc := &intake.Incident{State: intake.Analysis, Priority: "P2", RegisteredAt: t0, EnteredAt: map[intake.State]time.Time{intake.Analysis: t0}}
	steps, next := p.Due(inc, t0.Add(10*time.Minute))
	if len(steps) != 0 || !next.Equal(t0.Add(48*time.Minute)) {
		t.Fatalf("early: %q next %v", kinds(steps), next)
	}
	steps, _ = p.Due(inc, t0.Add(50*time.Minute))
	if kinds(steps) != "sla:sla_response_warning:timer:sla_response_warning" {
		t.Fatalf("warning: %q", kinds(steps))
	}
	inc.Flags = map[string]time.Time{FlagResponseWarning: t0.Add(50 * time.Minute)}
	steps, next = p.Due(inc, t0.Add(61*time.Minute))
	if kinds(steps) != "sla:sla_response_breach:timer:sla_response_breach" || !next.Equal(t0.Add(384*time.Minute)) {
		t.Fatalf("breach: %q next %v", kinds(steps), next)
	}
	// Responded and resolved: nothing more.
	inc.Owner, inc.State = "alice", intake.Validation
	inc.EnteredAt[intake.Validation] = t0.Add(2 * time.Hour)
	slaOnly := Timers{SLA: p.SLA, WarnAt: p.WarnAt}
	if steps, next := slaOnly.Due(inc, t0.Add(20*time.Hour)); len(steps) != 0 || !next.IsZero() {
		t.Fatalf("after resolution: %q %v", kinds(steps), next)
	}
	// Closed: nothing, ever.
	inc = &intake.Incident{State: intake.Closed, Priority: "P2", RegisteredAt: t0}
	if steps, next := p.Due(inc, t0.Add(20*time.Hour)); len(steps) != 0 || !next.IsZero() {
		t.Fatalf("closed: %q %v", kinds(steps), next)
	}
}

func TestBusinessHours(t *testing.T) {
	h, err := ParseBusinessHours("Europe/Madrid", "mon-fri", "09:00", "18:00")
	if err != nil {
		t.Fatal(err)
	}
	mad, _ := time.LoadLocation("Europe/Madrid")
	friday := time.Date(2026, 11, 27, 17, 0, 0, 0, mad)
	cases := []struct {
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{friday, 2 * time.Hour, time.Date(2026, 11, 30, 10, 0, 0, 0, mad)},                                // over the weekend
		{time.Date(2026, 11, 28, 12, 0, 0, 0, mad), time.Hour, time.Date(2026, 11, 30, 10, 0, 0, 0, mad)}, // reported on Saturday
		{time.Date(2026, 11, 24, 7, 0, 0, 0, mad), 9 * time.Hour, time.Date(2026, 11, 24, 18, 0, 0, 0, mad)},
		{time.Date(2026, 11, 24, 19, 0, 0, 0, mad), 30 * time.Minute, time.Date(2026, 11, 25, 9, 30, 0, 0, mad)},
		// Across the change to summer time (29 March 2026).
		{time.Date(2026, 3, 27, 17, 0, 0, 0, mad), 2 * time.Hour, time.Date(2026, 3, 30, 10, 0, 0, 0, mad)},
	}
	for _, c := range cases {
		if got := h.Add(c.from, c.d); !got.Equal(c.want) {
			t.Errorf("%v + %v = %v, want %v", c.from, c.d, got, c.want)
		}
	}
	if got := (*BusinessHours)(nil).Add(friday, time.Hour); !got.Equal(friday.Add(time.Hour)) {
		t.Errorf("nil hours: %v", got)
	}
	for _, bad := range [][4]string{{"Nowhere/City", "mon-fri", "09:00", "18:00"}, {"UTC", "mon-fry", "09:00", "18:00"}, {"UTC", "mon", "18:00", "09:00"}, {"UTC", "mon", "9am", "5pm"}} {
		if _, err := ParseBusinessHours(bad[0], bad[1], bad[2], bad[3]); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}
