package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/redis/go-redis/v9"
)

// Outage grouping (workflow.Grouping): each CI's open outages live in one
// hash, P:{sNN}:outage:CI, NN chosen by the CI's name. A new report reads
// them, decides in Go (workflow.Grouping.Pick) and writes its decision
// with outage.lua, which refuses a claim made on a stale read: so of any
// number of concurrent alike reports exactly one becomes the parent and
// the others, reading again, join it. The parent and the child live in
// other shards (slots) than the outage hash and than each other, so the
// link is two more idempotent calls: the parent's children first, then
// the child, which for a new report is its own registration (create.lua
// stores parent_id with the incident, so its acknowledgment, written at
// delivery, always knows it is part of an outage).

var (
	//go:embed lua/outage.lua
	luaOutage string
	//go:embed lua/group_parent.lua
	luaGroupParent string
	//go:embed lua/group_child.lua
	luaGroupChild string
)

type groupScripts struct{ outage, parent, child *redis.Script }

func newGroupScripts() groupScripts {
	s := func(body string) *redis.Script { return redis.NewScript(luaCommon + "\n" + body) }
	return groupScripts{outage: redis.NewScript(luaOutage), parent: s(luaGroupParent), child: s(luaGroupChild)}
}

// WithGrouping turns outage grouping on with the policy g, and returns the
// store. Without it no report is grouped at registration (agents may still
// group by hand).
func (s *Store) WithGrouping(g workflow.Grouping) *Store {
	s.grouping = g
	return s
}

// outageKey is the hash of a CI's open outages.
func (s *Store) outageKey(ci string) string {
	h := fnv.New32a()
	h.Write([]byte(ci))
	return s.shardN(int(h.Sum32()%Shards)) + ":outage:" + ci
}

type outageArgs struct {
	Op       string     `json:"op"`
	ID       string     `json:"id"`
	Version  string     `json:"version"`
	NowMs    string     `json:"now_ms"`
	WindowMs string     `json:"window_ms"`
	Terms    string     `json:"terms"`
	Ops      []outageOp `json:"ops,omitempty"` // op batch
}

// outageOp is one report's decision in a batch: claim (it opens outage
// ID) or join (it joins outage ID).
type outageOp struct {
	Op    string `json:"op"`
	ID    string `json:"id"`
	Terms string `json:"terms,omitempty"`
}

func (s *Store) outage(ctx context.Context, ci string, a outageArgs) (string, error) {
	a.WindowMs = strconv.FormatInt(s.grouping.Window.Milliseconds(), 10)
	doc, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	res, err := s.group3.outage.Run(ctx, s.rdb, []string{s.outageKey(ci)}, string(doc)).Text()
	if err != nil {
		return "", fmt.Errorf("outage %s of %s: %w", a.Op, ci, err)
	}
	return res, nil
}

// parseOutages is the open outages at now in a CI's outage hash h, and
// the version of what was read.
func (s *Store) parseOutages(h map[string]string, now time.Time) (version string, open []workflow.Outage) {
	version = h["v"]
	if version == "" {
		version = "0"
	}
	for k, v := range h {
		id, ok := strings.CutPrefix(k, "o:")
		if !ok {
			continue
		}
		kind, terms, _ := strings.Cut(v, " ")
		last, _ := strconv.ParseInt(h["l:"+id], 10, 64)
		o := workflow.Outage{Parent: id, Event: kind == "E", Last: time.UnixMilli(last), Terms: strings.Fields(terms)}
		if s.grouping.Open(o, now) {
			open = append(open, o)
		}
	}
	return version, open
}

// outages reads a CI's open outages and the version of what was read,
// and, in the same round trip, whether incident id is stored already (a
// retry of its registration): then stored is true and parent is the
// parent it was stored with, and nothing must be decided again.
func (s *Store) outages(ctx context.Context, ci, id string, now time.Time) (version string, open []workflow.Outage, stored bool, parent string, err error) {
	_, incKey, err := s.keys(id)
	if err != nil {
		return "", nil, false, "", err
	}
	var all *redis.MapStringStringCmd
	var inc *redis.SliceCmd
	if _, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		all = p.HGetAll(ctx, s.outageKey(ci))
		inc = p.HMGet(ctx, incKey, "id", "parent_id")
		return nil
	}); err != nil {
		return "", nil, false, "", fmt.Errorf("read the outages of %s: %w", ci, err)
	}
	if f := inc.Val(); len(f) == 2 && f[0] != nil {
		parent, _ := f[1].(string)
		return "", nil, true, parent, nil
	}
	version, open = s.parseOutages(all.Val(), now)
	return version, open, false, "", nil
}

