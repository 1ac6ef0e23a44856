package redisstore

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/redis/go-redis/v9"
)

// hit is a page's candidate: an incident and its number.
type hit struct {
	id  string
	seq int64
}

// List serves a filtered, newest-first page from the indexes: one pipelined
// round trip asks every shard for its candidates (page.lua intersects the
// filter's indexes there; rarely a second asks some shards for more), a
// last one reads them. A search whose last word may be a prefix first asks
// each shard's term dictionary which terms it starts (one more round trip).
func (s *Store) List(ctx context.Context, f intake.ListFilter) (intake.Page, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	max := "+inf"
	if f.Before > 0 {
		max = "(" + strconv.FormatInt(f.Before, 10)
	}
	groups := filterGroups(f)
	words := kb.SearchQuery(f.Query)
	prefixes, err := s.prefixTerms(ctx, words)
	if err != nil {
		return intake.Page{}, fmt.Errorf("list incidents: %w", err)
	}
	scratch := rand.Text()
	shardKeys := func(i int, max string, n int) ([]string, []any) {
		shard := s.shardN(i)
		var keys []string
		args := []any{max, n, s.pageBudget, bucketSpan}
		for g, group := range groups {
			for _, suffix := range group {
				keys = append(keys, shard+":"+suffix)
			}
			size := len(group)
			if prefixes != nil && g == len(groups)-1 { // the last word's group
				for _, t := range prefixes[i] {
					keys = append(keys, termIndex(shard, t))
				}
				size += len(prefixes[i])
			}
			// A search's words are the last groups: term indexes.
			args = append(args, size, boolArg(g >= len(groups)-len(words)))
		}
		for g := range len(groups) + 1 {
			keys = append(keys, shard+":tmp:page:"+scratch+":"+strconv.Itoa(g))
		}
		return keys, args
	}
	// ask runs page.lua on shards, each from its max, for n candidates.
	ask := func(shards []int, max []string, n int) ([][]hit, error) {
		cmds, err := s.pipelineScript(ctx, s.scripts.page, len(shards), func(k int) ([]string, []any) {
			return shardKeys(shards[k], max[k], n)
		})
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out := make([][]hit, len(shards))
		for k, c := range cmds {
			list, _ := c.Val().([]any)
			for j := 0; j+1 < len(list); j += 2 {
				id, _ := list[j].(string)
				seq, err := strconv.ParseInt(fmt.Sprint(list[j+1]), 10, 64)
				if err != nil {
					return nil, fmt.Errorf("list incidents: redis keys %s: member %s has score %v, not an incident number",
						strings.Join(keysOf(shardKeys(shards[k], max[k], n)), ", "), id, list[j+1])
				}
				out[k] = append(out[k], hit{id, seq})
			}
		}
		return out, nil
	}
	// Incidents are numbered round the shards, so a page's matches are
	// spread over them: each shard is asked first for its share and a
	// little more. A shard that gave all it was asked and whose last
	// candidate is still newer than the page's last may hold more of the
	// page: those shards alone are asked again, for a whole page (so the
	// result is exact, never a guess). Mostly one round.
	want := f.Limit + 1
	first := min(want, 2*((want+Shards-1)/Shards)+2)
	all := make([]int, Shards)
	from := make([]string, Shards)
	for i := range all {
		all[i], from[i] = i, max
	}
	perShard, err := ask(all, from, first)
	if err != nil {
		return intake.Page{}, err
	}
	var hits []hit
	for _, h := range perShard {
		hits = append(hits, h...)
	}
	if first < want {
		sort.Slice(hits, func(i, j int) bool { return hits[i].seq > hits[j].seq })
		var again []int
		var againFrom []string
		for i, h := range perShard {
			if len(h) == first && (len(hits) < want || h[len(h)-1].seq > hits[want-1].seq) {
				again, againFrom = append(again, i), append(againFrom, "("+strconv.FormatInt(h[len(h)-1].seq, 10))
			}
		}
		if len(again) > 0 {
			more, err := ask(again, againFrom, want)
			if err != nil {
				return intake.Page{}, err
			}
			for _, h := range more {
				hits = append(hits, h...)
			}
		}
	}
	sort.Slice(hits, func(i, j int) bool { return hits[i].seq > hits[j].seq })
	var page intake.Page
	if len(hits) > f.Limit {
		hits = hits[:f.Limit]
		page.Next = hits[len(hits)-1].seq
	}
	pipe := s.rdb.Pipeline()
	reads := make([]*redis.MapStringStringCmd, len(hits))
	keys := make([]string, len(hits))
	for i, h := range hits {
		_, keys[i], _ = s.keys(h.id)
		reads[i] = pipe.HGetAll(ctx, keys[i])
	}
	if len(hits) > 0 {
		if _, err := pipe.Exec(ctx); err != nil {
			return intake.Page{}, fmt.Errorf("read listed incidents: %w", err)
		}
	}
	page.Incidents = make([]*intake.Incident, 0, len(hits))
	for i, r := range reads {
		if len(r.Val()) > 0 {
			inc, err := hashToIncident(newDecoder(keys[i], r.Val()))
			if err != nil {
				return intake.Page{}, fmt.Errorf("read listed incidents: %w", err)
			}
			page.Incidents = append(page.Incidents, inc)
		}
	}
	return page, nil
}

