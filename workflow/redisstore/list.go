package redisstore

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// List serves a filtered, newest-first page from the indexes: one pipelined
// round trip asks every shard for its candidates, a second reads them.
func (s *Store) List(ctx context.Context, f intake.ListFilter) (intake.Page, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	max := "+inf"
	if f.Before > 0 {
		max = "(" + strconv.FormatInt(f.Before, 10)
	}
	cmds, err := s.runPerShard(ctx, s.scripts.page, func(shard string) ([]string, []any) {
		return s.indexKeys(shard, f), []any{max, f.Limit + 1}
	})
	if err != nil {
		return intake.Page{}, fmt.Errorf("list incidents: %w", err)
	}
	type hit struct {
		id  string
		seq int64
	}
	var hits []hit
	for i, c := range cmds {
		list, _ := c.Val().([]any)
		for j := 0; j+1 < len(list); j += 2 {
			id, _ := list[j].(string)
			seq, err := strconv.ParseInt(fmt.Sprint(list[j+1]), 10, 64)
			if err != nil {
				return intake.Page{}, fmt.Errorf("list incidents: redis keys %s: member %s has score %v, not an incident number",
					strings.Join(s.indexKeys(s.shardN(i), f), ", "), id, list[j+1])
			}
			hits = append(hits, hit{id, seq})
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

func (s *Store) indexKeys(shard string, f intake.ListFilter) []string {
	var keys []string
	for _, kv := range [][2]string{{"state", f.State}, {"priority", f.Priority}, {"group", f.Group}, {"owner", f.Owner}} {
		if kv[1] != "" {
			keys = append(keys, shard+":idx:"+kv[0]+":"+kv[1])
		}
	}
	if h := intake.ReporterHash(f.Reporter); h != "" {
		keys = append(keys, shard+":idx:reporter:"+h)
	}
	if len(keys) == 0 {
		keys = []string{shard + ":idx:all"}
	}
	return keys
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
