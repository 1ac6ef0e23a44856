package redisstore_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// alertFixture listens with a Spanish mail for the networks group, an
// English mail for every group and a webhook that takes breaches and
// rejections only.
func alertFixture(t *testing.T) *fixture {
	f := newFixture(t)
	every := intake.Alerts()
	f.store.AlertAgents([]redisstore.AlertTarget{
		{Route: intake.RouteAgentMail, Email: "redes@example.test", Lang: intake.Spanish, Alerts: every, Groups: []string{"networks"}},
		{Route: intake.RouteAgentMail, Email: "desk@example.test", Lang: intake.English, Alerts: every},
		{Route: intake.RouteWebhook, URL: "https://hooks.example.test/x", Alerts: []intake.Alert{intake.AlertSLABreach, intake.AlertRejected}},
	})
	return f
}

// alerts lists the queued agent alerts as "incident alert recipient".
func (f *fixture) alerts(t *testing.T) []string {
	t.Helper()
	list, err := f.store.Outbox(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, q := range list {
		if q.Kind != intake.NoticeAgentAlert {
			continue
		}
		to := q.Email + q.Target
		if q.Route == intake.RouteAgentMail && q.Lang == "" || q.Route == intake.RouteWebhook && q.Email != "" {
			t.Errorf("alert %s on %s: lang %q email %q", q.ID, q.Route, q.Lang, q.Email)
		}
		out = append(out, q.Incident+" "+string(q.Alert)+" "+to)
	}
	slices.Sort(out)
	return out
}

func TestAlertsAreQueuedWithTheirChangeOncePerEvent(t *testing.T) {
	f := alertFixture(t)
	ctx := context.Background()
	vpn := intake.Report{Channel: intake.ChannelEmail, Key: "mail:vpn", Subject: "The VPN does not connect", Reporter: intake.Reporter{Email: "ana@example.test"}}
	inc := must(t)(f.engine.Register(ctx, vpn))
	// The same report again (a crash before the ack): no second alert.
	must(t)(f.engine.Register(ctx, vpn))
	other := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "Printer jams", Reporter: intake.Reporter{Email: "bo@example.test"}}))
	want := []string{
		inc.ID + " new desk@example.test", inc.ID + " new redes@example.test",
		other.ID + " new desk@example.test",
	}
	if got := f.alerts(t); !slices.Equal(got, want) {
		t.Fatalf("after registering:\n got %q\nwant %q", got, want)
	}

	timer := intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "timer", Ref: "timer:sla_resolution_breach"}
	ok(t)(f.engine.Flag(ctx, inc.ID, timer, "sla_resolution_breach", "resolution target missed"))
	// The same flag raised again, even by another source: no second alert.
	timer.Ref = "again"
	ok(t)(f.engine.Flag(ctx, inc.ID, timer, "sla_resolution_breach", "resolution target missed"))
	// A flag that is no SLA's raises none.
	timer.Ref = "vip"
	ok(t)(f.engine.Flag(ctx, inc.ID, timer, "vip", "a VIP reported it"))
	// A warning is an event of its own (the webhook does not take it).
	timer.Ref = "timer:sla_response_warning"
	ok(t)(f.engine.Flag(ctx, inc.ID, timer, "sla_response_warning", "first response due soon"))
	want = append(want, inc.ID+" sla_breach desk@example.test", inc.ID+" sla_breach https://hooks.example.test/x",
		inc.ID+" sla_breach redes@example.test", inc.ID+" sla_warning desk@example.test", inc.ID+" sla_warning redes@example.test")
	slices.Sort(want)
	if got := f.alerts(t); !slices.Equal(got, want) {
		t.Fatalf("after the breach:\n got %q\nwant %q", got, want)
	}

	ok(t)(f.engine.Move(ctx, other.ID, alice, intake.Solution, ""))
	ok(t)(f.engine.Move(ctx, other.ID, alice, intake.Validation, "replaced the roller"))
	no := reporter
	no.Ref = "mail:no-1"
	ok(t)(f.engine.AnswerValidation(ctx, other.ID, no, false, "still jams"))
	// The same answer again is a duplicate; a second "no" while in
	// analysis is refused: neither raises an alert.
	ok(t)(f.engine.AnswerValidation(ctx, other.ID, no, false, "still jams"))
	no.Ref = "mail:no-2"
	if _, err := f.engine.AnswerValidation(ctx, other.ID, no, false, "still"); err == nil {
		t.Fatal("a no in analysis was taken")
	}
	want = append(want, other.ID+" rejected desk@example.test", other.ID+" rejected https://hooks.example.test/x")
	slices.Sort(want)
	if got := f.alerts(t); !slices.Equal(got, want) {
		t.Fatalf("after the no:\n got %q\nwant %q", got, want)
	}
	// Each alert is its own message, with its own idempotency key.
	list, err := f.store.Claim(ctx, intake.RouteWebhook, f.clock.Now(), time.Minute, 10)
	if err != nil || len(list) != 2 || list[0].ID == list[1].ID || !strings.Contains(list[0].ID, ":agent_alert:") {
		t.Fatalf("webhook claims: %+v", list)
	}
}

// Without listeners a change queues no alert (and the store works as before).
func TestNoAlertsWithoutListeners(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	inc := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "VPN", Reporter: intake.Reporter{Email: "a@example.test"}}))
	ok(t)(f.engine.Flag(ctx, inc.ID, intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "timer"}, "sla_response_breach", "late"))
	if got := f.alerts(t); len(got) != 0 {
		t.Fatalf("alerts without listeners: %q", got)
	}
}

// ok fails the test on an error of a change.
func ok(t *testing.T) func(intake.Changed, error) {
	return func(_ intake.Changed, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}
