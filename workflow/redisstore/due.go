package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/intakebot/intakebot/workflow"
)

// Each shard keeps P:{sNN}:due, a sorted set of incident ids by the time
// the timers must look at them next. Every change sets an incident due at
// once; the timers then file it under its next deadline, or drop it.

func (s *Store) dueKey(shard string) string { return shard + ":due" }

// ClaimDue leases up to max incidents that are due at now, from every
// shard in one pipelined round trip.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, lease time.Duration, max int) ([]workflow.DueClaim, error) {
	per := max/Shards + 1
	cmds, err := s.runPerShard(ctx, s.scripts.dueClaim, func(shard string) ([]string, []any) {
		return []string{s.dueKey(shard)}, []any{now.UnixMilli(), lease.Milliseconds(), per}
	})
	if err != nil {
		return nil, fmt.Errorf("claim due incidents: %w", err)
	}
	var out []workflow.DueClaim
	for i, c := range cmds {
		list, _ := c.Val().([]any)
		for j := 0; j+1 < len(list); j += 2 {
			id, _ := list[j].(string)
			score, _ := list[j+1].(string)
			ms, err := strconv.ParseInt(score, 10, 64)
			if err != nil {
				return out, fmt.Errorf("claim due incidents: redis key %s, member %s: claim score %q is not an integer", s.dueKey(s.shardN(i)), id, score)
			}
			out = append(out, workflow.DueClaim{ID: id, Lease: ms})
		}
	}
	return out, nil
}

// DueDone files a claimed incident under its next deadline (none: it is
// dropped), unless it changed since the claim.
func (s *Store) DueDone(ctx context.Context, c workflow.DueClaim, next time.Time) error {
	shard, _, err := s.keys(c.ID)
	if err != nil {
		return err
	}
	at := ""
	if !next.IsZero() {
		at = strconv.FormatInt(next.UnixMilli(), 10)
	}
	if err := s.scripts.dueDone.Run(ctx, s.rdb, []string{s.dueKey(shard)}, c.ID, c.Lease, at).Err(); err != nil {
		return fmt.Errorf("file %s under its next deadline: %w", c.ID, err)
	}
	return nil
}
