package imapwatch

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The scripts compare the lease's owner token before they touch anything,
// so that only the owner renews or releases a lease and a bot that lost its
// lease cannot move the checkpoint.
const (
	// KEYS[1] lease; ARGV owner, ttl ms.
	renewScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`

	// KEYS[1] lease; ARGV owner.
	releaseScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

	// KEYS[1] lease, KEYS[2] checkpoint; ARGV owner, uidvalidity, uid, at.
	// Under the same UIDVALIDITY the UID only grows; another UIDVALIDITY
	// replaces the checkpoint.
	checkpointScript = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
local v = redis.call('HGET', KEYS[2], 'uidvalidity')
local u = tonumber(redis.call('HGET', KEYS[2], 'uid') or '0')
if v == ARGV[2] and u > tonumber(ARGV[3]) then
  return 1
end
redis.call('HSET', KEYS[2], 'uidvalidity', ARGV[2], 'uid', ARGV[3], 'at', ARGV[4])
return 1`
)

// RedisState keeps leases and checkpoints in Redis. A mailbox's keys share
// the hash tag {mbox:NAME}, so the scripts work on Redis Cluster:
//
//	PREFIX:{mbox:NAME}:lease        string: the owner token, with a TTL
//	PREFIX:{mbox:NAME}:checkpoint   hash: uidvalidity, uid, at (RFC 3339)
type RedisState struct {
	rdb                         redis.UniversalClient
	prefix                      string
	renew, release, checkpoints *redis.Script
}

// NewRedisState returns a State on rdb whose keys start with prefix.
func NewRedisState(rdb redis.UniversalClient, prefix string) *RedisState {
	return &RedisState{
		rdb: rdb, prefix: prefix,
		renew:       redis.NewScript(renewScript),
		release:     redis.NewScript(releaseScript),
		checkpoints: redis.NewScript(checkpointScript),
	}
}

func (s *RedisState) key(mailbox, what string) string {
	return s.prefix + ":{mbox:" + mailbox + "}:" + what
}

// AcquireLease takes the lease with SET NX PX; when it is taken already it
// succeeds only if owner holds it (and then renews it), so a watcher that
// reconnects gets its own lease back.
func (s *RedisState) AcquireLease(ctx context.Context, mailbox, owner string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.key(mailbox, "lease"), owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", mailbox, err)
	}
	if ok {
		return true, nil
	}
	return s.RenewLease(ctx, mailbox, owner, ttl)
}

// RenewLease extends the lease to ttl from now if owner holds it.
func (s *RedisState) RenewLease(ctx context.Context, mailbox, owner string, ttl time.Duration) (bool, error) {
	n, err := s.renew.Run(ctx, s.rdb, []string{s.key(mailbox, "lease")}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew lease %s: %w", mailbox, err)
	}
	return n == 1, nil
}

// ReleaseLease deletes the lease if owner holds it.
func (s *RedisState) ReleaseLease(ctx context.Context, mailbox, owner string) error {
	if err := s.release.Run(ctx, s.rdb, []string{s.key(mailbox, "lease")}, owner).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", mailbox, err)
	}
	return nil
}

// LoadCheckpoint returns the mailbox's checkpoint, zero when there is none.
func (s *RedisState) LoadCheckpoint(ctx context.Context, mailbox string) (Checkpoint, error) {
	h, err := s.rdb.HGetAll(ctx, s.key(mailbox, "checkpoint")).Result()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("load checkpoint %s: %w", mailbox, err)
	}
	if len(h) == 0 {
		return Checkpoint{}, nil
	}
	v, err1 := strconv.ParseUint(h["uidvalidity"], 10, 32)
	u, err2 := strconv.ParseUint(h["uid"], 10, 32)
	at, err3 := time.Parse(time.RFC3339Nano, h["at"])
	if err := errors.Join(err1, err2, err3); err != nil {
		return Checkpoint{}, fmt.Errorf("load checkpoint %s: %w", mailbox, err)
	}
	return Checkpoint{UIDValidity: uint32(v), UID: uint32(u), At: at}, nil
}

// SaveCheckpoint stores cp if owner holds the mailbox's lease, else it
// returns ErrLeaseLost.
func (s *RedisState) SaveCheckpoint(ctx context.Context, mailbox, owner string, cp Checkpoint) error {
	keys := []string{s.key(mailbox, "lease"), s.key(mailbox, "checkpoint")}
	n, err := s.checkpoints.Run(ctx, s.rdb, keys, owner, cp.UIDValidity, cp.UID, cp.At.UTC().Format(time.RFC3339Nano)).Int()
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", mailbox, err)
	}
	if n == 0 {
		return ErrLeaseLost
	}
	return nil
}
