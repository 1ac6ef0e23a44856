package redisstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

func (s *Store) agentKeys() (byName, byToken string) {
	return s.prefix + ":{agents}:byname", s.prefix + ":{agents}:bytoken"
}

// tokenHash is what is stored instead of the token itself, so that a copy of
// the database does not give API access.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// AddAgent creates an agent and returns its new API token; only the token's
// hash is kept. Adding a name that exists is an error.
func (s *Store) AddAgent(ctx context.Context, name string, admin bool, now time.Time) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.ContainsAny(name, " \t\r\n") {
		return "", fmt.Errorf("%w: agent names are 1-100 characters without spaces", intake.ErrInvalid)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	token := "ibt_" + base64.RawURLEncoding.EncodeToString(raw)
	doc, err := json.Marshal(intake.Agent{Name: name, Admin: admin, CreatedAt: now.UTC()})
	if err != nil {
		return "", err
	}
	byName, byToken := s.agentKeys()
	// One script, so that an agent never exists without its token.
	added, err := s.scripts.addAgent.Run(ctx, s.rdb, []string{byName, byToken}, name, doc, tokenHash(token)).Int()
	if err != nil {
		return "", fmt.Errorf("add agent: %w", err)
	}
	if added == 0 {
		return "", fmt.Errorf("%w: agent %q exists", intake.ErrConflict, name)
	}
	return token, nil
}

// Authenticate returns the agent a token belongs to.
func (s *Store) Authenticate(ctx context.Context, token string) (intake.Agent, error) {
	byName, byToken := s.agentKeys()
	name, err := s.rdb.HGet(ctx, byToken, tokenHash(token)).Result()
	if err == redis.Nil {
		return intake.Agent{}, fmt.Errorf("%w: unknown token", intake.ErrForbidden)
	}
	if err != nil {
		return intake.Agent{}, err
	}
	return s.agent(ctx, byName, name)
}

// Agent returns one agent by name.
func (s *Store) Agent(ctx context.Context, name string) (intake.Agent, error) {
	byName, _ := s.agentKeys()
	return s.agent(ctx, byName, name)
}

func (s *Store) agent(ctx context.Context, byName, name string) (intake.Agent, error) {
	doc, err := s.rdb.HGet(ctx, byName, name).Result()
	if err == redis.Nil {
		return intake.Agent{}, fmt.Errorf("%w: agent %q", intake.ErrNotFound, name)
	}
	if err != nil {
		return intake.Agent{}, err
	}
	var a intake.Agent
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return intake.Agent{}, fmt.Errorf("redis key %s, field %s: not a valid agent: %w", byName, name, err)
	}
	return a, nil
}
