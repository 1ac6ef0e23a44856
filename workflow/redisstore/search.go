package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// The queue's filter and search indexes (issue 12), kept at write time by
// the scripts that register, apply and archive, so that a filtered page or
// a search reads only index entries, never every incident. Each is a
// sorted set id -> incident number under the shard's hash tag, like
// idx:state:S, so one page's keys all sit in one slot:
//
//	P:{sNN}:idx:channel:C          incidents reported through channel C
//	P:{sNN}:idx:unowned            incidents no agent owns
//	P:{sNN}:idx:sla:warning        open incidents whose worst SLA status is warning
//	P:{sNN}:idx:sla:breached       open incidents with a missed SLA target
//	P:{sNN}:idx:tb:T:B             bucket B of the incidents whose subject,
//	                               description or a comment holds search
//	                               term T (kb.Terms): numbers B*bucketSpan
//	                               up to the next bucket's
//	P:{sNN}:idx:tb:T               the buckets of term T that hold any
//	                               (member and score: B)
//	P:{sNN}:idx:terms              every term of the shard (score 0, by name):
//	                               the last word of a search as a prefix
//
// A term's index is cut in buckets (issue 11) because a common word is in
// thousands of incidents: one sorted set of them is a skiplist at ~120
// bytes an entry, the search index's largest cost; a bucket holds at most
// 128 of a shard's incidents, so it stays a listpack (Redis's default
// zset-max-listpack-entries) at ~16 bytes an entry. page.lua walks the
// buckets newest first. Indexes of the former layout, one sorted set
// P:{sNN}:idx:term:T, are moved into buckets once by Migrate
// (bucketTerms).
//
// The incident's hash does not keep its own terms (a few hundred bytes of
// every incident), and the analyzer is deterministic, so the archive
// recomputes them (incidentTerms) from the text it has read anyway. A
// comment adds all of its terms: ZADD of a member already there with the
// same score (the incident's number) changes nothing. Incidents stored
// before kept them in a hash field "terms", which the archive still reads
// (archive_remove.lua).

// maxTextTerms bounds the terms one text (a report's subject and
// description, or one comment) adds to the index: a pasted log would
// otherwise add thousands, each a write on every later registration's
// path. Words past the bound are not searchable.
const maxTextTerms = 400

// termCacheWords is how many words' stems a store remembers (kb.TermCache):
// a few MB at most.
const termCacheWords = 50_000

func channelIndex(shard string, c intake.Channel) string { return shard + ":idx:channel:" + string(c) }
func unownedIndex(shard string) string                   { return shard + ":idx:unowned" }
func slaIndex(shard, status string) string               { return shard + ":idx:sla:" + status }
func termDictionary(shard string) string                 { return shard + ":idx:terms" }

// termIndex is the set of term's buckets (see above); termBucket the
// bucket of term's index that holds incident number n.
func termIndex(shard, term string) string { return shard + ":idx:tb:" + term }
func termBucket(shard, term string, n int64) string {
	return termIndex(shard, term) + ":" + strconv.FormatInt(n/bucketSpan, 10)
}

// searchArgs is what common.lua's search_index needs to index terms.
type searchArgs struct {
	Dict    int      `json:"dict"` // KEYS index of the shard's term dictionary
	Terms   []string `json:"terms"`
	Keys    []int    `json:"keys"`    // KEYS index of each term's bucket of the incident
	Buckets []int    `json:"buckets"` // KEYS index of each term's set of buckets
	Bucket  int64    `json:"bucket"`  // the bucket's number
}

// reportText is the text of a new incident that the index holds: its
// subject and description.
func reportText(inc *intake.Incident) string { return inc.Subject + "\n" + inc.Description }

// reportTerms works out the terms of incs on every core (stemming is a
// registration's main CPU work) and returns them by index.
func (s *Store) reportTerms(incs []*intake.Incident) [][]string {
	out := make([][]string, len(incs))
	onEveryCore(len(incs), func(i int) { out[i] = s.textTerms(reportText(incs[i])) })
	return out
}

// onEveryCore runs f(0), ..., f(n-1) on GOMAXPROCS goroutines and waits.
func onEveryCore(n int, f func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				f(i)
			}
		})
	}
	wg.Wait()
}

// termGroup is one term bucket's share of an index_terms.lua call.
type termGroup struct {
	Key     int      `json:"key"`     // KEYS index of the bucket
	List    int      `json:"list"`    // KEYS index of the term's set of buckets
	Bucket  int64    `json:"bucket"`  // the bucket's number
	Members []string `json:"members"` // seq, id, seq, id, ...
}

