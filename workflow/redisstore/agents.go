package redisstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

var (
	//go:embed lua/agent_auth.lua
	luaAgentAuth string
	//go:embed lua/agent_token.lua
	luaAgentToken string
	//go:embed lua/agent_password.lua
	luaAgentPassword string
	//go:embed lua/agent_used.lua
	luaAgentUsed string
)

// LastUsedEvery is how often an agent's last use is written: at most once
// per interval and agent, across all bots, so that authenticating stays one
// read for nearly every request. The last use shown is at most this old.
const LastUsedEvery = time.Minute

// agentScripts are the small scripts of the agent keys; none touches an
// incident.
type agentScripts struct {
	auth, token, password, used *redis.Script
}

func newAgentScripts() agentScripts {
	return agentScripts{auth: redis.NewScript(luaAgentAuth), token: redis.NewScript(luaAgentToken),
		password: redis.NewScript(luaAgentPassword), used: redis.NewScript(luaAgentUsed)}
}

// agentKeys are the keys of the agents, all under one hash tag: agents by
// name (JSON), token hash -> name, name -> last use (ms), name -> password
// (Argon2id, PHC string).
type agentKeys struct{ byName, byToken, lastUsed, passwords string }

func (s *Store) agentKeys() agentKeys {
	p := s.prefix + ":{agents}:"
	return agentKeys{byName: p + "byname", byToken: p + "bytoken", lastUsed: p + "lastused", passwords: p + "passwords"}
}

// WithClock makes the store read the time from now (for agents' expiry
// and last use) and returns the store; the default is time.Now.
func (s *Store) WithClock(now func() time.Time) *Store {
	s.now = now
	return s
}

func (s *Store) clock() time.Time {
	if s.now == nil {
		return time.Now()
	}
	return s.now()
}

// tokenHash is what is stored instead of the token itself, so that a copy of
// the database does not give API access.
func tokenHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func newToken() (string, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return "", err
	}
	return "ibt_" + base64.RawURLEncoding.EncodeToString(raw), nil
}

// AddAgent creates an agent that never expires and returns its new API
// token; only the token's hash is kept. Adding a name that exists is an
// error.
func (s *Store) AddAgent(ctx context.Context, name string, admin bool, now time.Time) (string, error) {
	_, token, err := s.addAgent(ctx, name, admin, now, 0)
	return token, err
}

// CreateAgent creates an agent whose access ends after lifetime (0: never),
// at the store's clock, and returns it with its new API token.
func (s *Store) CreateAgent(ctx context.Context, name string, admin bool, lifetime time.Duration) (intake.Agent, string, error) {
	return s.addAgent(ctx, name, admin, s.clock(), lifetime)
}

func (s *Store) addAgent(ctx context.Context, name string, admin bool, now time.Time, lifetime time.Duration) (intake.Agent, string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 || strings.ContainsAny(name, " \t\r\n") {
		return intake.Agent{}, "", fmt.Errorf("%w: agent names are 1-100 characters without spaces", intake.ErrInvalid)
	}
	if lifetime < 0 || lifetime > intake.MaxAgentLifetime {
		return intake.Agent{}, "", fmt.Errorf("%w: an agent's lifetime must be positive and at most %s", intake.ErrInvalid, intake.MaxAgentLifetime)
	}
	token, err := newToken()
	if err != nil {
		return intake.Agent{}, "", err
	}
	now = now.UTC()
	a := intake.Agent{Name: name, Admin: admin, CreatedAt: now, TokenIssuedAt: now}
	if lifetime > 0 {
		a.ExpiresAt = now.Add(lifetime)
	}
	doc, err := json.Marshal(a)
	if err != nil {
		return intake.Agent{}, "", err
	}
	k := s.agentKeys()
	// One script, so that an agent never exists without its token.
	added, err := s.scripts.addAgent.Run(ctx, s.rdb, []string{k.byName, k.byToken, k.lastUsed, k.passwords}, name, doc, tokenHash(token)).Int()
	if err != nil {
		return intake.Agent{}, "", fmt.Errorf("add agent: %w", err)
	}
	if added == 0 {
		return intake.Agent{}, "", fmt.Errorf("%w: agent %q exists", intake.ErrConflict, name)
	}
	return a, token, nil
}

