package redisstore

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// The ledger of inbound messages lives under one hash tag, {inbound}, so
// that a claim and its ledger entry are written by one script.
const (
	inboundTTL       = 90 * 24 * time.Hour
	inboundLedgerMax = 200000
)

func (s *Store) inboundClaim(key string) string {
	sum := sha256.Sum256([]byte(key))
	return s.prefix + ":{inbound}:msg:" + hex.EncodeToString(sum[:16])
}

func (s *Store) inboundLog(ch intake.Channel) string {
	return s.prefix + ":{inbound}:log:" + string(ch)
}

// Begin claims an inbound message by its key (Message-ID, or a hash of the
// raw message) before any effect. It returns nil for a first sighting, else
// what the claim holds: the source that first brought it and, once
// recorded, its outcome and incident.
func (s *Store) Begin(ctx context.Context, key, source string, now time.Time) (*intake.InboundRecord, error) {
	res, err := s.scripts.inboundBegin.Run(ctx, s.rdb, []string{s.inboundClaim(key)}, source,
		now.UTC().Format(time.RFC3339Nano), int(inboundTTL.Seconds())).Slice()
	if err != nil {
		return nil, fmt.Errorf("claim inbound message: %w", err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	r, err := recordOf(s.inboundClaim(key), pairs(res))
	if err != nil {
		return nil, fmt.Errorf("claim inbound message: %w", err)
	}
	return &r, nil
}

// Record writes a message's outcome once under key: into its claim and as
// a ledger entry. It reports whether this call wrote it.
func (s *Store) Record(ctx context.Context, key string, r intake.InboundRecord) (bool, error) {
	n, err := s.scripts.inboundRecord.Run(ctx, s.rdb, []string{s.inboundClaim(key), s.inboundLog(r.Channel)}, s.recordArgs(key, r)...).Int()
	if err != nil {
		return false, fmt.Errorf("record inbound outcome: %w", err)
	}
	return n == 1, nil
}

// BeginMany claims several messages in one pipelined round trip; see Begin.
func (s *Store) BeginMany(ctx context.Context, keys, sources []string, now time.Time) ([]*intake.InboundRecord, error) {
	out := make([]*intake.InboundRecord, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	at := now.UTC().Format(time.RFC3339Nano)
	cmds, err := s.pipelineScript(ctx, s.scripts.inboundBegin, len(keys), func(i int) ([]string, []any) {
		return []string{s.inboundClaim(keys[i])}, []any{sources[i], at, int(inboundTTL.Seconds())}
	})
	if err != nil {
		return nil, fmt.Errorf("claim inbound messages: %w", err)
	}
	for i, c := range cmds {
		if err := c.Err(); err != nil && err != redis.Nil {
			return nil, fmt.Errorf("claim inbound message: %w", err)
		}
		if list, _ := c.Val().([]any); len(list) > 0 {
			r, err := recordOf(s.inboundClaim(keys[i]), pairs(list))
			if err != nil {
				return nil, fmt.Errorf("claim inbound message: %w", err)
			}
			out[i] = &r
		}
	}
	return out, nil
}

// RecordMany records several outcomes in one pipelined round trip; see
// Record.
func (s *Store) RecordMany(ctx context.Context, keys []string, rs []intake.InboundRecord) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.pipelineScript(ctx, s.scripts.inboundRecord, len(keys), func(i int) ([]string, []any) {
		return []string{s.inboundClaim(keys[i]), s.inboundLog(rs[i].Channel)}, s.recordArgs(keys[i], rs[i])
	})
	if err != nil {
		return fmt.Errorf("record inbound outcomes: %w", err)
	}
	return nil
}

// pipelineScript runs a script n times in one pipeline, loading it first
// if Redis does not know it yet.
func (s *Store) pipelineScript(ctx context.Context, script *redis.Script, n int, call func(i int) ([]string, []any)) ([]*redis.Cmd, error) {
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		cmds := make([]*redis.Cmd, n)
		for i := range n {
			keys, args := call(i)
			cmds[i] = script.EvalSha(ctx, pipe, keys, args...)
		}
		_, err := pipe.Exec(ctx)
		if errNoScript(err) && attempt == 0 {
			if err := s.loadEverywhere(ctx, script); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil && err != redis.Nil {
			return nil, err
		}
		return cmds, nil
	}
}

// Inbound lists a channel's recorded outcomes, newest first; before is the
// cursor (an entry id) of the previous page's last entry.
func (s *Store) Inbound(ctx context.Context, ch intake.Channel, limit int, before string) ([]intake.InboundRecord, string, error) {
	max := "+"
	if before != "" {
		if !validStreamID(before) {
			return nil, "", fmt.Errorf("%w: bad cursor %q", intake.ErrInvalid, before)
		}
		max = "(" + before
	}
	entries, err := s.rdb.XRevRangeN(ctx, s.inboundLog(ch), max, "-", int64(limit)+1).Result()
	if err != nil && err != redis.Nil {
		return nil, "", fmt.Errorf("list inbound: %w", err)
	}
	next := ""
	if len(entries) > limit {
		entries = entries[:limit]
		next = entries[len(entries)-1].ID
	}
	out := make([]intake.InboundRecord, 0, len(entries))
	for _, e := range entries {
		f := make(map[string]string, len(e.Values))
		for k, v := range e.Values {
			f[k], _ = v.(string)
		}
		r, err := recordOf(s.inboundLog(ch)+", entry "+e.ID, f)
		if err != nil {
			return nil, "", fmt.Errorf("list inbound: %w", err)
		}
		r.ID = e.ID
		out = append(out, r)
	}
	return out, next, nil
}

// Release forgets the claim of a quarantined message, so that the same
// message, put back in the mailbox, is processed anew; its ledger entry
// stays. Messages with any other outcome cannot be released.
func (s *Store) Release(ctx context.Context, key string) error {
	n, err := s.scripts.inboundRelease.Run(ctx, s.rdb, []string{s.inboundClaim(key)}, intake.OutcomeQuarantined).Int()
	switch {
	case err != nil:
		return fmt.Errorf("release inbound message: %w", err)
	case n == -1:
		return fmt.Errorf("%w: no claim for %q", intake.ErrNotFound, key)
	case n == 0:
		return fmt.Errorf("%w: only quarantined messages can be released", intake.ErrConflict)
	}
	return nil
}

func (s *Store) recordArgs(key string, r intake.InboundRecord) []any {
	return []any{
		int(inboundTTL.Seconds()), inboundLedgerMax,
		"outcome", r.Outcome, "key", cmp.Or(r.Key, key), "at", r.At.UTC().Format(time.RFC3339Nano), "channel", string(r.Channel),
		"source", r.Source, "message_id", r.MessageID, "from", r.From, "subject", r.Subject,
		"incident", r.Incident, "step", r.Step, "reason", r.Reason,
	}
}

func recordOf(key string, f map[string]string) (intake.InboundRecord, error) {
	d := newDecoder(key, f)
	r := intake.InboundRecord{
		Key: d.str("key"), At: d.time("at"), Channel: intake.Channel(d.str("channel")), Source: d.str("source"), MessageID: d.str("message_id"),
		From: d.str("from"), Subject: d.str("subject"), Outcome: d.str("outcome"), Incident: d.str("incident"), Step: d.str("step"), Reason: d.str("reason"),
	}
	return r, d.err
}

func validStreamID(id string) bool {
	ms, seq, ok := strings.Cut(id, "-")
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return ok && err1 == nil && err2 == nil
}
