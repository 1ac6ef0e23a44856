package redisstore_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
)

// grouping is the policy the grouping tests run with.
var grouping = workflow.Grouping{Enabled: true, Window: 15 * time.Minute, MinScore: 0.5, Never: []string{"email"}}

func newGroupingFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.store.WithGrouping(grouping)
	return f
}

func vpnReport(i int) intake.Report {
	return intake.Report{Channel: intake.ChannelEmail, CI: "vpn", Category: "network",
		Subject: "The VPN is down", Description: "VPN does not connect since 9:00",
		Reporter: intake.Reporter{Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@example.test", i)}}
}

// Fifty alike reports at once on one CI make exactly one parent and 49
// children, each listed on the parent and pointing at it, with history on
// both sides.
func TestFiftyConcurrentReportsMakeOneParent(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	const n = 50
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			inc, err := f.engine.Register(ctx, vpnReport(i))
			if err != nil {
				errs <- err
				return
			}
			ids[i] = inc.ID
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var parents, children []string
	byParent := map[string]int{}
	for _, id := range ids {
		inc := must(t)(f.engine.Get(ctx, id))
		if inc.ParentID == "" {
			parents = append(parents, id)
			continue
		}
		children = append(children, id)
		byParent[inc.ParentID]++
		if !hasHistory(inc, "grouped", "parent: "+inc.ParentID) {
			t.Errorf("%s has no history of its grouping: %+v", id, inc.History)
		}
	}
	if len(parents) != 1 || len(children) != n-1 || byParent[parents[0]] != n-1 {
		t.Fatalf("parents %v, %d children, by parent %v", parents, len(children), byParent)
	}
	parent := must(t)(f.engine.Get(ctx, parents[0]))
	got := slices.Clone(parent.Children)
	slices.Sort(got)
	slices.Sort(children)
	if !slices.Equal(got, children) {
		t.Fatalf("parent lists %v, want %v", got, children)
	}
	if !hasHistory(parent, "grouped", "child: +"+children[0]) {
		t.Errorf("the parent's history does not name its children: %+v", parent.History)
	}
}

func hasHistory(inc *intake.Incident, event, detail string) bool {
	return slices.ContainsFunc(inc.History, func(h intake.HistoryEntry) bool { return h.Event == event && h.Detail == detail })
}

// What is not grouped: another CI, a category never grouped, an unlike
// text, a report after the window.
func TestGroupingLeavesApart(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	ok := must(t)
	first := ok(f.engine.Register(ctx, vpnReport(0)))
	if first.ParentID != "" {
		t.Fatalf("the first report got a parent: %s", first.ParentID)
	}
	child := ok(f.engine.Register(ctx, vpnReport(1)))
	if child.ParentID != first.ID {
		t.Fatalf("an alike report within the window was not grouped: parent %q", child.ParentID)
	}
	for name, rep := range map[string]intake.Report{
		"other CI":       {CI: "wifi", Category: "network"},
		"never category": {CI: "vpn", Category: "email"},
		"unlike text":    {CI: "vpn", Category: "network", Subject: "Please order a new laptop bag", Description: "mine tore"},
	} {
		r := vpnReport(2)
		r.CI, r.Category = rep.CI, rep.Category
		if rep.Subject != "" {
			r.Subject, r.Description = rep.Subject, rep.Description
		}
		if inc := ok(f.engine.Register(ctx, r)); inc.ParentID != "" {
			t.Errorf("%s: grouped under %s", name, inc.ParentID)
		}
	}
	// The window runs from the outage's last report.
	f.clock.Add(14 * time.Minute)
	if inc := ok(f.engine.Register(ctx, vpnReport(3))); inc.ParentID != first.ID {
		t.Fatalf("14 minutes after the last report: parent %q", inc.ParentID)
	}
	f.clock.Add(16 * time.Minute)
	late := ok(f.engine.Register(ctx, vpnReport(4)))
	if late.ParentID != "" {
		t.Fatalf("16 minutes after the last report: grouped under %s", late.ParentID)
	}
	// ... and the late report opened the next outage.
	if inc := ok(f.engine.Register(ctx, vpnReport(5))); inc.ParentID != late.ID {
		t.Fatalf("after a new outage opened: parent %q, want %s", inc.ParentID, late.ID)
	}
}

// An alert's incident is the parent of every report on its CI while it
// is open, alike or not, however late.
func TestEventIncidentIsTheParent(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	ok := must(t)
	alert := ok(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEvent, CI: "vpn", Category: "network",
		Subject: "vpn-gw01 tunnel count 0", Reporter: intake.Reporter{Name: "monitoring"}}))
	f.clock.Add(2 * time.Hour)
	r := vpnReport(1)
	r.Subject, r.Description = "Cannot reach the intranet from home", "it says timeout"
	if inc := ok(f.engine.Register(ctx, r)); inc.ParentID != alert.ID {
		t.Fatalf("a report on the alert's CI: parent %q, want %s", inc.ParentID, alert.ID)
	}
}
