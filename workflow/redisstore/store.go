// Package redisstore keeps incidents, their indexes and the outbox in Redis.
//
// Key schema (P is the configured prefix, NN the shard, 00-15):
//
//	P:{keys}:seq                        incident counter (INCR)
//	P:{sNN}:inc:INC-000123              hash: the incident's fields
//	P:{sNN}:inc:INC-000123:actions      list of JSON actions
//	P:{sNN}:inc:INC-000123:comments     list of JSON comments
//	P:{sNN}:inc:INC-000123:surveys      list of JSON survey results
//	P:{sNN}:inc:INC-000123:history      list of JSON [at, actor, event, from, to, note, via, detail]
//	                                    (a stream of those fields for incidents stored before)
//	P:{sNN}:inc:INC-000123:refs         hash: source message id -> the event it applied
//	P:{sNN}:inc:INC-000123:people       set of addresses on its mails (participants)
//	P:{sNN}:inc:INC-000123:attachments  list of JSON attachment descriptions
//	P:{sNN}:inc:INC-000123:att:N        content of attachment N (up to the limit)
//	P:{sNN}:idx:all                     zset id -> number, and idx:state:S,
//	P:{sNN}:idx:priority:P, idx:group:G, idx:owner:O likewise
//	P:{sNN}:idx:channel:C, idx:unowned, idx:sla:S, idx:tb:T[:B], idx:terms
//	                                the queue's filter and search indexes (search.go)
//	P:{sNN}:outbox:CHANNEL              zset message id -> due time (ms)
//	P:{sNN}:outbox:dead:CHANNEL         zset of messages that ran out of attempts
//	P:{sNN}:outbox:dropped:CHANNEL      zset of questions dropped as stale (score: when)
//	P:{sNN}:outbox:msg:ID               hash: one queued message (id, incident, kind,
//	                                    channel, lang, email, slack_id, attempts, round, ...)
//	P:{sNN}:archived:B                  hash: archived id -> tombstone, bucket B (archive.go)
//	P:{archive}:lock, P:{archive}:pending   an archive run's lock and marker
//	P:{agents}:byname, P:{agents}:bytoken   agents and hashes of their tokens
//	P:{agents}:lastused, P:{agents}:passwords  last use (ms), Argon2id hashes
//	P:{keys}:report:HASH                incident number of a report's source key
//	P:{mail}:thread:MESSAGE-ID          incident a mail belongs to
//	P:{inbound}:msg:HASH                claim and outcome of one inbound message
//	P:{inbound}:log:CHANNEL             stream: the ledger of inbound outcomes
//	P:{caps}:to:CHANNEL:RECIPIENT:SLOT  messages sent to one recipient in a window
//	P:{caps}:inc:INC-000123:SLOT        messages sent about one incident in a window
//	P:{slack}:...                       the Slack channel's state (slack.go)
//	P:{mbox:NAME}:lease, :checkpoint    the IMAP watcher's state (mailbox.go)
//
// An incident lives in shard number%16. Everything one change touches (the
// incident, its indexes and its outbox messages) shares the shard's hash tag,
// so each change is one atomic Lua call on a single Redis and on Redis
// Cluster alike; lists merge the 16 shards.
package redisstore

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
	"github.com/redis/go-redis/v9"
)

// Shards is the number of hash-tag shards incidents are spread over. It is
// part of the key schema: changing it needs a migration.
const Shards = 16

// bucketSpan is how many incident numbers one bucket spans, where a large
// collection is cut in buckets (a search term's index, the tombstones):
// incidents are numbered round the shards, so a shard's bucket holds at
// most 128 of them and stays a listpack (Redis's default
// zset-max-listpack-entries and hash-max-listpack-entries), a few times
// smaller than a skiplist or hash table entry. Part of the key schema.
const bucketSpan = Shards * 128

