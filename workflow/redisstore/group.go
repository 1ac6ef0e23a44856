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
	Op       string `json:"op"`
	ID       string `json:"id"`
	Version  string `json:"version"`
	NowMs    string `json:"now_ms"`
	WindowMs string `json:"window_ms"`
	Terms    string `json:"terms"`
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
	h := all.Val()
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
	terms := s.terms.ReportTerms(inc.Reporter.Language, inc.Subject+"\n"+inc.Description)
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
				err = s.linkJoined(ctx, parent, id, inc)
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
		err = s.linkJoined(ctx, parent, id, inc)
		var stale *staleOutageError
		if errors.As(err, &stale) {
			// The parent moved on (solved, closed): its outage ended.
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

// linkJoined lists child, a report that joined parent's outage at its
// registration, on the parent's side. Quiet: an outage may gather
// thousands of reports in minutes; a history entry and a change notice
// on the parent for each would make every read of the parent, and so
// every join, cost more than the one before (each child's own history
// tells its grouping). Doing it again changes nothing.
func (s *Store) linkJoined(ctx context.Context, parent, child string, inc *intake.Incident) error {
	return s.linkParent(ctx, parent, child, groupArgs{Actor: registrar(inc), Via: string(inc.Channel), At: inc.RegisteredAt, Quiet: true},
		[]intake.State{intake.Analysis, intake.Solution})
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
	// Quiet: no history entry and no change notice (a report joining an
	// outage at its registration).
	Quiet bool `json:"quiet,omitempty"`
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
	shard, key, err := s.keys(id)
	if err != nil {
		return "", err
	}
	a.AtText = a.At.UTC().Format(time.RFC3339Nano)
	a.ID, a.Shard, a.NowMs = id, shard, strconv.FormatInt(a.At.UnixMilli(), 10)
	keys := keyList{key, key + ":history"}
	if !a.Quiet {
		a.Watch = s.watchArgs(&keys, shard)
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return "", err
	}
	res, err := script.Run(ctx, s.rdb, keys, string(doc)).Text()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", a.Op, id, err)
	}
	if res == "NOTFOUND" {
		return "", fmt.Errorf("%w: incident %s", intake.ErrNotFound, id)
	}
	return res, nil
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
