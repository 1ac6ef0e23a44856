package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// maxNonceBytes bounds a nonce, which ends up in a key name.
const maxNonceBytes = 128

// Spend marks a signed link's nonce as used and reports whether this call
// was the first to do so; it is what makes a survey link work once. The
// marker is one SET NX, atomic on its own, so of two concurrent clicks
// exactly one gets first == true. It expires at until (the link's own
// expiry): after that the link is refused by its signature check anyway,
// so the marker has nothing left to guard.
//
// Key: P:{links}:spent:NONCE. The hash tag groups the markers in one cluster
// slot, as the agents' keys are; each is a single-key command, so nothing
// here depends on it.
func (s *Store) Spend(ctx context.Context, nonce string, until time.Time) (bool, error) {
	if nonce == "" || len(nonce) > maxNonceBytes {
		return false, fmt.Errorf("%w: a link nonce is 1-%d bytes", intake.ErrInvalid, maxNonceBytes)
	}
	if until.IsZero() {
		// A zero time would be sent as an expiry in 1970 and the marker
		// would vanish at once: a silent replay hole.
		return false, fmt.Errorf("%w: a spent link needs an expiry", intake.ErrInvalid)
	}
	// EXAT/PXAT, an absolute time, rather than a TTL computed here: the
	// marker then ends when the link does, however long the call took.
	err := s.rdb.SetArgs(ctx, s.prefix+":{links}:spent:"+nonce, "1", redis.SetArgs{Mode: "NX", ExpireAt: until}).Err()
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, redis.Nil): // NX: the marker was already there
		return false, nil
	}
	return false, fmt.Errorf("spend link: %w", err)
}

// Spent tells whether a link's nonce was spent (and has not expired).
func (s *Store) Spent(ctx context.Context, nonce string) (bool, error) {
	n, err := s.rdb.Exists(ctx, s.prefix+":{links}:spent:"+nonce).Result()
	if err != nil {
		return false, fmt.Errorf("spent link: %w", err)
	}
	return n == 1, nil
}