var (
	//go:embed lua/common.lua
	luaCommon string
	//go:embed lua/create.lua
	luaCreate string
	//go:embed lua/index_terms.lua
	luaIndexTerms string
	//go:embed lua/apply.lua
	luaApply string
	//go:embed lua/get.lua
	luaGet string
	//go:embed lua/page.lua
	luaPage string
	//go:embed lua/claim.lua
	luaClaim string
	//go:embed lua/delivered.lua
	luaDelivered string
	//go:embed lua/failed.lua
	luaFailed string
	//go:embed lua/dropped.lua
	luaDropped string
	//go:embed lua/add_agent.lua
	luaAddAgent string
	//go:embed lua/remember_mail.lua
	luaRememberMail string
	//go:embed lua/allocate.lua
	luaAllocate string
	//go:embed lua/inbound_begin.lua
	luaInboundBegin string
	//go:embed lua/inbound_record.lua
	luaInboundRecord string
	//go:embed lua/inbound_release.lua
	luaInboundRelease string
	//go:embed lua/allow.lua
	luaAllow string
	//go:embed lua/due_claim.lua
	luaDueClaim string
	//go:embed lua/due_done.lua
	luaDueDone string
	//go:embed lua/add_attachments.lua
	luaAddAttachments string
)

// Store is the Redis implementation of workflow.Store and workflow.Queue.
type Store struct {
	rdb     redis.UniversalClient
	prefix  string
	scripts scripts
	agents  agentScripts
	now     func() time.Time // see WithClock
	watch   bool
	// routes are the channels with an outbox queue, as the caller
	// registered them (New, WatchChanges).
	routes    map[intake.Route]bool
	routeList []intake.Route
	// alerts are the listeners of agent alerts (AlertAgents).
	alerts []AlertTarget
	// grouping is the outage-grouping policy (WithGrouping); group3 its scripts.
	grouping workflow.Grouping
	group3   groupScripts
	// pageBudget: see defaultPageBudget (tests lower it).
	pageBudget int
	// parentWait: see defaultParentWait (tests lower it).
	parentWait time.Duration
	// terms gives the search terms of a text (search.go).
	terms *kb.TermCache
}

type scripts struct {
	create, indexTerms, apply, get, page, claim, delivered, failed, dropped, addAgent, rememberMail *redis.Script
	allocate                                                                                        *redis.Script
	inboundBegin, inboundRecord, inboundRelease, allow, addAttachments                              *redis.Script
	dueClaim, dueDone                                                                               *redis.Script
	leaseRenew, leaseRelease, checkpointSave, unlock                                                *redis.Script
	keLink                                                                                          *redis.Script
}

// New returns a store using keys under prefix, with an outbox queue for
// each of routes: the channels that deliver notices to reporters. A notice
// for a reporter whose channel has no route is an error, not a message
// queued where no one reads it.
func New(rdb redis.UniversalClient, prefix string, routes ...intake.Route) *Store {
	s := func(body string) *redis.Script { return redis.NewScript(luaCommon + "\n" + body) }
	st := &Store{rdb: rdb, prefix: prefix, routes: map[intake.Route]bool{}, pageBudget: defaultPageBudget, parentWait: defaultParentWait, terms: kb.NewTermCache(termCacheWords), agents: newAgentScripts(), group3: newGroupScripts(), scripts: scripts{
		create: s(luaCreate), indexTerms: redis.NewScript(luaIndexTerms), apply: s(luaApply), get: s(luaGet), page: s(luaPage),
		claim: redis.NewScript(luaClaim), delivered: s(luaDelivered), failed: redis.NewScript(luaFailed),
		dropped:  redis.NewScript(luaDropped),
		addAgent: redis.NewScript(luaAddAgent), rememberMail: redis.NewScript(luaRememberMail), allocate: redis.NewScript(luaAllocate),
		inboundBegin: redis.NewScript(luaInboundBegin), inboundRecord: redis.NewScript(luaInboundRecord),
		inboundRelease: redis.NewScript(luaInboundRelease),
		allow:          redis.NewScript(luaAllow), addAttachments: redis.NewScript(luaAddAttachments),
		dueClaim: redis.NewScript(luaDueClaim), dueDone: redis.NewScript(luaDueDone),
		leaseRenew: redis.NewScript(luaLeaseRenew), leaseRelease: redis.NewScript(luaLeaseRelease),
		checkpointSave: redis.NewScript(luaCheckpointSave), unlock: redis.NewScript(luaUnlock),
		keLink: redis.NewScript(luaKELink),
	}}
	for _, r := range routes {
		st.addRoute(r)
	}
	return st
}