// maxGroupRounds bounds how often a report reads the outages again after
// a concurrent change: each round some other report's claim succeeded.
const maxGroupRounds = 200

// group decides, at registration of incident number n, which outage it
// joins: it returns the parent's id, after recording the child on the
// parent's side, or "" (it opened an outage of its own, or takes no part).
// A parent in unstored (numbered in the same batch, stored after the
// decisions: CreateMany) cannot record its child yet: then later is true
// and the caller links them (linkJoined) once both are stored.
func (s *Store) group(ctx context.Context, n int64, inc *intake.Incident, unstored map[string]bool) (parent string, later bool, err error) {
	g := s.grouping
	if !g.Applies(inc) || inc.ParentID != "" {
		return inc.ParentID, false, nil
	}
	id, now := intake.FormatID(n), inc.RegisteredAt
	terms := s.terms.ReportTerms(inc.Reporter.Language, reportText(inc))
	args := outageArgs{ID: id, NowMs: strconv.FormatInt(now.UnixMilli(), 10), Terms: strings.Join(terms, " ")}
	if inc.Channel == intake.ChannelEvent {
		args.Op = "event"
		_, err := s.outage(ctx, inc.CI, args)
		return "", false, err
	}
	for range maxGroupRounds {
		version, open, stored, parent, err := s.outages(ctx, inc.CI, id, now)
		if err != nil {
			return "", false, err
		}
		if stored {
			// A retry of this registration: the parent may not list it
			// yet (a crash between storing it and linkJoined).
			if parent != "" {
				err = s.linkJoined(ctx, parent, id)
				var stale *staleOutageError
				if errors.As(err, &stale) {
					err = nil // the parent moved on meanwhile: nothing to list
				}
			}
			return parent, false, err
		}
		parent = g.Pick(terms, open, now)
		if parent == "" {
			args.Op, args.Version = "claim", version
			res, err := s.outage(ctx, inc.CI, args)
			if err != nil || res == "OK" {
				return "", false, err
			}
			continue // another report changed the outages: decide again
		}
		if parent == id { // a retry of this very registration
			return "", false, nil
		}
		res, err := s.outage(ctx, inc.CI, outageArgs{Op: "join", ID: parent, NowMs: args.NowMs})
		if err != nil {
			return "", false, err
		}
		if res != "OK" {
			continue
		}
		if unstored[parent] {
			return parent, true, nil
		}
		err = s.linkJoined(ctx, parent, id)
		if errors.Is(err, intake.ErrNotFound) && s.awaitIncident(ctx, parent) {
			// Claimed by a report another bot (or batch) was still storing.
			err = s.linkJoined(ctx, parent, id)
		}
		var stale *staleOutageError
		if errors.As(err, &stale) || errors.Is(err, intake.ErrNotFound) {
			// The parent moved on (solved, closed), or never came (its bot
			// stopped between claiming and storing it): its outage ended.
			if _, err := s.outage(ctx, inc.CI, outageArgs{Op: "drop", ID: parent, NowMs: args.NowMs}); err != nil {
				return "", false, err
			}
			continue
		}
		if err != nil {
			return "", false, err
		}
		return parent, false, nil
	}
	return "", false, fmt.Errorf("group %s: the outages of %s kept changing; try again", id, inc.CI)
}

