package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"hash/fnv"
	"slices"
	"strings"
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
		if !hasHistory(inc, "grouped", "parent:  -> "+inc.ParentID) {
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
	// Joining at registration is quiet on the parent's side (its children
	// list them): an outage of thousands must not make each join, and each
	// read of the parent, cost more than the one before.
	if slices.ContainsFunc(parent.History, func(h intake.HistoryEntry) bool { return h.Event == "grouped" }) || parent.Version > 2 {
		t.Errorf("the parent's history grew with its children: version %d, %+v", parent.Version, parent.History)
	}
}

// A batch of alike reports (one IMAP fetch during an outage) registered
// together: the first opens the outage, the others join it though it is
// stored in the same batch, and the parent lists them all. A second batch
// joins the same outage; a batch retried after a crash changes nothing.
func TestOneBatchOfAlikeReportsMakesOneParent(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	var ids []string
	var apart []string
	for round := range 2 {
		reps := make([]intake.Report, 40)
		for i := range reps {
			reps[i] = vpnReport(round*40 + i)
		}
		// Unlike text, same CI: an outage of its own.
		reps = append(reps, intake.Report{Channel: intake.ChannelEmail, CI: "vpn", Category: "network",
			Subject: "Request a new VPN certificate", Description: "My certificate expires next month, please renew it.",
			Reporter: intake.Reporter{Name: "Bo", Email: fmt.Sprintf("bo%d@example.test", round)}})
		incs, errs := f.engine.RegisterMany(ctx, reps)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, report %d: %v", round, i, err)
			}
			if i == len(reps)-1 {
				apart = append(apart, incs[i].ID)
				continue
			}
			ids = append(ids, incs[i].ID)
		}
	}
	// The unlike ones: the first opened its own outage, the second joined it.
	if first, second := must(t)(f.engine.Get(ctx, apart[0])), must(t)(f.engine.Get(ctx, apart[1])); first.ParentID != "" || second.ParentID != first.ID {
		t.Errorf("unlike reports: %s parent %q, %s parent %q", first.ID, first.ParentID, second.ID, second.ParentID)
	}
	parent := must(t)(f.engine.Get(ctx, ids[0]))
	if parent.ParentID != "" || len(parent.Children) != len(ids)-1 {
		t.Fatalf("parent %s: parent %q, %d children, want %d", parent.ID, parent.ParentID, len(parent.Children), len(ids)-1)
	}
	for _, id := range ids[1:] {
		if inc := must(t)(f.engine.Get(ctx, id)); inc.ParentID != parent.ID || !slices.Contains(parent.Children, id) {
			t.Errorf("%s: parent %q, listed %v", id, inc.ParentID, slices.Contains(parent.Children, id))
		}
	}
}