// indexMany adds the search terms of new incidents (number numbers[i] has
// the terms terms[i]) to the index: one index_terms.lua call per shard,
// one ZADD per term bucket, which a batch of alike reports shares. A
// bucket holds at most 128 of a shard's incidents (bucketSpan), so a
// group's members stay far below what Lua's unpack takes. It returns one
// error per incident.
func (s *Store) indexMany(ctx context.Context, numbers []int64, terms [][]string) []error {
	errs := make([]error, len(numbers))
	type call struct {
		keys   keyList
		terms  []string
		seen   map[string]bool
		group  map[string]int // bucket key → index in groups
		groups []termGroup
		incs   []int
	}
	calls := map[string]*call{}
	var shards []string
	for i, n := range numbers {
		shard := s.shard(n)
		c := calls[shard]
		if c == nil {
			c = &call{keys: keyList{termDictionary(shard)}, seen: map[string]bool{}, group: map[string]int{}}
			calls[shard], shards = c, append(shards, shard)
		}
		c.incs = append(c.incs, i)
		seq, id := strconv.FormatInt(n, 10), intake.FormatID(n)
		for _, t := range terms[i] {
			if !c.seen[t] {
				c.seen[t], c.terms = true, append(c.terms, t)
			}
			key := termBucket(shard, t, n)
			g, ok := c.group[key]
			if !ok {
				g = len(c.groups)
				c.group[key] = g
				c.groups = append(c.groups, termGroup{Key: c.keys.add(key), List: c.keys.add(termIndex(shard, t)), Bucket: n / bucketSpan})
			}
			c.groups[g].Members = append(c.groups[g].Members, seq, id)
		}
	}
	args := make([]string, len(shards))
	for k, shard := range shards {
		c := calls[shard]
		doc, err := json.Marshal(struct {
			Terms  []string    `json:"terms"`
			Groups []termGroup `json:"groups"`
		}{c.terms, c.groups})
		if err != nil {
			return fill(errs, err)
		}
		args[k] = string(doc)
	}
	cmds, err := s.pipelineEach(ctx, s.scripts.indexTerms, len(shards), func(k int) ([]string, []any) {
		return calls[shards[k]].keys, []any{args[k]}
	})
	if err != nil {
		return fill(errs, err)
	}
	for k, shard := range shards {
		if err := cmds[k].Err(); err != nil {
			for _, i := range calls[shard].incs {
				errs[i] = err
			}
		}
	}
	return errs
}

// textTerms is the terms one text adds to the index, at most maxTextTerms.
func (s *Store) textTerms(text string) []string {
	terms := s.terms.Terms(text)
	if len(terms) > maxTextTerms {
		terms = terms[:maxTextTerms]
	}
	return terms
}