// groupMany decides, as group would for each, which outage the reports
// of a batch join (incs[i] numbered nums[i], 0 when it has none), with one
// read of every CI's outages and one write of each CI's decisions (all or
// none: outage.lua's batch) for the whole batch instead of two or three
// round trips a report. Reports are decided in order, so one may join the
// outage an earlier one of the batch opens. done[i] says report i is
// decided: parents[i] is its parent, already listing it unless later[i]
// (its parent is numbered in this batch, unstored, and the caller lists
// it once stored). Reports not done go through group one by one: events,
// retries, reports whose CI's outages another bot changed meanwhile, and
// children whose parent moved on.
func (s *Store) groupMany(ctx context.Context, nums []int64, incs []*intake.Incident, unstored map[string]bool) (parents []string, later, done []bool, err error) {
	n := len(incs)
	parents, later, done = make([]string, n), make([]bool, n), make([]bool, n)
	byCI := map[string][]int{}
	var cis []string
	for i, inc := range incs {
		switch {
		case nums[i] == 0:
		case !s.grouping.Applies(inc) || inc.ParentID != "":
			parents[i], done[i] = inc.ParentID, true
		case inc.Channel != intake.ChannelEvent:
			if byCI[inc.CI] == nil {
				cis = append(cis, inc.CI)
			}
			byCI[inc.CI] = append(byCI[inc.CI], i)
		}
	}
	if len(cis) == 0 {
		return parents, later, done, nil
	}
	// The reports' analysis is CPU work: on every core, while Redis
	// answers the reads.
	var todo []int
	for _, ci := range cis {
		todo = append(todo, byCI[ci]...)
	}
	terms := make([][]string, n)
	analysed := make(chan struct{})
	go func() {
		defer close(analysed)
		onEveryCore(len(todo), func(k int) {
			i := todo[k]
			terms[i] = s.terms.ReportTerms(incs[i].Reporter.Language, reportText(incs[i]))
		})
	}()
	pipe := s.rdb.Pipeline()
	reads := make([]*redis.MapStringStringCmd, len(cis))
	stored := make([]*redis.IntCmd, n)
	for c, ci := range cis {
		reads[c] = pipe.HGetAll(ctx, s.outageKey(ci))
		for _, i := range byCI[ci] {
			_, key, _ := s.keys(intake.FormatID(nums[i]))
			stored[i] = pipe.Exists(ctx, key)
		}
	}
	_, err = pipe.Exec(ctx)
	<-analysed
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read the outages: %w", err)
	}
	var writes []outageWrite
	for c, ci := range cis {
		w := outageWrite{ci: ci}
		first := incs[byCI[ci][0]].RegisteredAt
		version, open := s.parseOutages(reads[c].Val(), first)
		w.args = outageArgs{Op: "batch", Version: version, NowMs: strconv.FormatInt(first.UnixMilli(), 10)}
		for _, i := range byCI[ci] {
			inc, id := incs[i], intake.FormatID(nums[i])
			if stored[i].Val() == 1 {
				continue // a retry: group knows it
			}
			switch parent := s.grouping.Pick(terms[i], open, inc.RegisteredAt); parent {
			case "":
				w.args.Ops = append(w.args.Ops, outageOp{Op: "claim", ID: id, Terms: strings.Join(terms[i], " ")})
				open = append(open, workflow.Outage{Parent: id, Last: inc.RegisteredAt, Terms: terms[i]})
			case id:
				// A retry whose claim was written: it is the parent.
			default:
				w.args.Ops = append(w.args.Ops, outageOp{Op: "join", ID: parent})
				for k := range open {
					if open[k].Parent == parent {
						open[k].Last = inc.RegisteredAt
					}
				}
				parents[i] = parent
			}
			w.reports = append(w.reports, i)
		}
		if len(w.reports) > 0 {
			writes = append(writes, w)
		}
	}
	if err := s.writeOutages(ctx, writes); err != nil {
		return nil, nil, nil, err
	}
	// The children of parents stored before this batch are listed now, as
	// group does before the child is stored.
	var kids []int
	var ps, cs []string
	for _, w := range writes {
		if !w.ok {
			continue
		}
		for _, i := range w.reports {
			done[i] = true
			if p := parents[i]; p != "" {
				if unstored[p] {
					later[i] = true
				} else {
					kids, ps, cs = append(kids, i), append(ps, p), append(cs, intake.FormatID(nums[i]))
				}
			}
		}
	}
	for k, err := range s.linkJoinedMany(ctx, ps, cs) {
		if err != nil {
			// A parent that moved on: group drops its outage and decides
			// again; another error is the report's, there too.
			done[kids[k]], parents[kids[k]] = false, ""
		}
	}
	return parents, later, done, nil
}

// outageWrite is one CI's decisions in groupMany, and whether they were
// written.
type outageWrite struct {
	ci      string
	args    outageArgs
	reports []int
	ok      bool
}

// writeOutages writes each CI's decisions in one round trip; a CI whose
// outages changed since they were read keeps ok false.
func (s *Store) writeOutages(ctx context.Context, writes []outageWrite) error {
	docs := make([]string, len(writes))
	for k := range writes {
		writes[k].args.WindowMs = strconv.FormatInt(s.grouping.Window.Milliseconds(), 10)
		doc, err := json.Marshal(writes[k].args)
		if err != nil {
			return err
		}
		docs[k] = string(doc)
	}
	cmds, err := s.pipelineEach(ctx, s.group3.outage, len(writes), func(k int) ([]string, []any) {
		return []string{s.outageKey(writes[k].ci)}, []any{docs[k]}
	})
	if err != nil {
		return fmt.Errorf("write the outages: %w", err)
	}
	for k, c := range cmds {
		res, err := c.Text()
		if err != nil {
			return fmt.Errorf("write the outages of %s: %w", writes[k].ci, err)
		}
		writes[k].ok = res == "OK"
	}
	return nil
}

