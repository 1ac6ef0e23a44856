package redisstore

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
)

// The contract with the Lua scripts (see lua/common.lua): each script's
// keys come in KEYS, and the scripts with many arguments (create, apply)
// take one JSON document with named fields, built here and decoded once at
// the script's top. Every name and rule the script applies (event names,
// the bot's actor, which state stamps closed_at, which event bumps a
// counter) comes from here, computed from the workflow's plan; the script
// only picks the outcome for the facts it reads and writes it.

// Names the scripts write, decided here rather than in Lua.
const (
	// botActor is who the history names for the automatic steps of a path
	// (no_solution -> analysis) and for deliveries.
	botActor = "intakebot"
	// repeatsField counts how often an incident's alert fired again.
	repeatsField = "repeats"
	// The history's events that are no workflow event: the registration
	// and a delivery to the reporter.
	eventRegistered = "registered"
	eventNotified   = "notified"
	// eventAlerted is a delivered agent alert; its note names the alert.
	eventAlerted = "alerted"
	// Outage grouping: an incident joined or left a parent (group.go).
	eventGrouped   = "grouped"
	eventUngrouped = "ungrouped"
)

// watchArgs describes the change notice a change queues for the watchers.
type watchArgs struct {
	Kind    string `json:"kind"`
	Channel string `json:"channel"`
	Queue   int    `json:"queue"`         // KEYS index of the route's queue
	Dead    int    `json:"dead"`          // KEYS index of its dead letters
	Msg     int    `json:"msg,omitempty"` // KEYS index of the record (create only: version 1)
}

// keyList collects a call's KEYS and hands out their 1-based indexes.
type keyList []string

func (k *keyList) add(key string) int {
	*k = append(*k, key)
	return len(*k)
}

// watch adds the watch route's keys and describes the notice, or gives nil
// when the store does not watch changes.
func (s *Store) watchArgs(keys *keyList, shard string) *watchArgs {
	if !s.watch {
		return nil
	}
	q, d := s.outboxKeys(shard, intake.RouteWatch)
	return &watchArgs{Kind: string(intake.NoticeChange), Channel: string(intake.RouteWatch), Queue: keys.add(q), Dead: keys.add(d)}
}

type noticeArgs struct {
	Kind string `json:"kind"`
	Msg  int    `json:"msg"` // KEYS index of the message's record
}

type createArgs struct {
	Shard     string       `json:"shard"`
	ID        string       `json:"id"`
	Seq       string       `json:"seq"`
	At        string       `json:"at"`
	NowMs     string       `json:"now_ms"`
	Registrar string       `json:"registrar"`
	Via       string       `json:"via"`
	Event     string       `json:"event"`
	State     string       `json:"state"`
	SourceKey string       `json:"source_key"`
	Fields    []string     `json:"fields"`
	Indexes   []int        `json:"indexes"`
	Notices   []noticeArgs `json:"notices,omitempty"`
	Queue     int          `json:"queue"`
	Channel   string       `json:"channel"`
	Watch     *watchArgs   `json:"watch,omitempty"`
	Alerts    *alertArgs   `json:"alerts,omitempty"`
	Parent    string       `json:"parent,omitempty"`
	Search    *searchArgs  `json:"search,omitempty"` // issue 12: search.go
}

// createCall builds the keys and the argument of create.lua. With search
// the incident's terms are indexed by the same call; CreateMany leaves
// them out and indexes a whole batch's together (indexMany).
func (s *Store) createCall(n int64, key string, inc *intake.Incident, notify []intake.NoticeKind, search bool) ([]string, string, error) {
	id := intake.FormatID(n)
	shard, incKey, _ := s.keys(id)
	keys := keyList{incKey, incKey + ":history", shard + ":idx:all", s.dueKey(shard)}
	a := createArgs{
		Shard: shard, ID: id, Seq: strconv.FormatInt(n, 10), At: inc.RegisteredAt.UTC().Format(time.RFC3339Nano),
		NowMs: strconv.FormatInt(inc.RegisteredAt.UnixMilli(), 10), Registrar: registrar(inc), Via: string(inc.Channel),
		Event: eventRegistered, State: string(inc.State), SourceKey: key, Fields: hashFields(id, n, inc),
		Indexes: []int{}, Parent: inc.ParentID,
	}
	// The reporter index (by a hash of the address, as tombstones keep it)
	// serves the portal's "my incidents"; the address never changes, so it
	// is written once, here, in the shard of the incident.
	for _, ix := range [][2]string{{"state", string(inc.State)}, {"priority", string(inc.Priority)}, {"group", inc.Group}, {"owner", inc.Owner},
		{"reporter", intake.ReporterHash(inc.Reporter.Email)}} {
		if ix[1] != "" {
			a.Indexes = append(a.Indexes, keys.add(shard+":idx:"+ix[0]+":"+ix[1]))
		}
	}
	// The queue's filter and search indexes (issue 12, search.go).
	if inc.Channel != "" {
		a.Indexes = append(a.Indexes, keys.add(channelIndex(shard, inc.Channel)))
	}
	if inc.Owner == "" {
		a.Indexes = append(a.Indexes, keys.add(unownedIndex(shard)))
	}
	if search {
		a.Search = s.searchCall(&keys, shard, n, s.textTerms(reportText(inc)))
	}
	if ch := intake.Route(inc.ReplyChannel()); ch != "" && len(notify) > 0 {
		if !s.routes[ch] {
			return nil, "", fmt.Errorf("store incident %s: no outbox route for channel %q (routes: %s)", id, ch, s.routeNames())
		}
		q, _ := s.outboxKeys(shard, ch)
		a.Queue, a.Channel = keys.add(q), string(ch)
		for _, k := range notify {
			a.Notices = append(a.Notices, noticeArgs{Kind: string(k), Msg: keys.add(messageKey(shard, id+":"+string(k)+":1"))})
		}
	}
	if a.Watch = s.watchArgs(&keys, shard); a.Watch != nil {
		a.Watch.Msg = keys.add(messageKey(shard, id+":"+a.Watch.Kind+":1"))
	}
	a.Alerts = s.alertArgs(&keys, shard, intake.AlertNew)
	doc, err := json.Marshal(a)
	return keys, string(doc), err
}