func (s *Store) addRoute(r intake.Route) {
	if !s.routes[r] {
		s.routes[r] = true
		s.routeList = append(s.routeList, r)
	}
}

// WatchChanges makes every change of an incident queue a change notice on
// the intake.RouteWatch route (for the Slack triage channel and
// prompts), and returns the store.
func (s *Store) WatchChanges() *Store {
	s.watch = true
	s.addRoute(intake.RouteWatch)
	return s
}

// Ping reports whether Redis answers.
func (s *Store) Ping(ctx context.Context) error { return s.rdb.Ping(ctx).Err() }

func (s *Store) shard(n int64) string { return fmt.Sprintf("%s:{s%02d}", s.prefix, n%Shards) }

func (s *Store) shardN(i int) string { return fmt.Sprintf("%s:{s%02d}", s.prefix, i) }

func (s *Store) keys(id string) (shard, inc string, err error) {
	n, err := intake.ParseID(id)
	if err != nil {
		return "", "", err
	}
	shard = s.shard(n)
	return shard, shard + ":inc:" + id, nil
}

// Create allocates the next id and stores the incident, its indexes, its
// first history entry and its notices in one atomic call (two round trips:
// INCR, then the script).
func (s *Store) Create(ctx context.Context, key string, inc *intake.Incident, notify []intake.NoticeKind) (*intake.Incident, error) {
	return s.createFrom(ctx, key, inc, notify, 0)
}

// allocateKeys are the keys of allocate.lua for a report's key.
func (s *Store) allocateKeys(key string) []string {
	keys := []string{s.seqKey()}
	if key != "" {
		// The key keeps the number of its first registration; a retry
		// after a crash anywhere below finds it and creates (or finds) the
		// same incident.
		keys = append(keys, s.keyClaim(key))
	}
	return keys
}

// maxCreateAttempts bounds the numbers tried for one incident.
const maxCreateAttempts = 5

// createFrom is Create from its given attempt on (CreateMany comes here
// after its own first attempt found the number taken).
func (s *Store) createFrom(ctx context.Context, key string, inc *intake.Incident, notify []intake.NoticeKind, first int) (*intake.Incident, error) {
	keys := s.allocateKeys(key)
	// A number can be taken only if the counter went back (a failover that
	// lost writes, a restore): then the next one is tried, a few times.
	for attempt := first; attempt < maxCreateAttempts; attempt++ {
		move := "0"
		if attempt > 0 {
			move = "1"
		}
		n, err := s.scripts.allocate.Run(ctx, s.rdb, keys, int(keyClaimTTL.Seconds()), move).Int64()
		if err != nil {
			return nil, fmt.Errorf("allocate incident id: %w", err)
		}
		grouped := *inc
		if grouped.ParentID, _, err = s.group(ctx, n, inc, nil); err != nil {
			return nil, err
		}
		stored, err := s.create(ctx, n, key, &grouped, notify)
		if !errors.Is(err, errTaken) {
			return stored, err
		}
	}
	return nil, fmt.Errorf("allocate incident id: the numbers the counter gives are taken; is %s behind?", s.seqKey())
}