// defaultPageBudget is how many candidates page.lua reads per shard
// walking the smallest index before it lets Redis intersect the sets
// instead: about a millisecond of the script's time.
const defaultPageBudget = 400

// maxPrefixTerms bounds the terms the last word of a search stands for as
// a prefix, per shard.
const maxPrefixTerms = 32

// filterGroups is the filter as groups of index keys (after the shard's
// prefix): an incident matches when it is in a set of every group. A
// search's words come last, each a group of its stems.
func filterGroups(f intake.ListFilter) [][]string {
	var groups [][]string
	for _, kv := range [][2]string{{"state", f.State}, {"priority", f.Priority}, {"group", f.Group}, {"owner", f.Owner},
		{"channel", f.Channel}, {"sla", f.SLA}} {
		if kv[1] != "" {
			groups = append(groups, []string{"idx:" + kv[0] + ":" + kv[1]})
		}
	}
	if h := intake.ReporterHash(f.Reporter); h != "" {
		groups = append(groups, []string{"idx:reporter:" + h})
	}
	if f.Unassigned {
		groups = append(groups, []string{"idx:unowned"})
	}
	for _, w := range kb.SearchQuery(f.Query) {
		var g []string
		for _, t := range w.Terms {
			g = append(g, "idx:tb:"+t) // termIndex
		}
		groups = append(groups, g)
	}
	if len(groups) == 0 {
		groups = [][]string{{"idx:all"}}
	}
	return groups
}

// prefixTerms is, for each shard, the terms the last word of a search
// starts (besides its own stems), or nil when there is no search or its
// last word is too short to stand for a prefix.
func (s *Store) prefixTerms(ctx context.Context, words []kb.QueryWord) ([][]string, error) {
	if len(words) == 0 {
		return nil, nil
	}
	last := words[len(words)-1]
	if utf8.RuneCountInString(last.Prefix) < 3 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringSliceCmd, Shards)
	for i := range Shards {
		cmds[i] = pipe.ZRangeByLex(ctx, termDictionary(s.shardN(i)), &redis.ZRangeBy{
			Min: "[" + last.Prefix, Max: "[" + last.Prefix + "\xff", Count: maxPrefixTerms})
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("search terms starting %q: %w", last.Prefix, err)
	}
	out := make([][]string, Shards)
	for i, c := range cmds {
		for _, t := range c.Val() {
			if !slices.Contains(last.Terms, t) {
				out[i] = append(out[i], t)
			}
		}
	}
	return out, nil
}

// runPerShard runs a script once per shard in one pipeline.
func (s *Store) runPerShard(ctx context.Context, script *redis.Script, call func(shard string) ([]string, []any)) ([]*redis.Cmd, error) {
	return s.pipelineScript(ctx, script, Shards, func(i int) ([]string, []any) { return call(s.shardN(i)) })
}

// loadEverywhere loads a script on every node: on a cluster each master
// must know it before a pipelined EVALSHA reaches it.
func (s *Store) loadEverywhere(ctx context.Context, script *redis.Script) error {
	if c, ok := s.rdb.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return script.Load(ctx, n).Err()
		})
	}
	return script.Load(ctx, s.rdb).Err()
}

func keysOf(keys []string, _ []any) []string { return keys }

// boolArg is a script's argument for b: 1 or 0.
func boolArg(b bool) int {
	if b {
		return 1
	}
	return 0
}
