package redisstore

// Known-error keys (P is the prefix). They share the knowledge base's {kb}
// hash tag: a change is one MULTI/EXEC on one node, and it goes into the
// KB's change stream, so every bot's in-memory index follows it.
//
//	P:{kb}:known_errors               hash: id -> JSON of the known error
//	P:{kb}:known_errors:seq           counter behind KE-000001, KE-000002, ...
//	P:{kb}:known_errors:incidents:ID  set: the incidents linked to it
//	P:{kb}:known_errors:links         hash: incident -> "KE-id|version" of
//	                                  its last link recorded (lua/ke_link.lua)
//	P:{kb}:known_errors:key:KEY       the id a creation with idempotency key
//	                                  KEY made (24 h)
//
// The incidents are a set of their own rather than a list in the JSON, so
// that linking is one SADD that never races an editor's save.

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

//go:embed lua/ke_link.lua
var luaKELink string

func (s *Store) keIncidentsKey(id string) string { return s.kbKey("known_errors:incidents:" + id) }

// keKeyTTL is how long a creation's idempotency key is remembered: a
// retry (a double submit, a client's retry) comes within minutes.
const keKeyTTL = 24 * time.Hour

// CreateKnownError stores a new known error under the next id and returns
// it as stored (version 1). A non-empty key makes it idempotent: creating
// again with a key used before returns the known error it made.
func (s *Store) CreateKnownError(ctx context.Context, key string, k kb.KnownError, now time.Time) (kb.KnownError, error) {
	if err := k.Validate(); err != nil {
		return kb.KnownError{}, fmt.Errorf("%w: %w", intake.ErrInvalid, err)
	}
	keyKey := s.kbKey("known_errors:key:" + key)
	if key != "" {
		// Claimed empty; the creation below writes the id into it, in the
		// same MULTI, so a claim either names its known error or is a
		// creation in progress (or one that crashed, until it expires).
		ok, err := s.rdb.SetNX(ctx, keyKey, "", keKeyTTL).Result()
		if err != nil {
			return kb.KnownError{}, err
		}
		if !ok {
			id, err := s.rdb.Get(ctx, keyKey).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return kb.KnownError{}, err
			}
			if id == "" {
				return kb.KnownError{}, fmt.Errorf("%w: this known error is being created by an earlier request; look again in a moment", intake.ErrConflict)
			}
			return s.KnownError(ctx, id)
		}
	}
	n, err := s.rdb.Incr(ctx, s.kbKey("known_errors:seq")).Result()
	if err != nil {
		return kb.KnownError{}, err
	}
	k.ID, k.Version, k.Incidents = kb.FormatKEID(n), 1, nil
	k.Created, k.Updated = now.UTC(), now.UTC()
	doc, err := json.Marshal(k)
	if err != nil {
		return kb.KnownError{}, err
	}
	_, err = s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HSet(ctx, s.kbKey("known_errors"), k.ID, doc)
		s.kbChanged(ctx, p, "put", k.ID, k.Version)
		if key != "" {
			p.Set(ctx, keyKey, k.ID, keKeyTTL)
		}
		return nil
	})
	if err != nil {
		return kb.KnownError{}, err
	}
	return k, nil
}

// kbChanged adds an entry to the KB's change stream inside p.
func (s *Store) kbChanged(ctx context.Context, p redis.Pipeliner, op, id string, version int) {
	p.XAdd(ctx, &redis.XAddArgs{Stream: s.kbKey("changes"), MaxLen: kbChangesMaxLen, Approx: true,
		Values: []any{"op", op, "id", id, "version", version}})
}

// UpdateKnownError replaces a known error's texts, CIs and status. When
// k.Version is not zero it must be the stored version, so two editors
// never overwrite each other unknowingly. Its id, author, origin, creation
// time and incidents are kept.
func (s *Store) UpdateKnownError(ctx context.Context, k kb.KnownError, now time.Time) (kb.KnownError, error) {
	if err := kb.ParseKEID(k.ID); err != nil {
		return kb.KnownError{}, err
	}
	if err := k.Validate(); err != nil {
		return kb.KnownError{}, fmt.Errorf("%w: %w", intake.ErrInvalid, err)
	}
	key := s.kbKey("known_errors")
	var saved kb.KnownError
	err := s.kbTx(ctx, func(tx *redis.Tx) error {
		cur, err := s.readKnownError(ctx, tx, k.ID)
		if err != nil {
			return err
		}
		if k.Version != 0 && k.Version != cur.Version {
			return fmt.Errorf("%w: known error %s is at version %d, not %d; reload it", intake.ErrConflict, k.ID, cur.Version, k.Version)
		}
		saved = k
		saved.Version, saved.Updated, saved.Incidents = cur.Version+1, now.UTC(), nil
		saved.Created, saved.Author, saved.From = cur.Created, cur.Author, cur.From
		doc, err := json.Marshal(saved)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, key, k.ID, doc)
			s.kbChanged(ctx, p, "put", k.ID, saved.Version)
			return nil
		})
		return err
	}, key)
	if err != nil {
		return kb.KnownError{}, err
	}
	saved.Incidents, err = s.rdb.SMembers(ctx, s.keIncidentsKey(k.ID)).Result()
	sort.Strings(saved.Incidents)
	return saved, err
}