// Migrate brings an older key schema up to date; serve calls it at start.
// The queue's indexes are built once for the incidents stored before
// them (reindex: a read of every incident, at start, never at query time).
// The counter moved from P:seq to P:{keys}:seq: without carrying its value
// over, every new report would hit numbers already taken. Two commands, as
// the keys live in different slots; SET NX makes a race harmless.
func (s *Store) Migrate(ctx context.Context) error {
	// The queue's filter and search indexes (search.go) for the incidents
	// stored before them, and term indexes of the former layout moved into
	// buckets: once each.
	if err := s.bucketTerms(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if err := s.reindex(ctx); err != nil {
		return fmt.Errorf("migrate: build the queue's indexes: %w", err)
	}
	// The reporter index came later: see indexReporters.
	old, err := s.rdb.Get(ctx, s.prefix+":seq").Result()
	if err == redis.Nil {
		return s.indexReporters(ctx)
	}
	if err != nil {
		return fmt.Errorf("migrate counter: %w", err)
	}
	if err := s.rdb.SetNX(ctx, s.seqKey(), old, 0).Err(); err != nil {
		return fmt.Errorf("migrate counter: %w", err)
	}
	return s.indexReporters(ctx)
}

// indexReporters adds the incidents stored before the reporter index
// existed to it, once (a marker records that it ran). Each ZADD is
// idempotent, so two bots starting together do no harm.
func (s *Store) indexReporters(ctx context.Context) error {
	marker := s.prefix + ":{keys}:migrated:reporter_index"
	if n, err := s.rdb.Exists(ctx, marker).Result(); err != nil || n == 1 {
		return err
	}
	for i := range Shards {
		shard := s.shardN(i)
		ids, err := s.rdb.ZRangeWithScores(ctx, shard+":idx:all", 0, -1).Result()
		if err != nil {
			return fmt.Errorf("index reporters: %w", err)
		}
		pipe := s.rdb.Pipeline()
		emails := make([]*redis.StringCmd, len(ids))
		for j, z := range ids {
			emails[j] = pipe.HGet(ctx, shard+":inc:"+z.Member.(string), "email")
		}
		if len(ids) > 0 {
			if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
				return fmt.Errorf("index reporters: %w", err)
			}
		}
		add := s.rdb.Pipeline()
		for j, z := range ids {
			if h := intake.ReporterHash(emails[j].Val()); h != "" {
				add.ZAdd(ctx, shard+":idx:reporter:"+h, z)
			}
		}
		if add.Len() > 0 {
			if _, err := add.Exec(ctx); err != nil {
				return fmt.Errorf("index reporters: %w", err)
			}
		}
	}
	return s.rdb.Set(ctx, marker, "1", 0).Err()
}

// seqKey is the incident counter. It shares the {keys} hash tag with the
// report keys' claims, so one script can read a claim and count.
func (s *Store) seqKey() string { return s.prefix + ":{keys}:seq" }

var errTaken = errors.New("incident number taken")

// keyClaimTTL is how long a report key is remembered: far longer than any
// redelivery of the same message.
const keyClaimTTL = 90 * 24 * time.Hour

func (s *Store) keyClaim(key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.prefix + ":{keys}:report:" + hex.EncodeToString(sum[:16])
}

func (s *Store) create(ctx context.Context, n int64, key string, inc *intake.Incident, notify []intake.NoticeKind) (*intake.Incident, error) {
	id := intake.FormatID(n)
	keys, args, err := s.createCall(n, key, inc, notify, true)
	if err != nil {
		return nil, err
	}
	res, err := s.scripts.create.Run(ctx, s.rdb, keys, args).Text()
	if err != nil {
		return nil, fmt.Errorf("store incident %s: %w", id, err)
	}
	switch res {
	case "EXISTS":
		return s.Get(ctx, id)
	case "TAKEN":
		return nil, errTaken
	}
	return storedAs(id, inc), nil
}

// storedAs is what create.lua stored for inc under id: building it here
// saves reading it back.
func storedAs(id string, inc *intake.Incident) *intake.Incident {
	stored := *inc
	stored.ID, stored.Version = id, 1
	stored.EnteredAt = map[intake.State]time.Time{inc.State: inc.RegisteredAt}
	stored.Actions, stored.Comments, stored.Surveys = []intake.Action{}, []intake.Comment{}, []intake.SurveyResult{}
	stored.Attachments = []intake.Attachment{}
	stored.History = []intake.HistoryEntry{{At: inc.RegisteredAt, Actor: registrar(inc), Event: eventRegistered, To: inc.State, Via: string(inc.Channel)}}
	if inc.ParentID != "" {
		stored.History = append(stored.History, intake.HistoryEntry{At: inc.RegisteredAt, Actor: registrar(inc), Event: eventGrouped,
			Via: string(inc.Channel), Detail: "parent:  -> " + inc.ParentID})
	}
	return &stored
}

