package webui

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter counts failed sign-ins per key (an account, a client address) in
// Redis, so that every bot sees the same count: after Max failures within
// Window the key is refused until the window ends.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	Max    int
	Window time.Duration
}

// NewLimiter returns a limiter with keys under prefix.
func NewLimiter(rdb redis.UniversalClient, prefix string, max int, window time.Duration) *Limiter {
	return &Limiter{rdb: rdb, prefix: prefix, Max: max, Window: window}
}

func (l *Limiter) key(k string) string { return l.prefix + ":{web}:fails:" + k }

// Blocked tells whether any of keys reached Max failures in its window.
func (l *Limiter) Blocked(ctx context.Context, keys ...string) (bool, error) {
	pipe := l.rdb.Pipeline()
	gets := make([]*redis.StringCmd, len(keys))
	for i, k := range keys {
		gets[i] = pipe.Get(ctx, l.key(k))
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return false, fmt.Errorf("sign-in limit: %w", err)
	}
	for _, g := range gets {
		if n, err := g.Int(); err == nil && n >= l.Max {
			return true, nil
		}
	}
	return false, nil
}

// Fail counts one failure for each key. The window starts at the first
// failure (SET NX with the TTL, then INCR): it is not stretched by more.
func (l *Limiter) Fail(ctx context.Context, keys ...string) error {
	pipe := l.rdb.Pipeline()
	for _, k := range keys {
		pipe.SetNX(ctx, l.key(k), 0, l.Window)
		pipe.Incr(ctx, l.key(k))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("sign-in limit: %w", err)
	}
	return nil
}

// Reset forgets the failures of key (an account after a good sign-in).
func (l *Limiter) Reset(ctx context.Context, key string) error {
	return l.rdb.Del(ctx, l.key(key)).Err()
}
