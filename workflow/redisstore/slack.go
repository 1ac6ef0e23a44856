package redisstore

import (
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Slack channel's state lives under its own hash tag {slack}: which
// thread belongs to which incident, and where an incident's triage message
// and survey prompts are, so that they can be updated later.

//go:embed lua/unlock.lua
var luaUnlock string

func (s *Store) slackIncident(incidentID string) string {
	return s.prefix + ":{slack}:inc:" + incidentID
}

func (s *Store) slackThread(channel, ts string) string {
	return s.prefix + ":{slack}:thread:" + channel + ":" + ts
}

// LinkThread ties a Slack thread (channel and the ts of its first message)
// to an incident both ways. The first thread an incident gets stays its
// thread, so a retried link never moves the conversation.
func (s *Store) LinkThread(ctx context.Context, incidentID, channel, ts string) error {
	pipe := s.rdb.TxPipeline()
	pipe.HSetNX(ctx, s.slackIncident(incidentID), "thread", channel+"/"+ts)
	pipe.Set(ctx, s.slackThread(channel, ts), incidentID, 0)
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("link slack thread of %s: %w", incidentID, err)
	}
	return nil
}

// IncidentOfThread returns the incident a Slack thread belongs to, or "".
func (s *Store) IncidentOfThread(ctx context.Context, channel, ts string) (string, error) {
	id, err := s.rdb.Get(ctx, s.slackThread(channel, ts)).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read slack thread: %w", err)
	}
	return id, nil
}

// SlackRefs returns what the Slack channel noted about an incident (its
// thread, triage message, prompts), by name.
func (s *Store) SlackRefs(ctx context.Context, incidentID string) (map[string]string, error) {
	refs, err := s.rdb.HGetAll(ctx, s.slackIncident(incidentID)).Result()
	if err != nil {
		return nil, fmt.Errorf("read slack refs of %s: %w", incidentID, err)
	}
	return refs, nil
}

// SetSlackRef notes one thing about an incident for the Slack channel.
func (s *Store) SetSlackRef(ctx context.Context, incidentID, name, value string) error {
	if err := s.rdb.HSet(ctx, s.slackIncident(incidentID), name, value).Err(); err != nil {
		return fmt.Errorf("write slack ref of %s: %w", incidentID, err)
	}
	return nil
}

// ClaimSlackRef notes one thing about an incident unless it is noted
// already, and reports whether this call noted it: of several bots, one
// goes first.
func (s *Store) ClaimSlackRef(ctx context.Context, incidentID, name, value string) (bool, error) {
	ok, err := s.rdb.HSetNX(ctx, s.slackIncident(incidentID), name, value).Result()
	if err != nil {
		return false, fmt.Errorf("claim slack ref of %s: %w", incidentID, err)
	}
	return ok, nil
}

// Lock takes a named lock for ttl, so that of several bots only one posts
// a given Slack message. It returns the holder's token ("" when another
// holds the lock), which Unlock needs.
func (s *Store) Lock(ctx context.Context, name string, ttl time.Duration) (string, error) {
	token := make([]byte, 12)
	if _, err := rand.Read(token); err != nil {
		return "", err
	}
	t := hex.EncodeToString(token)
	ok, err := s.rdb.SetNX(ctx, s.prefix+":{slack}:lock:"+name, t, ttl).Result()
	if err != nil {
		return "", fmt.Errorf("lock %s: %w", name, err)
	}
	if !ok {
		return "", nil
	}
	return t, nil
}

// Unlock gives a lock back before its time.
func (s *Store) Unlock(ctx context.Context, name, token string) error {
	return s.scripts.unlock.Run(ctx, s.rdb, []string{s.prefix + ":{slack}:lock:" + name}, token).Err()
}