// registrar is who the history names as registering the incident.
func registrar(inc *intake.Incident) string {
	if inc.RegisteredBy != "" {
		return inc.RegisteredBy
	}
	if inc.Reporter.Name != "" {
		return inc.Reporter.Name
	}
	return inc.Reporter.Email
}

func hashFields(id string, n int64, inc *intake.Incident) []string {
	t := func(v time.Time) string { return v.UTC().Format(time.RFC3339Nano) }
	return []string{
		"id", id, "seq", strconv.FormatInt(n, 10), "ver", "1",
		"channel", string(inc.Channel), "reporter_name", inc.Reporter.Name, "email", inc.Reporter.Email,
		"slack_id", inc.Reporter.SlackID, "lang", string(inc.Reporter.Language), "reply_via", string(inc.ReplyChannel()),
		"subject", inc.Subject, "description", inc.Description, "ci", inc.CI, "category", inc.Category,
		"impact", string(inc.Impact), "urgency", string(inc.Urgency), "priority", string(inc.Priority),
		"group", inc.Group, "level", strconv.Itoa(inc.Level), "owner", inc.Owner, "state", string(inc.State),
		"reported_at", t(inc.ReportedAt), "registered_at", t(inc.RegisteredAt), "updated_at", t(inc.RegisteredAt),
		"entered_" + string(inc.State), t(inc.RegisteredAt),
		"reopen_count", "0", "related_id", inc.RelatedID, "registered_by", inc.RegisteredBy,
		"mail_ids", strings.Join(inc.MailIDs, " "), "mailbox", inc.Mailbox, "conversation", inc.Conversation,
		"suggestions", suggestionsField(inc.Suggestions),
		"parent_id", inc.ParentID,
	}
}

// Apply applies a change in one round trip: the script reads the facts,
// picks the plan's outcome and writes everything, or nothing.
func (s *Store) Apply(ctx context.Context, id string, ch workflow.Change) (workflow.Applied, error) {
	keys, args, err := s.applyCall(id, ch)
	if err != nil {
		return workflow.Applied{}, err
	}
	res, err := s.scripts.apply.Run(ctx, s.rdb, keys, args).Slice()
	if err != nil {
		return workflow.Applied{}, fmt.Errorf("apply %s to %s: %w", ch.Event, id, err)
	}
	switch {
	case len(res) == 2 && res[0] == "REFUSED":
		i, ok := res[1].(int64)
		if !ok || int(i) >= len(ch.Plan.Outcomes) || ch.Plan.Outcomes[i].Err == nil {
			return workflow.Applied{}, fmt.Errorf("apply %s to %s: unexpected refusal %v", ch.Event, id, res)
		}
		return workflow.Applied{}, ch.Plan.Outcomes[i].Err
	case len(res) == 2 && res[0] == "REPLACED":
		open, _ := strconv.ParseInt(fmt.Sprint(res[1]), 10, 64)
		return workflow.Applied{}, workflow.Replaced(ch.Survey.Step, ch.Round, open)
	case len(res) == 2 && res[0] == "NOROUTE":
		return workflow.Applied{}, fmt.Errorf("apply %s to %s: no outbox route for the reporter's channel %v (routes: %s)", ch.Event, id, res[1], s.routeNames())
	case len(res) == 2 && (res[0] == "OK" || res[0] == "DUP"):
		d := newDecoder(s.incKey(id), pairs(res[1]))
		out := workflow.Applied{
			Changed:   intake.Changed{ID: id, State: intake.State(d.str("state")), Owner: d.str("owner"), Version: d.int64("ver")},
			Duplicate: res[0] == "DUP",
		}
		if d.str("asked") != "" {
			// A survey answer: when the step it answers was entered.
			out.Asked, out.AskedStep = d.time("asked"), intake.State(d.str("step"))
		}
		return out, d.err
	}
	if err := s.archived(ctx, id, res); err != nil {
		return workflow.Applied{}, err
	}
	return workflow.Applied{}, replyError(id, res)
}