// incidentTerms is every term an incident's texts added to the index, each
// once: its subject and description (one text), then each comment. The
// archive removes the incident from these terms' indexes.
func (s *Store) incidentTerms(subject, description string, comments []string) []string {
	seen := map[string]bool{}
	var out []string
	add := func(text string) {
		for _, t := range s.textTerms(text) {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	add(subject + "\n" + description)
	for _, c := range comments {
		add(c)
	}
	return out
}

// searchCall adds the keys indexing terms for incident number n, and
// describes them; nil when there is no term.
func (s *Store) searchCall(keys *keyList, shard string, n int64, terms []string) *searchArgs {
	if len(terms) == 0 {
		return nil
	}
	a := &searchArgs{Dict: keys.add(termDictionary(shard)), Terms: terms, Bucket: n / bucketSpan}
	for _, t := range terms {
		a.Keys = append(a.Keys, keys.add(termBucket(shard, t, n)))
		a.Buckets = append(a.Buckets, keys.add(termIndex(shard, t)))
	}
	return a
}

//go:embed lua/term_buckets.lua
var luaTermBuckets string

// bucketedKey marks the term indexes of the former layout (one sorted set
// per term) as moved into buckets.
func (s *Store) bucketedKey() string { return s.prefix + ":{keys}:migrated:term-buckets" }

// bucketTerms moves each term index of the former layout into buckets,
// once (Migrate). Each term moves atomically (term_buckets.lua) and a
// term already moved has nothing left to move, so a crash, a second run
// or two bots at once change nothing more.
func (s *Store) bucketTerms(ctx context.Context) error {
	if n, err := s.rdb.Exists(ctx, s.bucketedKey()).Result(); err != nil || n == 1 {
		return err
	}
	script := redis.NewScript(luaTermBuckets)
	for i := range Shards {
		shard := s.shardN(i)
		terms, err := s.rdb.ZRange(ctx, termDictionary(shard), 0, -1).Result()
		if err != nil {
			return fmt.Errorf("move term indexes of %s into buckets: %w", shard, err)
		}
		for start := 0; start < len(terms); start += reindexBatch {
			batch := terms[start:min(start+reindexBatch, len(terms))]
			cmds, err := s.pipelineEach(ctx, script, len(batch), func(k int) ([]string, []any) {
				return []string{shard + ":idx:term:" + batch[k], termIndex(shard, batch[k])}, []any{bucketSpan}
			})
			if err != nil {
				return fmt.Errorf("move term indexes of %s into buckets: %w", shard, err)
			}
			for k, c := range cmds {
				if err := c.Err(); err != nil {
					return fmt.Errorf("move term index %s into buckets: %w", batch[k], err)
				}
			}
		}
	}
	return s.rdb.Set(ctx, s.bucketedKey(), "1", 0).Err()
}

//go:embed lua/reindex.lua
var luaReindex string

// reindexedKey marks the indexes above as built for the incidents stored
// before them; Migrate builds them once.
func (s *Store) reindexedKey() string { return s.prefix + ":{keys}:migrated:queue-indexes" }

// reindexBatch is how many incidents one round of the reindex reads.
const reindexBatch = 500

// reindexArgs is reindex.lua's argument.
type reindexArgs struct {
	Seq    string      `json:"seq"`
	ID     string      `json:"id"`
	Closed string      `json:"closed"`
	SLA    string      `json:"sla"`
	Search *searchArgs `json:"search,omitempty"`
}

// reindex adds the incidents stored before the queue's filter and search
// indexes existed to them, once (Migrate): it walks each shard's idx:all
// in batches, reads each incident's fields and comments, and indexes it
// atomically (reindex.lua). Running it twice, or on two bots at once,
// changes nothing more.
func (s *Store) reindex(ctx context.Context) error {
	if n, err := s.rdb.Exists(ctx, s.reindexedKey()).Result(); err != nil || n == 1 {
		return err
	}
	script := redis.NewScript(luaCommon + "\n" + luaReindex)
	for i := range Shards {
		shard := s.shardN(i)
		for from := "+inf"; ; {
			ids, err := s.rdb.ZRevRangeByScoreWithScores(ctx, shard+":idx:all", &redis.ZRangeBy{Max: from, Min: "-inf", Count: reindexBatch}).Result()
			if err != nil {
				return fmt.Errorf("reindex %s: %w", shard, err)
			}
			if len(ids) == 0 {
				break
			}
			if err := s.reindexBatch(ctx, script, shard, ids); err != nil {
				return err
			}
			from = "(" + strconv.FormatFloat(ids[len(ids)-1].Score, 'f', -1, 64)
		}
	}
	return s.rdb.Set(ctx, s.reindexedKey(), "1", 0).Err()
}

func (s *Store) reindexBatch(ctx context.Context, script *redis.Script, shard string, ids []redis.Z) error {
	pipe := s.rdb.Pipeline()
	fields := make([]*redis.MapStringStringCmd, len(ids))
	comments := make([]*redis.StringSliceCmd, len(ids))
	for j, z := range ids {
		key := shard + ":inc:" + fmt.Sprint(z.Member)
		fields[j] = pipe.HGetAll(ctx, key)
		comments[j] = pipe.LRange(ctx, key+":comments", 0, -1)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return fmt.Errorf("reindex %s: %w", shard, err)
	}
	type call struct {
		keys []string
		arg  string
	}
	var calls []call
	for j, z := range ids {
		h := fields[j].Val()
		if len(h) == 0 {
			continue // archived meanwhile
		}
		id := fmt.Sprint(z.Member)
		inc := shard + ":inc:" + id
		keys := keyList{inc, unownedIndex(shard), slaIndex(shard, intake.SLAWarning), slaIndex(shard, intake.SLABreached), inc}
		if c := h["channel"]; c != "" {
			keys[4] = channelIndex(shard, intake.Channel(c))
		}
		var texts []string
		for _, raw := range comments[j].Val() {
			var c intake.Comment
			if json.Unmarshal([]byte(raw), &c) == nil {
				texts = append(texts, c.Text)
			}
		}
		// The same terms the archive will recompute (incidentTerms).
		a := reindexArgs{Seq: strconv.FormatFloat(z.Score, 'f', -1, 64), ID: id, Closed: string(intake.Closed),
			Search: s.searchCall(&keys, shard, int64(z.Score), s.incidentTerms(h["subject"], h["description"], texts))}
		flags := &intake.Incident{Flags: map[string]time.Time{}}
		for k := range h {
			if flag, ok := strings.CutPrefix(k, "flag_"); ok {
				flags.Flags[flag] = time.Time{}
			}
		}
		if st := flags.SLAStatus(); st != intake.SLAOK {
			a.SLA = st
		}
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		calls = append(calls, call{keys, string(doc)})
	}
	cmds, err := s.pipelineEach(ctx, script, len(calls), func(k int) ([]string, []any) { return calls[k].keys, []any{calls[k].arg} })
	if err != nil {
		return fmt.Errorf("reindex %s: %w", shard, err)
	}
	for k, c := range cmds {
		if err := c.Err(); err != nil {
			return fmt.Errorf("reindex %s: redis keys %s: %w", shard, calls[k].keys[0], err)
		}
	}
	return nil
}
