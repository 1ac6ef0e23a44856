package redisstore

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

func (s *Store) outboxKeys(shard string, ch intake.Route) (queue, dead string) {
	return shard + ":outbox:" + string(ch), shard + ":outbox:dead:" + string(ch)
}

func droppedKey(shard string, route intake.Route) string {
	return shard + ":outbox:dropped:" + string(route)
}

// keepDropped is how many dropped questions each shard keeps per channel
// for the outbox listing; older ones are forgotten.
const keepDropped = 200

func messageKey(shard, id string) string { return shard + ":outbox:msg:" + id }

// Claim leases due messages of one channel from every shard, in one
// pipelined round trip.
func (s *Store) Claim(ctx context.Context, channel intake.Route, now time.Time, lease time.Duration, max int) ([]intake.Notice, error) {
	per := max/Shards + 1
	cmds, err := s.runPerShard(ctx, s.scripts.claim, func(shard string) ([]string, []any) {
		q, _ := s.outboxKeys(shard, channel)
		return []string{q}, []any{shard, now.UnixMilli(), lease.Milliseconds(), per}
	})
	if err != nil {
		return nil, fmt.Errorf("claim %s outbox: %w", channel, err)
	}
	var out []intake.Notice
	for i, c := range cmds {
		list, _ := c.Val().([]any)
		for _, raw := range list {
			h := pairs(raw)
			q, err := decodeNotice(messageKey(s.shardN(i), h["id"]), h)
			if err != nil {
				return out, fmt.Errorf("claim %s outbox: %w", channel, err)
			}
			out = append(out, q)
		}
	}
	return out, nil
}

func decodeNotice(key string, h map[string]string) (intake.Notice, error) {
	d := newDecoder(key, h)
	q := intake.Notice{
		ID: d.str("id"), Incident: d.str("incident"), Kind: intake.NoticeKind(d.str("kind")), Route: intake.Route(d.str("channel")),
		Lang: intake.Lang(d.str("lang")), Email: d.str("email"), SlackID: d.str("slack_id"), CreatedAt: d.time("created_at"),
		Attempts: d.int("attempts"), LastError: d.str("last_error"), Round: d.int64("round"), DropReason: d.str("drop_reason"),
		Action: d.int("action"), Alert: intake.Alert(d.str("alert")), Target: d.str("target"),
	}
	return q, d.err
}

func (s *Store) noticeKeys(q intake.Notice) (queue, msg, dead, inc string, err error) {
	shard, inc, err := s.keys(q.Incident)
	if err != nil {
		return "", "", "", "", err
	}
	queue, dead = s.outboxKeys(shard, q.Route)
	return queue, messageKey(shard, q.ID), dead, inc, nil
}

// Delivered removes a message and notes the delivery in the incident's history.
func (s *Store) Delivered(ctx context.Context, q intake.Notice, at time.Time) error {
	queue, msg, _, inc, err := s.noticeKeys(q)
	if err != nil {
		return err
	}
	args := []any{q.ID}
	if q.Kind != intake.NoticeChange {
		// A message to the reporter belongs in the incident's history;
		// change notices go to agents and do not.
		event, note := eventNotified, string(q.Kind)
		if q.Kind == intake.NoticeAgentAlert {
			// The agents, not the reporter, were told; what about.
			event, note = eventAlerted, string(q.Alert)
		}
		args = append(args, at.UTC().Format(time.RFC3339Nano), botActor, event, note, string(q.Route))
	}
	return s.scripts.delivered.Run(ctx, s.rdb, []string{queue, msg, inc + ":history"}, args...).Err()
}

// Failed records a failed attempt and schedules the retry (or the dead letter).
func (s *Store) Failed(ctx context.Context, q intake.Notice, reason string, retryAt time.Time, dead bool) error {
	queue, msg, deadKey, _, err := s.noticeKeys(q)
	if err != nil {
		return err
	}
	flag := "0"
	if dead {
		flag = "1"
	}
	return s.scripts.failed.Run(ctx, s.rdb, []string{queue, msg, deadKey}, q.ID, reason, retryAt.UnixMilli(), flag).Err()
}

// Dropped removes a claimed message without delivering it and keeps it,
// with the reason, among the channel's dropped messages for the listing:
// its question was answered or replaced before its turn came.
func (s *Store) Dropped(ctx context.Context, q intake.Notice, reason string, at time.Time) error {
	queue, msg, _, _, err := s.noticeKeys(q)
	if err != nil {
		return err
	}
	shard, _, _ := s.keys(q.Incident)
	return s.scripts.dropped.Run(ctx, s.rdb, []string{queue, msg, droppedKey(shard, q.Route)}, q.ID, reason,
		at.UnixMilli(), keepDropped, shard).Err()
}