// archived turns a script's NOTFOUND for an archived incident into an
// intake.ArchivedError that says where it went (archive.go); nil otherwise.
func (s *Store) archived(ctx context.Context, id string, res []any) error {
	if len(res) != 1 || res[0] != "NOTFOUND" {
		return nil
	}
	t, err := s.Tombstone(ctx, id)
	if err != nil || t == nil {
		return err
	}
	return &intake.ArchivedError{Tombstone: *t}
}

// jsonOrEmpty encodes a change's action, comment or survey, or gives ""
// for a nil one (the script then adds nothing).
func jsonOrEmpty(v any) (string, error) {
	switch x := v.(type) {
	case *intake.Action:
		if x == nil {
			return "", nil
		}
	case *intake.Comment:
		if x == nil {
			return "", nil
		}
	case *intake.SurveyResult:
		if x == nil {
			return "", nil
		}
	}
	raw, err := json.Marshal(v)
	return string(raw), err
}

// Get reads an incident whole in one round trip.
func (s *Store) Get(ctx context.Context, id string) (*intake.Incident, error) {
	_, key, err := s.keys(id)
	if err != nil {
		return nil, err
	}
	keys := []string{key, key + ":actions", key + ":comments", key + ":surveys", key + ":history", key + ":attachments"}
	res, err := s.scripts.get.Run(ctx, s.rdb, keys).Slice()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", id, err)
	}
	if err := s.archived(ctx, id, res); err != nil {
		return nil, err
	}
	return decodeResult(key, id, res)
}

// incKey is the key of an incident's hash (for errors: the id was parsed
// before).
func (s *Store) incKey(id string) string {
	_, key, _ := s.keys(id)
	return key
}

func decodeResult(key, id string, res []any) (*intake.Incident, error) {
	if len(res) != 2 || res[0] != "OK" {
		return nil, replyError(id, res)
	}
	parts, ok := res[1].([]any)
	if !ok || len(parts) != 6 {
		return nil, fmt.Errorf("malformed snapshot of %s", id)
	}
	return decodeSnapshot(key, parts)
}

// replyError explains a script reply that is not a success.
func replyError(id string, res []any) error {
	if len(res) == 1 && res[0] == "NOTFOUND" {
		return fmt.Errorf("%w: incident %s", intake.ErrNotFound, id)
	}
	return fmt.Errorf("unexpected reply for %s: %v", id, res)
}

func decodeSnapshot(key string, parts []any) (*intake.Incident, error) {
	inc, err := hashToIncident(newDecoder(key, pairs(parts[0])))
	if err != nil {
		return nil, err
	}
	for _, l := range []struct {
		key string
		raw any
		out func(string) error
	}{
		{key + ":actions", parts[1], appendJSON(&inc.Actions)},
		{key + ":comments", parts[2], appendJSON(&inc.Comments)},
		{key + ":surveys", parts[3], appendJSON(&inc.Surveys)},
		{key + ":attachments", parts[5], appendJSON(&inc.Attachments)},
	} {
		list, _ := l.raw.([]any)
		for i, item := range list {
			s, _ := item.(string)
			if err := l.out(s); err != nil {
				return nil, fmt.Errorf("redis key %s, entry %d: %q is not valid JSON: %w", l.key, i, intake.Clip(s, 80), err)
			}
		}
	}
	entries, _ := parts[4].([]any)
	inc.History = make([]intake.HistoryEntry, 0, len(entries))
	for i, e := range entries {
		h, err := decodeHistoryEntry(key+":history", i, e)
		if err != nil {
			return nil, err
		}
		inc.History = append(inc.History, h)
	}
	return inc, nil
}

// historyFields is the order of a history entry's fields in its JSON array.
var historyFields = [...]string{"at", "actor", "event", "from", "to", "note", "via", "detail"}

