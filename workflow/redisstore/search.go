package redisstore

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
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
//	P:{sNN}:idx:term:T             incidents whose subject, description or a
//	                               comment holds search term T (kb.Terms)
//	P:{sNN}:idx:terms              every term of the shard (score 0, by name):
//	                               the last word of a search as a prefix
//	field "terms" of the incident's hash: its own terms, space-separated,
//	so that a comment adds only new ones and the archive knows which
//	indexes to leave

// maxIncidentTerms bounds the terms one incident adds to the index: a
// pasted log would otherwise add thousands, each a write on every later
// registration's path. Words past the bound are not searchable.
const maxIncidentTerms = 400

// termCacheWords is how many words' stems a store remembers (kb.TermCache):
// a few MB at most.
const termCacheWords = 50_000

func channelIndex(shard string, c intake.Channel) string { return shard + ":idx:channel:" + string(c) }
func unownedIndex(shard string) string                   { return shard + ":idx:unowned" }
func slaIndex(shard, status string) string               { return shard + ":idx:sla:" + status }
func termIndex(shard, term string) string                { return shard + ":idx:term:" + term }
func termDictionary(shard string) string                 { return shard + ":idx:terms" }

// searchArgs is what common.lua's search_index needs to index new terms.
type searchArgs struct {
	Field string   `json:"field"` // the hash's field of the incident's own terms
	Dict  int      `json:"dict"`  // KEYS index of the shard's term dictionary
	Max   int      `json:"max"`
	Terms []string `json:"terms"`
	Keys  []int    `json:"keys"` // KEYS index of each term's index
}

// termsField is the incident hash's field of its own search terms.
const termsField = "terms"

// searchCall adds the keys indexing text's terms, and describes them; nil
// when text has no term.
func (s *Store) searchCall(keys *keyList, shard, text string) *searchArgs {
	terms := s.terms.Terms(text)
	if len(terms) == 0 {
		return nil
	}
	if len(terms) > maxIncidentTerms {
		terms = terms[:maxIncidentTerms]
	}
	a := &searchArgs{Field: termsField, Dict: keys.add(termDictionary(shard)), Max: maxIncidentTerms, Terms: terms}
	for _, t := range terms {
		a.Keys = append(a.Keys, keys.add(termIndex(shard, t)))
	}
	return a
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
		text := []string{h["subject"], h["description"]}
		for _, raw := range comments[j].Val() {
			var c intake.Comment
			if json.Unmarshal([]byte(raw), &c) == nil {
				text = append(text, c.Text)
			}
		}
		a := reindexArgs{Seq: strconv.FormatFloat(z.Score, 'f', -1, 64), ID: id, Closed: string(intake.Closed),
			Search: s.searchCall(&keys, shard, strings.Join(text, "\n"))}
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