// Postpone makes a claimed message due again at retryAt without counting
// the claim as an attempt: its channel asked us to wait.
func (s *Store) Postpone(ctx context.Context, q intake.Notice, reason string, retryAt time.Time) error {
	queue, msg, deadKey, _, err := s.noticeKeys(q)
	if err != nil {
		return err
	}
	return s.scripts.failed.Run(ctx, s.rdb, []string{queue, msg, deadKey}, q.ID, reason, retryAt.UnixMilli(), "wait").Err()
}

// Outbox lists up to limit messages: waiting or dead, soonest due first,
// then the recently dropped ones, newest first.
// Two pipelined round trips.
func (s *Store) Outbox(ctx context.Context, limit int) ([]intake.Notice, error) {
	type ref struct {
		shard         string
		dead, dropped bool
		cmd           *redis.ZSliceCmd
	}
	var refs []ref
	pipe := s.rdb.Pipeline()
	for i := range Shards {
		shard := s.shardN(i)
		for _, ch := range s.routeList {
			q, d := s.outboxKeys(shard, ch)
			refs = append(refs, ref{shard, false, false, pipe.ZRangeWithScores(ctx, q, 0, int64(limit)-1)})
			refs = append(refs, ref{shard, true, false, pipe.ZRangeWithScores(ctx, d, 0, int64(limit)-1)})
			refs = append(refs, ref{shard, false, true, pipe.ZRevRangeWithScores(ctx, droppedKey(shard, ch), 0, int64(limit)-1)})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("list outbox: %w", err)
	}
	type want struct {
		key   string
		entry intake.Notice
		cmd   *redis.MapStringStringCmd
	}
	var wants []*want
	pipe = s.rdb.Pipeline()
	for _, r := range refs {
		for _, z := range r.cmd.Val() {
			id, _ := z.Member.(string)
			wants = append(wants, &want{
				key:   messageKey(r.shard, id),
				entry: intake.Notice{DueAt: time.UnixMilli(int64(z.Score)).UTC(), Dead: r.dead, Dropped: r.dropped},
				cmd:   pipe.HGetAll(ctx, messageKey(r.shard, id)),
			})
		}
	}
	out := []intake.Notice{}
	if len(wants) == 0 {
		return out, nil
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read outbox records: %w", err)
	}
	for _, w := range wants {
		if len(w.cmd.Val()) == 0 {
			continue // delivered between the two reads
		}
		q, err := decodeNotice(w.key, w.cmd.Val())
		if err != nil {
			return nil, fmt.Errorf("read outbox records: %w", err)
		}
		q.DueAt, q.Dead, q.Dropped = w.entry.DueAt, w.entry.Dead, w.entry.Dropped
		if q.Dropped {
			// Its score is when it was dropped; it will never be due.
			q.DueAt = time.Time{}
			q.DroppedAt = w.entry.DueAt
		}
		out = append(out, q)
	}
	// What may still go out comes first, soonest due first; then what was
	// dropped, most recent first, so that old drops never hide the queue.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Dropped != b.Dropped {
			return !a.Dropped
		}
		if a.Dropped {
			return a.DroppedAt.After(b.DroppedAt)
		}
		return a.DueAt.Before(b.DueAt)
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// OutboxDepth counts the messages waiting and dead per channel, in one
// pipelined round trip (for the metrics).
func (s *Store) OutboxDepth(ctx context.Context) (waiting, dead map[intake.Route]int64, err error) {
	type ref struct {
		ch         intake.Route
		wait, gone *redis.IntCmd
	}
	var refs []ref
	pipe := s.rdb.Pipeline()
	for i := range Shards {
		for _, ch := range s.routeList {
			q, d := s.outboxKeys(s.shardN(i), ch)
			refs = append(refs, ref{ch, pipe.ZCard(ctx, q), pipe.ZCard(ctx, d)})
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("outbox depth: %w", err)
	}
	waiting, dead = map[intake.Route]int64{}, map[intake.Route]int64{}
	for _, r := range refs {
		waiting[r.ch] += r.wait.Val()
		dead[r.ch] += r.gone.Val()
	}
	return waiting, dead, nil
}

func (s *Store) pauseKey(ch intake.Route) string { return s.prefix + ":{caps}:pause:" + string(ch) }

// Pause holds a whole route until then, for every bot: its channel asked
// us to wait (Slack's Retry-After).
func (s *Store) Pause(ctx context.Context, ch intake.Route, until, now time.Time) error {
	wait := until.Sub(now)
	if wait <= 0 {
		return nil
	}
	if err := s.rdb.Set(ctx, s.pauseKey(ch), until.UnixMilli(), wait).Err(); err != nil {
		return fmt.Errorf("pause %s: %w", ch, err)
	}
	return nil
}

// PausedUntil says until when a route is held (zero: it is not).
func (s *Store) PausedUntil(ctx context.Context, ch intake.Route) (time.Time, error) {
	ms, err := s.rdb.Get(ctx, s.pauseKey(ch)).Int64()
	if err == redis.Nil {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("read pause of %s: %w", ch, err)
	}
	return time.UnixMilli(ms), nil
}