// DeleteKnownError removes a known error nothing links to. One that
// incidents link to is refused: mark it fixed instead, so that their
// links keep pointing at something.
func (s *Store) DeleteKnownError(ctx context.Context, id string) error {
	if err := kb.ParseKEID(id); err != nil {
		return err
	}
	key, linked := s.kbKey("known_errors"), s.keIncidentsKey(id)
	return s.kbTx(ctx, func(tx *redis.Tx) error {
		cur, err := s.readKnownError(ctx, tx, id)
		if err != nil {
			return err
		}
		n, err := tx.SCard(ctx, linked).Result()
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: known error %s has %d linked incidents; mark it fixed instead", intake.ErrConflict, id, n)
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HDel(ctx, key, id)
			s.kbChanged(ctx, p, "delete", id, cur.Version)
			return nil
		})
		return err
	}, key, linked)
}

// KnownError returns one known error with its linked incidents.
func (s *Store) KnownError(ctx context.Context, id string) (kb.KnownError, error) {
	if err := kb.ParseKEID(id); err != nil {
		return kb.KnownError{}, err
	}
	k, err := s.readKnownError(ctx, s.rdb, id)
	if err != nil {
		return kb.KnownError{}, err
	}
	k.Incidents, err = s.rdb.SMembers(ctx, s.keIncidentsKey(id)).Result()
	sort.Strings(k.Incidents)
	return *k, err
}

func (s *Store) readKnownError(ctx context.Context, c redis.Cmdable, id string) (*kb.KnownError, error) {
	doc, err := c.HGet(ctx, s.kbKey("known_errors"), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: known error %q", intake.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var k kb.KnownError
	if err := json.Unmarshal([]byte(doc), &k); err != nil {
		return nil, fmt.Errorf("corrupt known error %q: %w", id, err)
	}
	return &k, nil
}

// KnownErrors returns every known error, by id, each with its incidents:
// two round trips whatever their number.
func (s *Store) KnownErrors(ctx context.Context) ([]kb.KnownError, error) {
	docs, err := s.rdb.HGetAll(ctx, s.kbKey("known_errors")).Result()
	if err != nil {
		return nil, err
	}
	out := make([]kb.KnownError, 0, len(docs))
	for id, doc := range docs {
		var k kb.KnownError
		if err := json.Unmarshal([]byte(doc), &k); err != nil {
			return nil, fmt.Errorf("corrupt known error %q: %w", id, err)
		}
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	cmds, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range out {
			p.SMembers(ctx, s.keIncidentsKey(k.ID))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, c := range cmds {
		out[i].Incidents = c.(*redis.StringSliceCmd).Val()
		sort.Strings(out[i].Incidents)
	}
	return out, nil
}

// LinkIncident records that incident links keID ("" for none) as of the
// incident's version, moving it between the known errors' sets in one
// script (same hash tag). An older version than one recorded changes
// nothing, and repeating a call changes nothing: callers may retry.
func (s *Store) LinkIncident(ctx context.Context, incident, keID string, version int64) error {
	keys := []string{s.kbKey("known_errors:links")}
	return s.scripts.keLink.Run(ctx, s.rdb, keys, incident, keID, version, s.keIncidentsKey("")).Err()
}

// loadKnownErrors puts every known error that may be suggested into ix.
func (s *Store) loadKnownErrors(ctx context.Context, ix *kb.Index) error {
	docs, err := s.rdb.HGetAll(ctx, s.kbKey("known_errors")).Result()
	if err != nil {
		return err
	}
	for id, doc := range docs {
		var k kb.KnownError
		if err := json.Unmarshal([]byte(doc), &k); err != nil {
			return fmt.Errorf("corrupt known error %q: %w", id, err)
		}
		ix.PutKnownError(k)
	}
	return nil
}

// applyKnownErrorChange is applyKBChange for a known error: it reads it as
// it is now; a fixed or deleted one leaves the index.
func (s *Store) applyKnownErrorChange(ctx context.Context, ix *kb.Index, id string) error {
	k, err := s.readKnownError(ctx, s.rdb, id)
	switch {
	case errors.Is(err, intake.ErrNotFound):
		ix.Delete(id)
		return nil
	case err != nil:
		return err
	}
	ix.PutKnownError(*k)
	return nil
}