// defaultParentWait is how long a report that joined an outage waits for
// its parent to be stored: the report that claimed it stores it a moment
// later (at the end of its batch, on another bot perhaps).
const defaultParentWait = 2 * time.Second

// awaitIncident waits up to s.parentWait for incident id to be stored, and
// says whether it is.
func (s *Store) awaitIncident(ctx context.Context, id string) bool {
	_, key, err := s.keys(id)
	if err != nil {
		return false
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(s.parentWait)
	for {
		if n, err := s.rdb.Exists(ctx, key).Result(); err != nil || n == 1 {
			return n == 1
		}
		select {
		case <-tick.C:
		case <-deadline:
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// linkJoined lists child, a report that joined parent's outage at its
// registration, on the parent's side (linkJoinedMany).
func (s *Store) linkJoined(ctx context.Context, parent, child string) error {
	return s.linkJoinedMany(ctx, []string{parent}, []string{child})[0]
}

type groupArgs struct {
	Op     string         `json:"op"`
	Other  string         `json:"other"`
	At     time.Time      `json:"-"`
	AtText string         `json:"at"`
	Actor  string         `json:"actor"`
	Via    string         `json:"via"`
	Note   string         `json:"note"`
	States []intake.State `json:"states,omitempty"`
	// Others: the reports that joined the outage at registration (op join).
	Others []string `json:"others,omitempty"`
	// The incident changed and its change notice (consoles, Slack).
	ID    string     `json:"id"`
	Shard string     `json:"shard"`
	NowMs string     `json:"now_ms"`
	Watch *watchArgs `json:"watch,omitempty"`
}

// staleOutageError: the parent no longer takes children (its state, or it
// is a child itself).
type staleOutageError struct{ parent, res string }

func (e *staleOutageError) Error() string {
	if e.res == "NESTED" {
		return fmt.Sprintf("%s is itself grouped under another incident: group under that one", e.parent)
	}
	return fmt.Sprintf("%s no longer takes grouped incidents in its state", e.parent)
}

func (s *Store) runGroup(ctx context.Context, script *redis.Script, id string, a groupArgs) (string, error) {
	keys, doc, err := s.groupCall(id, a)
	if err != nil {
		return "", err
	}
	return groupResult(id, a.Op, script.Run(ctx, s.rdb, keys, doc))
}

// groupCall builds the keys and the argument of group_parent.lua or
// group_child.lua run on incident id.
func (s *Store) groupCall(id string, a groupArgs) ([]string, string, error) {
	shard, key, err := s.keys(id)
	if err != nil {
		return nil, "", err
	}
	a.AtText = a.At.UTC().Format(time.RFC3339Nano)
	a.ID, a.Shard, a.NowMs = id, shard, strconv.FormatInt(a.At.UnixMilli(), 10)
	keys := keyList{key, key + ":history"}
	if a.Op != "join" { // a join changes no version: nothing to tell
		a.Watch = s.watchArgs(&keys, shard)
	}
	doc, err := json.Marshal(a)
	return keys, string(doc), err
}

func groupResult(id, op string, c *redis.Cmd) (string, error) {
	res, err := c.Text()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", op, id, err)
	}
	if res == "NOTFOUND" {
		return "", fmt.Errorf("%w: incident %s", intake.ErrNotFound, id)
	}
	return res, nil
}

// linkJoinedMany lists children (child i joined parents[i]'s outage at
// its registration) on their parents' sides: one call
// per parent, all in one round trip. It returns one error per child (a
// *staleOutageError when its parent moved on). Doing it again changes
// nothing.
func (s *Store) linkJoinedMany(ctx context.Context, parents, children []string) []error {
	errs := make([]error, len(children))
	type call struct {
		parent string
		kids   []int
		keys   []string
		doc    string
	}
	var calls []*call
	byParent := map[string]*call{}
	for i, p := range parents {
		c := byParent[p]
		if c == nil {
			c = &call{parent: p}
			byParent[p] = c
			calls = append(calls, c)
		}
		c.kids = append(c.kids, i)
	}
	var todo []*call
	for _, c := range calls {
		a := groupArgs{Op: "join", States: []intake.State{intake.Analysis, intake.Solution}}
		for _, i := range c.kids {
			a.Others = append(a.Others, children[i])
		}
		var err error
		if c.keys, c.doc, err = s.groupCall(c.parent, a); err != nil {
			for _, i := range c.kids {
				errs[i] = err
			}
			continue
		}
		todo = append(todo, c)
	}
	cmds, err := s.pipelineEach(ctx, s.group3.parent, len(todo), func(k int) ([]string, []any) {
		return todo[k].keys, []any{todo[k].doc}
	})
	if err != nil {
		return fill(errs, err)
	}
	for k, cmd := range cmds {
		c := todo[k]
		res, err := groupResult(c.parent, "join", cmd)
		if err == nil && (res == "STATE" || res == "NESTED") {
			err = &staleOutageError{parent: c.parent, res: res}
		}
		for _, i := range c.kids {
			errs[i] = err
		}
	}
	return errs
}

// linkParent records child among parent's children (states: those the
// parent may take children in).
func (s *Store) linkParent(ctx context.Context, parent, child string, a groupArgs, states []intake.State) error {
	a.Op, a.Other, a.States = "add", child, states
	res, err := s.runGroup(ctx, s.group3.parent, parent, a)
	switch {
	case err != nil:
		return err
	case res == "STATE" || res == "NESTED":
		return &staleOutageError{parent: parent, res: res}
	}
	return nil
}

// Group puts child under parent by hand (an agent): the parent must be
// open (not closed) and no child itself, the child neither grouped
// elsewhere nor a parent. Doing it again changes nothing.
func (s *Store) Group(ctx context.Context, parent, child, actor, via, note string) error {
	if parent == child {
		return fmt.Errorf("%w: an incident cannot be grouped under itself", intake.ErrInvalid)
	}
	a := groupArgs{Actor: actor, Via: via, Note: note, At: s.clock().UTC()}
	// The child first: it refuses when it is grouped elsewhere or has
	// children, before the parent lists it.
	c := a
	c.Op, c.Other = "add", parent
	// Only a case still being worked joins an outage (workflow.Engine
	// says why); checked here again, atomically with the write.
	c.States = []intake.State{intake.Analysis, intake.Solution}
	res, err := s.runGroup(ctx, s.group3.child, child, c)
	if err != nil {
		return err
	}
	switch res {
	case "GROUPED":
		return fmt.Errorf("%w: %s is already grouped under another incident: ungroup it first", intake.ErrConflict, child)
	case "PARENT":
		return fmt.Errorf("%w: %s has grouped incidents of its own", intake.ErrConflict, child)
	case "STATE":
		return fmt.Errorf("%w: %s is no longer in analysis or solution: it cannot be grouped", intake.ErrConflict, child)
	}
	// Not validation: a case there waits for its reporter's answer alone.
	open := []intake.State{intake.Analysis, intake.Solution, intake.Satisfaction, intake.Review}
	if err := s.linkParent(ctx, parent, child, a, open); err != nil {
		// Undo the child's side: it must not point at a parent that
		// does not list it.
		c.Op = "remove"
		if _, uerr := s.runGroup(ctx, s.group3.child, child, c); uerr != nil {
			return errors.Join(err, uerr)
		}
		var stale *staleOutageError
		if errors.As(err, &stale) {
			return fmt.Errorf("%w: %v", intake.ErrConflict, err)
		}
		return err
	}
	return nil
}

// Ungroup takes child out of parent's group: each is an incident of its
// own again. Doing it again changes nothing.
func (s *Store) Ungroup(ctx context.Context, parent, child, actor, via, note string) error {
	a := groupArgs{Op: "remove", Actor: actor, Via: via, Note: note, At: s.clock().UTC()}
	a.Other = child
	if _, err := s.runGroup(ctx, s.group3.parent, parent, a); err != nil && !errors.Is(err, intake.ErrNotFound) {
		return err
	}
	a.Other = parent
	_, err := s.runGroup(ctx, s.group3.child, child, a)
	return err
}

// EndOutage drops an incident's outage from its CI's open outages (its
// parent was solved or closed): later reports start a new one.
func (s *Store) EndOutage(ctx context.Context, ci, parent string) error {
	if ci == "" {
		return nil
	}
	_, err := s.outage(ctx, ci, outageArgs{Op: "drop", ID: parent, NowMs: strconv.FormatInt(s.clock().UnixMilli(), 10)})
	return err
}