// applyCall builds the keys and the argument of apply.lua: one JSON
// object with the fields the script's header lists. It is written by hand
// (jsonWriter), not by encoding/json: a transition is the hot path, and
// reflection over maps cost more than the rest of the call (measured with
// scripts/bench-core). For the same reason the plan's per-state entries
// and its outcomes are JSON texts inside the document: the script decodes
// only the entry of the state it finds and the outcome that entry picks,
// not all of them.
func (s *Store) applyCall(id string, ch workflow.Change) ([]string, string, error) {
	shard, inc, err := s.keys(id)
	if err != nil {
		return nil, "", err
	}
	keys := make(keyList, 0, 8+len(ch.Plan.Pick)+len(s.routeList))
	keys = append(keys, inc, inc+":actions", inc+":comments", inc+":surveys", inc+":history", inc+":refs", s.dueKey(shard))
	var w jsonWriter
	w.b = make([]byte, 0, 1024)
	w.open()
	w.str("shard", shard)
	w.str("id", id)
	w.int("now_ms", ch.At.UnixMilli())
	w.str("at", ch.At.UTC().Format(time.RFC3339Nano))
	w.str("actor", ch.Actor)
	w.str("event", string(ch.Event))
	w.str("via", ch.Via)
	w.str("note", ch.Note)
	w.str("owner", ch.Owner)
	w.str("group", ch.Group)
	if ch.Level > 0 {
		w.str("level", strconv.Itoa(ch.Level))
	}
	w.str("category", ch.Category)
	// The index sets the incident may join: the new owner's (the change's,
	// else the actor when the outcome takes ownership) and the new group's.
	if owner := cmp.Or(ch.Owner, ch.Actor); owner != "" {
		w.int("owner_key", int64(keys.add(shard+":idx:owner:"+owner)))
	}
	if ch.Group != "" {
		w.int("group_key", int64(keys.add(shard+":idx:group:"+ch.Group)))
	}
	// The queue's filter indexes (issue 12, search.go): leaving the
	// unowned list when taken, the SLA lists when flagged or closed, and
	// a comment's words becoming searchable.
	w.int("unowned_key", int64(keys.add(unownedIndex(shard))))
	w.int("sla_warning", int64(keys.add(slaIndex(shard, intake.SLAWarning))))
	w.int("sla_breached", int64(keys.add(slaIndex(shard, intake.SLABreached))))
	w.str("closed", string(intake.Closed))
	if st := intake.SLAFlagStatus(ch.Flag); st != intake.SLAOK {
		w.str("sla", st)
	}
	if ch.Comment != nil {
		n, _ := intake.ParseID(id) // parsed by s.keys above
		if sa := s.searchCall(&keys, shard, n, s.textTerms(ch.Comment.Text)); sa != nil {
			doc, err := json.Marshal(sa)
			if err != nil {
				return nil, "", err
			}
			w.key("search")
			w.b = append(append(w.b, doc...), ',')
		}
	}
	for _, v := range []struct {
		name string
		doc  any
	}{{"action", ch.Action}, {"comment", ch.Comment}, {"survey", ch.Survey}} {
		doc, err := jsonOrEmpty(v.doc)
		if err != nil {
			return nil, "", err
		}
		w.str(v.name, doc)
	}
	if ch.Survey != nil && ch.Round > 0 {
		w.str("answer_step", ch.Survey.Step)
		w.int("answer_round", ch.Round)
	}
	if ch.Action != nil && ch.Action.Public {
		// The history tells a note to the reporter from an internal action;
		// the plan's event stays "action" (the same rules apply to both).
		w.str("history_event", intake.HistoryNote)
	}
	w.str("ref", ch.Ref)
	w.str("flag", ch.Flag)
	w.str("known_error", ch.KnownError)
	w.bool("unlink_known_error", ch.UnlinkKnownError)
	w.str("bot", botActor)
	if ch.Event == intake.EventRepeat {
		w.str("count", repeatsField)
	}
	// states: state -> "[KEYS index of its index set, outcome index when
	// the incident has no owner, when the actor owns it, when another does]"
	w.key("states")
	w.open()
	var entry []byte
	for st, pick := range ch.Plan.Pick {
		entry = append(entry[:0], '[')
		entry = strconv.AppendInt(entry, int64(keys.add(shard+":idx:state:"+string(st))), 10)
		for _, rel := range []int{workflow.OwnerNone, workflow.OwnerSelf, workflow.OwnerOther} {
			entry = append(entry, ',')
			entry = strconv.AppendInt(entry, int64(pick[rel]), 10)
		}
		w.str(string(st), string(append(entry, ']')))
	}
	w.close()
	// outcomes: each one {"refused":true} or {path, events, own, reopen,
	// notify, closes (the path ends in closed: stamp closed_at)}.
	w.key("outcomes")
	w.b = append(w.b, '[')
	var o jsonWriter
	for i, out := range ch.Plan.Outcomes {
		o.b = o.b[:0]
		o.open()
		if out.Err != nil {
			o.bool("refused", true)
		} else {
			o.list("path", strs(out.Path))
			o.list("events", strs(out.Events))
			o.bool("own", out.TakeOwnership)
			o.bool("reopen", out.Reopen)
			o.list("notify", strs(out.Notify))
			o.bool("closes", len(out.Path) > 0 && out.Path[len(out.Path)-1] == intake.Closed)
			o.bool("new_round", asksQuestion(out.Path))
		}
		o.close()
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, string(o.b[:len(o.b)-1]))
	}
	w.b = append(w.b, ']', ',')
	// outbox: channel -> KEYS index of its outbox queue.
	w.key("outbox")
	w.open()
	for _, route := range s.routeList {
		if !route.Reporter() {
			continue // change notices and agent alerts never go to a reporter
		}
		q, _ := s.outboxKeys(shard, route)
		w.int(string(route), int64(keys.add(q)))
	}
	w.close()
	if wa := s.watchArgs(&keys, shard); wa != nil {
		w.key("watch")
		w.open()
		w.str("kind", wa.Kind)
		w.str("channel", wa.Channel)
		w.int("queue", int64(wa.Queue))
		w.int("dead", int64(wa.Dead))
		w.close()
	}
	if al := s.alertArgs(&keys, shard, workflow.AlertOf(ch)); al != nil {
		// Rare (one change in many), so encoding/json's cost does not matter.
		doc, err := json.Marshal(al)
		if err != nil {
			return nil, "", err
		}
		w.key("alerts")
		w.b = append(append(w.b, doc...), ',')
	}
	w.close()
	return keys, string(w.b[:len(w.b)-1]), nil
}