// Authenticate returns the agent a token belongs to. An unknown, revoked
// or expired token is intake.ErrForbidden. Nothing is cached: a revoke or
// a rotation is seen by the next request on every bot.
func (s *Store) Authenticate(ctx context.Context, token string) (intake.Agent, error) {
	k := s.agentKeys()
	res, err := s.agents.auth.Run(ctx, s.rdb, []string{k.byToken, k.byName, k.lastUsed}, tokenHash(token)).StringSlice()
	if err == redis.Nil {
		return intake.Agent{}, fmt.Errorf("%w: unknown token", intake.ErrForbidden)
	}
	if err != nil {
		return intake.Agent{}, err
	}
	if len(res) != 3 {
		return intake.Agent{}, fmt.Errorf("authenticate: unexpected answer %q", res)
	}
	a, err := decodeAgent(k.byName, res[0], res[1], res[2])
	if err != nil {
		return intake.Agent{}, err
	}
	now := s.clock()
	if a.Expired(now) {
		return intake.Agent{}, fmt.Errorf("%w: agent %q expired at %s", intake.ErrForbidden, a.Name, a.ExpiresAt.Format(time.RFC3339))
	}
	if now.Sub(a.LastUsedAt) >= LastUsedEvery {
		// Best effort: a failure here must not refuse a valid token.
		if err := s.agents.used.Run(ctx, s.rdb, []string{k.byName, k.lastUsed}, a.Name, now.UnixMilli()).Err(); err == nil {
			a.LastUsedAt = now.UTC()
		}
	}
	return a, nil
}

// Agent returns one agent by name.
func (s *Store) Agent(ctx context.Context, name string) (intake.Agent, error) {
	k := s.agentKeys()
	pipe := s.rdb.Pipeline()
	doc := pipe.HGet(ctx, k.byName, name)
	used := pipe.HGet(ctx, k.lastUsed, name)
	pw := pipe.HExists(ctx, k.passwords, name)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return intake.Agent{}, err
	}
	if doc.Err() == redis.Nil {
		return intake.Agent{}, fmt.Errorf("%w: agent %q", intake.ErrNotFound, name)
	}
	a, err := decodeAgent(k.byName, name, doc.Val(), used.Val())
	a.HasPassword = pw.Val()
	return a, err
}

// Agents lists every agent by name, with its last use.
func (s *Store) Agents(ctx context.Context) ([]intake.Agent, error) {
	k := s.agentKeys()
	pipe := s.rdb.Pipeline()
	docs := pipe.HGetAll(ctx, k.byName)
	used := pipe.HGetAll(ctx, k.lastUsed)
	pws := pipe.HKeys(ctx, k.passwords)
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]intake.Agent, 0, len(docs.Val()))
	for name, doc := range docs.Val() {
		a, err := decodeAgent(k.byName, name, doc, used.Val()[name])
		if err != nil {
			return nil, err
		}
		a.HasPassword = slices.Contains(pws.Val(), name)
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b intake.Agent) int { return cmp.Compare(a.Name, b.Name) })
	return out, nil
}

// RevokeAgent removes an agent with its token and password: both stop
// working at once on every bot. The history keeps the name as text.
func (s *Store) RevokeAgent(ctx context.Context, name string) error {
	k := s.agentKeys()
	n, err := s.agents.token.Run(ctx, s.rdb, []string{k.byName, k.byToken, k.lastUsed, k.passwords}, name, "revoke").Int()
	if err != nil {
		return fmt.Errorf("revoke agent: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: agent %q", intake.ErrNotFound, name)
	}
	return nil
}

// RotateToken gives an agent a new API token and invalidates the old one
// at once. A lifetime above 0 sets a new expiry from now; 0 keeps the
// agent's expiry, which must not have passed.
func (s *Store) RotateToken(ctx context.Context, name string, lifetime time.Duration) (intake.Agent, string, error) {
	if lifetime < 0 || lifetime > intake.MaxAgentLifetime {
		return intake.Agent{}, "", fmt.Errorf("%w: an agent's lifetime must be positive and at most %s", intake.ErrInvalid, intake.MaxAgentLifetime)
	}
	a, err := s.Agent(ctx, name)
	if err != nil {
		return intake.Agent{}, "", err
	}
	now := s.clock().UTC()
	if lifetime > 0 {
		a.ExpiresAt = now.Add(lifetime)
	} else if a.Expired(now) {
		return intake.Agent{}, "", fmt.Errorf("%w: agent %q expired at %s: give a new expiry to rotate its token", intake.ErrInvalid, name, a.ExpiresAt.Format(time.RFC3339))
	}
	a.TokenIssuedAt = now
	token, err := newToken()
	if err != nil {
		return intake.Agent{}, "", err
	}
	doc, err := json.Marshal(stored(a))
	if err != nil {
		return intake.Agent{}, "", err
	}
	k := s.agentKeys()
	n, err := s.agents.token.Run(ctx, s.rdb, []string{k.byName, k.byToken, k.lastUsed, k.passwords}, name, "rotate", doc, tokenHash(token)).Int()
	if err != nil {
		return intake.Agent{}, "", fmt.Errorf("rotate token: %w", err)
	}
	if n == 0 {
		return intake.Agent{}, "", fmt.Errorf("%w: agent %q", intake.ErrNotFound, name)
	}
	return a, token, nil
}

