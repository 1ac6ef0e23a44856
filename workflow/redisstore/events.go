package redisstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// An alert's fingerprint points at the last incident it opened, under the
// {events} hash tag: P:{events}:fp:HASH.

func (s *Store) fingerprintKey(fp string) string {
	sum := sha256.Sum256([]byte(fp))
	return s.prefix + ":{events}:fp:" + hex.EncodeToString(sum[:16])
}

// IncidentOfFingerprint returns the last incident an alert opened, or "".
func (s *Store) IncidentOfFingerprint(ctx context.Context, fp string) (string, error) {
	id, err := s.rdb.Get(ctx, s.fingerprintKey(fp)).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read alert fingerprint: %w", err)
	}
	return id, nil
}

// SetIncidentOfFingerprint notes the incident an alert opened.
func (s *Store) SetIncidentOfFingerprint(ctx context.Context, fp, incidentID string) error {
	if err := s.rdb.Set(ctx, s.fingerprintKey(fp), incidentID, 0).Err(); err != nil {
		return fmt.Errorf("write alert fingerprint: %w", err)
	}
	return nil
}