// jsonWriter appends a JSON object's members; each ends with a comma,
// which close replaces.
type jsonWriter struct{ b []byte }

func (w *jsonWriter) open() { w.b = append(w.b, '{') }

func (w *jsonWriter) close() {
	if n := len(w.b); n > 0 && w.b[n-1] == ',' {
		w.b = w.b[:n-1]
	}
	w.b = append(w.b, '}', ',')
}

func (w *jsonWriter) key(name string) {
	w.b = appendString(w.b, name)
	w.b = append(w.b, ':')
}

// str writes a string member; an empty one is left out (the script reads
// a missing member as ”).
func (w *jsonWriter) str(name, v string) {
	if v == "" {
		return
	}
	w.key(name)
	w.b = append(appendString(w.b, v), ',')
}

func (w *jsonWriter) int(name string, v int64) {
	w.key(name)
	w.b = append(strconv.AppendInt(w.b, v, 10), ',')
}

// bool writes a true member; false is left out.
func (w *jsonWriter) bool(name string, v bool) {
	if v {
		w.key(name)
		w.b = append(w.b, "true,"...)
	}
}

// list writes a list of strings; an empty one is left out.
func (w *jsonWriter) list(name string, vs []string) {
	if len(vs) == 0 {
		return
	}
	w.key(name)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = appendString(w.b, v)
	}
	w.b = append(w.b, ']', ',')
}

// appendString appends s as a JSON string. Bytes other than the quote,
// the backslash and control characters pass as they are, as they did as
// plain arguments: the script stores them unchanged.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\t':
			b = append(b, '\\', 't')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

func strs[T ~string](list []T) []string {
	if len(list) == 0 {
		return nil
	}
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = string(v)
	}
	return out
}

func (s *Store) routeNames() string {
	names := make([]string, len(s.routeList))
	for i, r := range s.routeList {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// asksQuestion tells whether a path enters a survey step: a new question,
// whose round the script numbers (see intake.Incident.Round).
func asksQuestion(path []intake.State) bool {
	for _, st := range path {
		if string(st) == intake.SurveyValidation || string(st) == intake.SurveySatisfaction {
			return true
		}
	}
	return false
}