// decodeHistoryEntry decodes entry i of an incident's history (key): a
// JSON array (common.lua's history), or an entry of the stream that
// incidents stored before keep ({id, {field, value, ...}}).
func decodeHistoryEntry(key string, i int, e any) (intake.HistoryEntry, error) {
	var d *decoder
	switch e := e.(type) {
	case string:
		var values []string
		if err := json.Unmarshal([]byte(e), &values); err != nil || len(values) != len(historyFields) {
			return intake.HistoryEntry{}, fmt.Errorf("redis key %s, entry %d: %q is not a history entry (a JSON array of %d strings)",
				key, i, intake.Clip(e, 80), len(historyFields))
		}
		fields := make(map[string]string, len(values))
		for j, v := range values {
			fields[historyFields[j]] = v
		}
		d = newDecoder(fmt.Sprintf("%s, entry %d", key, i), fields)
	case []any:
		if len(e) != 2 {
			return intake.HistoryEntry{}, fmt.Errorf("redis key %s: malformed stream entry %v", key, e)
		}
		entryID, _ := e[0].(string)
		d = newDecoder(key+", entry "+entryID, pairs(e[1]))
	default:
		return intake.HistoryEntry{}, fmt.Errorf("redis key %s: malformed history entry %v", key, e)
	}
	h := intake.HistoryEntry{
		At: d.time("at"), Actor: d.str("actor"), Event: d.str("event"), From: intake.State(d.str("from")),
		To: intake.State(d.str("to")), Note: d.str("note"), Via: d.str("via"), Detail: d.str("detail"),
	}
	return h, d.err
}

func hashToIncident(d *decoder) (*intake.Incident, error) {
	inc := &intake.Incident{
		ID: d.str("id"), Channel: intake.Channel(d.str("channel")),
		Reporter: intake.Reporter{Name: d.str("reporter_name"), Email: d.str("email"), SlackID: d.str("slack_id"), Language: intake.Lang(d.str("lang"))},
		Subject:  d.str("subject"), Description: d.str("description"), CI: d.str("ci"), Category: d.str("category"),
		Impact: intake.Level(d.str("impact")), Urgency: intake.Level(d.str("urgency")), Priority: intake.Priority(d.str("priority")),
		Group: d.str("group"), Owner: d.str("owner"), State: intake.State(d.str("state")), RelatedID: d.str("related_id"), KnownError: d.str("known_error"), RegisteredBy: d.str("registered_by"),
		ReportedAt: d.time("reported_at"), RegisteredAt: d.time("registered_at"),
		EnteredAt: map[intake.State]time.Time{},
		Actions:   []intake.Action{}, Comments: []intake.Comment{}, Surveys: []intake.SurveyResult{}, History: []intake.HistoryEntry{},
		Attachments: []intake.Attachment{},
		Level:       d.int("level"), ReopenCount: d.int("reopen_count"), Version: d.int64("ver"), Repeats: d.int("repeats"),
		MailIDs: strings.Fields(d.str("mail_ids")), Mailbox: d.str("mailbox"), Conversation: d.str("conversation"),
		ParentID: d.str("parent_id"), Children: strings.Fields(d.str("children")),
	}
	inc.Round = d.int64("round")
	if doc := d.str("suggestions"); doc != "" {
		var err error
		if inc.Suggestions, err = decodeSuggestions(doc); err != nil {
			d.fail("suggestions", "a JSON list of suggestions", err)
		}
	}
	if d.str("closed_at") != "" {
		t := d.time("closed_at")
		inc.ClosedAt = &t
	}
	for k := range d.h {
		if st, ok := strings.CutPrefix(k, "entered_"); ok {
			inc.EnteredAt[intake.State(st)] = d.time(k)
		}
		if flag, ok := strings.CutPrefix(k, "flag_"); ok {
			if inc.Flags == nil {
				inc.Flags = map[string]time.Time{}
			}
			inc.Flags[flag] = d.time(k)
		}
	}
	return inc, d.err
}

func pairs(v any) map[string]string {
	list, _ := v.([]any)
	m := make(map[string]string, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		k, _ := list[i].(string)
		val, _ := list[i+1].(string)
		m[k] = val
	}
	return m
}

// appendJSON gives a function that decodes one JSON list entry onto out.
func appendJSON[T any](out *[]T) func(string) error {
	return func(s string) error {
		var x T
		if err := json.Unmarshal([]byte(s), &x); err != nil {
			return err
		}
		*out = append(*out, x)
		return nil
	}
}

// errNoScript tells whether a pipelined EVALSHA found its script missing.
func errNoScript(err error) bool {
	return err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT")
}