// SetPassword sets the password an agent signs in to the console with,
// stored as an Argon2id hash (PHC string, parameters included).
func (s *Store) SetPassword(ctx context.Context, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	phc, err := hashPassword(password, passwordCost)
	if err != nil {
		return err
	}
	k := s.agentKeys()
	n, err := s.agents.password.Run(ctx, s.rdb, []string{k.byName, k.passwords}, name, phc).Int()
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("%w: agent %q", intake.ErrNotFound, name)
	}
	return nil
}

// CheckPassword returns the agent when password is its password. An unknown
// agent, an agent without a password, an expired agent and a wrong password
// are all the same intake.ErrForbidden, and take the same time: the hash is
// computed in every case and compared in constant time, so that neither
// the answer nor its timing tells which names exist.
func (s *Store) CheckPassword(ctx context.Context, name, password string) (intake.Agent, error) {
	refused := fmt.Errorf("%w: wrong name or password", intake.ErrForbidden)
	k := s.agentKeys()
	phc, err := s.rdb.HGet(ctx, k.passwords, name).Result()
	if err != nil && err != redis.Nil {
		return intake.Agent{}, err
	}
	known := err == nil
	if !known {
		phc = s.decoyHash()
	}
	ok, verr := verifyPassword(phc, password)
	if verr != nil {
		return intake.Agent{}, fmt.Errorf("agent %q: %w", name, verr)
	}
	if !known || !ok {
		return intake.Agent{}, refused
	}
	a, err := s.Agent(ctx, name)
	if err != nil {
		return intake.Agent{}, refused // revoked between the two reads
	}
	if a.Expired(s.clock()) {
		return intake.Agent{}, refused
	}
	return a, nil
}

// decoyHash is a PHC string at the current cost that no password matches,
// verified for unknown names so they cost as much as known ones.
func (s *Store) decoyHash() string {
	return "$argon2id$v=19$m=" + strconv.Itoa(int(passwordCost.memory)) + ",t=" + strconv.Itoa(int(passwordCost.time)) +
		",p=" + strconv.Itoa(int(passwordCost.threads)) + "$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
}

// stored is the agent as kept in Redis: what is recorded apart (last use,
// password) is left out.
func stored(a intake.Agent) intake.Agent {
	a.LastUsedAt, a.HasPassword = time.Time{}, false
	return a
}

func decodeAgent(byName, name, doc, lastUsed string) (intake.Agent, error) {
	var a intake.Agent
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return intake.Agent{}, fmt.Errorf("redis key %s, field %s: not a valid agent: %w", byName, name, err)
	}
	if ms, err := strconv.ParseInt(lastUsed, 10, 64); err == nil && ms > 0 {
		a.LastUsedAt = time.UnixMilli(ms).UTC()
	}
	return a, nil
}

// SetEditor turns an agent's editor flag (may change the knowledge base)
// on or off and returns the agent. It rewrites the agent's record under
// WATCH, so a token rotation at the same moment is never undone.
func (s *Store) SetEditor(ctx context.Context, name string, on bool) (intake.Agent, error) {
	k := s.agentKeys()
	var out intake.Agent
	txf := func(tx *redis.Tx) error {
		doc, err := tx.HGet(ctx, k.byName, name).Result()
		if err == redis.Nil {
			return fmt.Errorf("%w: agent %q", intake.ErrNotFound, name)
		}
		if err != nil {
			return err
		}
		a, err := decodeAgent(k.byName, name, doc, "")
		if err != nil {
			return err
		}
		a.Editor = on
		raw, err := json.Marshal(stored(a))
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, k.byName, name, raw)
			return nil
		})
		out = a
		return err
	}
	for range 20 {
		err := s.rdb.Watch(ctx, txf, k.byName)
		if !errors.Is(err, redis.TxFailedErr) {
			if err != nil {
				return intake.Agent{}, err
			}
			return out, nil
		}
	}
	return intake.Agent{}, fmt.Errorf("%w: agents are changing too fast; try again", intake.ErrConflict)
}