// Batches registered at the same time by two bots on the same outage: the
// second batch's decisions, made on outages the first changed meanwhile,
// are refused as a whole and made again one by one, so there is still
// exactly one parent, listing every other report; reports on another CI,
// or unlike, stay apart.
func TestConcurrentBatchesMakeOneParent(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	const bots, per = 4, 30
	ids := make([][]string, bots)
	var wg sync.WaitGroup
	errs := make(chan error, bots*per)
	for b := range bots {
		wg.Go(func() {
			reps := make([]intake.Report, per)
			for i := range reps {
				reps[i] = vpnReport(b*per + i)
			}
			reps[per-1].CI = "printer-floor-2" // another CI: its own outage
			incs, rerrs := f.engine.RegisterMany(ctx, reps)
			for i, err := range rerrs {
				if err != nil {
					errs <- err
					continue
				}
				ids[b] = append(ids[b], incs[i].ID)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	byCI := map[string][]*intake.Incident{}
	for _, list := range ids {
		for _, id := range list {
			inc := must(t)(f.engine.Get(ctx, id))
			byCI[inc.CI] = append(byCI[inc.CI], inc)
		}
	}
	for ci, incs := range byCI {
		var parents []*intake.Incident
		for _, inc := range incs {
			if inc.ParentID == "" {
				parents = append(parents, inc)
			}
		}
		if len(parents) != 1 || len(parents[0].Children) != len(incs)-1 {
			t.Fatalf("%s: %d parents (want 1) over %d reports", ci, len(parents), len(incs))
		}
		for _, inc := range incs {
			if inc != parents[0] && (inc.ParentID != parents[0].ID || !slices.Contains(parents[0].Children, inc.ID)) {
				t.Errorf("%s: %s has parent %q, listed %v", ci, inc.ID, inc.ParentID, slices.Contains(parents[0].Children, inc.ID))
			}
		}
	}
}

// An outage that expired (its last report older than the window) is still
// in the CI's hash until a write drops it: a batch read with it opens a
// new outage together, and the write drops the expired one.
func TestBatchAfterAnExpiredOutage(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	old := must(t)(f.engine.Register(ctx, vpnReport(0)))
	f.clock.Add(grouping.Window + time.Minute)
	reps := []intake.Report{vpnReport(1), vpnReport(2), vpnReport(3)}
	incs, errs := f.engine.RegisterMany(ctx, reps)
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if incs[0].ParentID != "" || incs[1].ParentID != incs[0].ID || incs[2].ParentID != incs[0].ID {
		t.Fatalf("parents %q %q %q, want none, then %s twice", incs[0].ParentID, incs[1].ParentID, incs[2].ParentID, incs[0].ID)
	}
	if f.rdb.HExists(ctx, outageKeyOf(t, f, "vpn"), "o:"+old.ID).Val() {
		t.Error("the expired outage is still in the hash")
	}
}

// An outage whose parent was claimed but never stored (its bot stopped in
// between): a report that picks it waits a moment, then ends that outage
// and opens its own. One whose parent is stored a moment later joins it.
func TestOutageWhoseParentNeverCameEnds(t *testing.T) {
	f := newGroupingFixture(t)
	f.store.SetParentWait(50 * time.Millisecond)
	ctx := context.Background()
	ghost := "INC-900001"
	key := outageKeyOf(t, f, "vpn")
	now := f.clock.Now().UnixMilli()
	if err := f.rdb.HSet(ctx, key, "o:"+ghost, "R connect down vpn", "l:"+ghost, now, "v", 1).Err(); err != nil {
		t.Fatal(err)
	}
	inc := must(t)(f.engine.Register(ctx, vpnReport(1)))
	if inc.ParentID != "" {
		t.Fatalf("%s joined %s, which never came", inc.ID, inc.ParentID)
	}
	if f.rdb.HExists(ctx, key, "o:"+ghost).Val() {
		t.Error("the ghost's outage is still open")
	}
	if child := must(t)(f.engine.Register(ctx, vpnReport(2))); child.ParentID != inc.ID {
		t.Errorf("the next report's parent is %q, want %s", child.ParentID, inc.ID)
	}
}

// outageKeyOf is the outage hash of a CI (its shard named by a hash of
// the CI, as the store does).
func outageKeyOf(t *testing.T, f *fixture, ci string) string {
	t.Helper()
	return fmt.Sprintf("%s:{s%02d}:outage:%s", f.prefix, fnv32(ci)%redisstore.Shards, ci)
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
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

// byReporter is the reporter of vpnReport(i) answering for their incident.
func byReporter(i int) intake.Actor {
	return intake.Actor{Kind: intake.ActorReporter, Name: fmt.Sprintf("User %d", i), Via: "email"}
}

// The parent's validation asks every child's reporter, with the parent's
// note; each answers for their own incident; a "no" detaches; the
// parent's closure closes each child whose reporter answered, and the
// others when they do.
func TestParentValidationFansOutAndClosureFollows(t *testing.T) {
	f := newGroupingFixture(t)
	f.engine.WithGrouper(f.store)
	ctx := context.Background()
	ok, did := must(t), done(t)
	var ids []string
	for i := range 4 {
		ids = append(ids, ok(f.engine.Register(ctx, vpnReport(i))).ID)
	}
	parent, no, later, early := ids[0], ids[1], ids[2], ids[3]
	rec := &recorder{}
	drain := func() {
		t.Helper()
		if _, err := f.dispatcher(intake.RouteEmail, rec).Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	drain()
	for _, m := range rec.mails(t, f)[1:] {
		if !strings.Contains(m.Text, "known outage") || !strings.Contains(m.Text, parent) {
			t.Errorf("%s: a child's acknowledgment does not say the outage is known:\n%s", m.IncidentID, m.Text)
		}
	}
	rec.sent, rec.incs = nil, nil

	const note = "We restarted the VPN gateway."
	did(f.engine.Move(ctx, parent, alice, intake.Solution, ""))
	did(f.engine.Move(ctx, parent, alice, intake.Validation, note))
	for _, id := range ids[1:] {
		if inc := ok(f.engine.Get(ctx, id)); inc.State != intake.Validation {
			t.Fatalf("%s did not follow its parent into validation: %s", id, inc.State)
		}
	}
	drain()
	asked := map[string]bool{}
	for _, m := range rec.mails(t, f) {
		if m.Kind == intake.NoticeValidation && strings.Contains(m.Text, note) {
			asked[m.IncidentID] = true
		}
	}
	for _, id := range ids {
		if !asked[id] {
			t.Errorf("%s's reporter was not asked with the parent's note (asked: %v)", id, asked)
		}
	}

	// "No" detaches that child, back to analysis on its own.
	did(f.engine.AnswerValidation(ctx, no, byReporter(1), false, "still down here"))
	inc := ok(f.engine.Get(ctx, no))
	if inc.State != intake.Analysis || inc.ParentID != "" || !hasHistory(inc, "ungrouped", "parent: "+parent+" -> –") {
		t.Fatalf("after its no: state %s, parent %q, history %+v", inc.State, inc.ParentID, inc.History)
	}
	if p := ok(f.engine.Get(ctx, parent)); slices.Contains(p.Children, no) || p.State != intake.Validation {
		t.Fatalf("the parent after a child's no: children %v, state %s", p.Children, p.State)
	}

	// One child answers everything before the parent closes, one after.
	did(f.engine.AnswerValidation(ctx, early, byReporter(3), true, ""))
	did(f.engine.Rate(ctx, early, byReporter(3), 5, ""))
	did(f.engine.AnswerValidation(ctx, later, byReporter(2), true, ""))
	did(f.engine.AnswerValidation(ctx, parent, byReporter(0), true, ""))
	did(f.engine.Rate(ctx, parent, byReporter(0), 4, ""))
	did(f.engine.Move(ctx, parent, alice, intake.Closed, "gateway replaced"))
	if inc := ok(f.engine.Get(ctx, early)); inc.State != intake.Closed {
		t.Fatalf("a child whose reporter had answered was not closed with its parent: %s", inc.State)
	}
	if inc := ok(f.engine.Get(ctx, later)); inc.State != intake.Satisfaction {
		t.Fatalf("a child whose reporter had not answered: %s, want satisfaction", inc.State)
	}
	did(f.engine.Rate(ctx, later, byReporter(2), 3, ""))
	if inc := ok(f.engine.Get(ctx, later)); inc.State != intake.Closed {
		t.Fatalf("a child answering after its parent closed: %s, want closed", inc.State)
	}
	if inc := ok(f.engine.Get(ctx, no)); inc.State != intake.Analysis {
		t.Fatalf("the detached child followed the parent: %s", inc.State)
	}
}

// Agents group and ungroup by hand; what cannot be grouped is refused
// with a reason.
func TestManualGroupAndUngroup(t *testing.T) {
	f := newFixture(t) // no automatic grouping
	f.engine.WithGrouper(f.store)
	ctx := context.Background()
	ok := must(t)
	var ids []string
	for i := range 4 {
		ids = append(ids, ok(f.engine.Register(ctx, vpnReport(i))).ID)
	}
	if err := f.engine.Group(ctx, ids[0], ids[1:3], alice, "same outage"); err != nil {
		t.Fatal(err)
	}
	if p := ok(f.engine.Get(ctx, ids[0])); !slices.Equal(p.Children, ids[1:3]) {
		t.Fatalf("children %v, want %v", p.Children, ids[1:3])
	}
	// Again: nothing changes twice.
	if err := f.engine.Group(ctx, ids[0], ids[1:2], alice, "same outage"); err != nil {
		t.Fatal(err)
	}
	if p := ok(f.engine.Get(ctx, ids[0])); len(p.Children) != 2 {
		t.Fatalf("grouping twice listed a child twice: %v", p.Children)
	}
	for name, tc := range map[string]struct {
		parent string
		child  []string
		by     intake.Actor
		want   error
	}{
		"under itself":         {ids[3], []string{ids[3]}, alice, intake.ErrInvalid},
		"child elsewhere":      {ids[3], []string{ids[1]}, alice, intake.ErrConflict},
		"parent under a child": {ids[1], []string{ids[3]}, alice, intake.ErrConflict},
		"a parent as child":    {ids[3], []string{ids[0]}, alice, intake.ErrConflict},
		"unknown":              {ids[0], []string{"INC-999999"}, alice, intake.ErrNotFound},
		"bad id":               {ids[0], []string{"nope"}, alice, intake.ErrInvalid},
		"none":                 {ids[0], nil, alice, intake.ErrInvalid},
		"a reporter":           {ids[0], []string{ids[3]}, byReporter(3), intake.ErrForbidden},
	} {
		if err := f.engine.Group(ctx, tc.parent, tc.child, tc.by, ""); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if c := ok(f.engine.Get(ctx, ids[3])); c.ParentID != "" {
		t.Fatalf("a refused grouping left a parent: %q", c.ParentID)
	}
	if err := f.engine.Ungroup(ctx, ids[1], alice, "not the same"); err != nil {
		t.Fatal(err)
	}
	c, p := ok(f.engine.Get(ctx, ids[1])), ok(f.engine.Get(ctx, ids[0]))
	if c.ParentID != "" || !slices.Equal(p.Children, ids[2:3]) || !hasHistory(p, "ungrouped", "child: "+ids[1]+" -> –") {
		t.Fatalf("after ungroup: child's parent %q, parent's children %v", c.ParentID, p.Children)
	}
	if err := f.engine.Ungroup(ctx, ids[1], alice, ""); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("ungrouping a lone incident: %v", err)
	}
}

// Grouping by hand tells the watchers (consoles, the Slack triage card)
// about both incidents, as any other change does.
func TestGroupingTellsTheWatchers(t *testing.T) {
	f := newFixture(t)
	f.store.WatchChanges().WithClock(f.clock.Now)
	f.engine.WithGrouper(f.store)
	ctx := context.Background()
	p, c := must(t)(f.engine.Register(ctx, vpnReport(0))), must(t)(f.engine.Register(ctx, vpnReport(1)))
	rec := &recorder{}
	if _, err := f.dispatcher(intake.RouteWatch, rec).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	rec.sent = nil
	if err := f.engine.Group(ctx, p.ID, []string{c.ID}, alice, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.dispatcher(intake.RouteWatch, rec).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	told := map[string]bool{}
	for _, m := range rec.sent {
		told[m.IncidentID] = m.Kind == intake.NoticeChange
	}
	if !told[p.ID] || !told[c.ID] {
		t.Fatalf("change notices after grouping: %+v", rec.sent)
	}
}

// A retried registration (the same source key) decides nothing again:
// the incident keeps the parent it was stored with, and no other outage
// lists it.
func TestRetriedRegistrationKeepsItsGroup(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	ok := must(t)
	p1 := ok(f.engine.Register(ctx, vpnReport(0)))
	r := vpnReport(1)
	r.Key = "<retried@client.test>"
	child := ok(f.engine.Register(ctx, r))
	f.clock.Add(time.Hour)
	p2 := ok(f.engine.Register(ctx, vpnReport(2))) // the old outage ended: a new one
	again := ok(f.engine.Register(ctx, r))
	if again.ID != child.ID || again.ParentID != p1.ID {
		t.Fatalf("retry gave %s under %q, want %s under %s", again.ID, again.ParentID, child.ID, p1.ID)
	}
	if got := ok(f.engine.Get(ctx, p2.ID)); len(got.Children) != 0 || got.ParentID != "" {
		t.Fatalf("the new outage took the retried report: %+v", got.Children)
	}
	if got := ok(f.engine.Get(ctx, p1.ID)); !slices.Equal(got.Children, []string{child.ID}) {
		t.Fatalf("the first outage lists %v", got.Children)
	}
}

// Grouping by hand through WakeGroups wakes the watch route's drain loop:
// the change notices go out at once, with no poll running.
func TestGroupingWakesTheWatchers(t *testing.T) {
	f := newFixture(t)
	f.store.WatchChanges().WithClock(f.clock.Now)
	ctx := context.Background()
	p, c := must(t)(f.engine.Register(ctx, vpnReport(0))), must(t)(f.engine.Register(ctx, vpnReport(1)))
	w := workflow.NewWakeups(nil, quiet())
	f.engine.WithGrouper(workflow.WakeGroups(f.store, w))
	g := newGate()
	close(g.release)
	finished, _, _ := runLoop(t, w, f.dispatcher(intake.RouteWatch, g), intake.RouteWatch)
	eventually(t, "the first drain (registrations)", func() bool { return finished.Load() >= 1 })
	before, _ := g.count()
	if err := f.engine.Group(ctx, p.ID, []string{c.ID}, alice, ""); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the change notices of the grouping delivered", func() bool { m, _ := g.count(); return m >= before+2 })
}

// The store checks the child's state as it writes, whatever the caller
// read before: a case that went to validation meanwhile is not grouped.
func TestStoreGroupsOnlyAChildStillWorked(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ok, did := must(t), done(t)
	parent, child := ok(f.engine.Register(ctx, vpnReport(0))).ID, ok(f.engine.Register(ctx, vpnReport(1))).ID
	did(f.engine.Move(ctx, child, alice, intake.Solution, ""))
	did(f.engine.Move(ctx, child, alice, intake.Validation, ""))
	if err := f.store.Group(ctx, parent, child, "alice", "api", ""); !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("grouping a child in validation: %v, want a conflict", err)
	}
	if c, p := ok(f.engine.Get(ctx, child)), ok(f.engine.Get(ctx, parent)); c.ParentID != "" || len(p.Children) != 0 {
		t.Fatalf("grouped all the same: parent %q, children %v", c.ParentID, p.Children)
	}
}

// A batch whose first number turns out taken (the counter went back, as
// after a failover that lost writes): grouping must not make the
// unrelated incident holding that number an outage parent, nor list the
// batch's reports under it, now or for later reports. (groupMany finds the
// number's incident stored and leaves that report to the one-by-one path;
// the store gives it another number.)
func TestBatchParentWhoseNumberWasTaken(t *testing.T) {
	f := newGroupingFixture(t)
	ctx := context.Background()
	seq := f.prefix + ":{keys}:seq"
	if err := f.rdb.Set(ctx, seq, 4, 0).Err(); err != nil {
		t.Fatal(err)
	}
	other := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelPhone, Subject: "Printer jam",
		Description: "The printer on floor 2 jams.", Reporter: intake.Reporter{Name: "Eve", Email: "eve@example.test"}}))
	if other.ID != "INC-000005" {
		t.Fatalf("the unrelated incident is %s, want INC-000005", other.ID)
	}
	if err := f.rdb.Set(ctx, seq, 4, 0).Err(); err != nil { // the counter goes back
		t.Fatal(err)
	}
	incs, errs := f.engine.RegisterMany(ctx, []intake.Report{vpnReport(0), vpnReport(1), vpnReport(2)})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("report %d: %v", i, err)
		}
		if incs[i].ID == other.ID {
			t.Fatalf("report %d answered with the unrelated %s", i, other.ID)
		}
	}
	if got := must(t)(f.engine.Get(ctx, other.ID)); len(got.Children) != 0 || got.ParentID != "" {
		t.Fatalf("the unrelated %s gained children %v (parent %q)", other.ID, got.Children, got.ParentID)
	}
	for _, inc := range incs[1:] {
		if got := must(t)(f.engine.Get(ctx, inc.ID)); got.ParentID == other.ID {
			t.Errorf("%s is grouped under the unrelated %s", inc.ID, other.ID)
		}
	}
	later := must(t)(f.engine.Register(ctx, vpnReport(3)))
	if later.ParentID == other.ID {
		t.Errorf("a later report joined the unrelated %s", other.ID)
	}
	if got := must(t)(f.engine.Get(ctx, other.ID)); len(got.Children) != 0 {
		t.Errorf("the unrelated %s gained children %v", other.ID, got.Children)
	}
}
