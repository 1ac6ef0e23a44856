// Package webui is what the web pages of intakebot share: sessions kept in
// Redis (so that any bot serves any request), CSRF tokens, security
// headers, the language of the pages, a limit on sign-in attempts and the
// embedded static files (one style sheet, one small script).
package webui

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// SessionCookie is the name of the console's session cookie.
const SessionCookie = "intakebot_session"

// Session is a signed-in agent's session.
type Session struct {
	// ID is the secret the cookie carries; only its hash names the key.
	ID      string
	Agent   string
	CSRF    string
	Created time.Time
	// Admin, when set, is what the identity provider said at single
	// sign-on (its admin group): it replaces the agent's own admin flag
	// for this session. Nil: the agent's flag decides.
	Admin *bool
}

// Sessions keeps sessions in Redis under P:{web}:session:HASH, a hash of
// agent, csrf, created (ms) and, after single sign-on, admin (true or
// false). The key's TTL is the idle timeout, renewed on every use;
// Absolute bounds a session's whole life however busy.
type Sessions struct {
	rdb    redis.UniversalClient
	prefix string
	// Idle ends a session unused for that long; Absolute ends any session
	// that old.
	Idle, Absolute time.Duration
	// Secure marks the cookie Secure: the console is served over https.
	Secure bool
	// Path is the cookie's path ("/console/").
	Path string
	now  func() time.Time
}

// NewSessions returns sessions kept under prefix; now is the clock.
func NewSessions(rdb redis.UniversalClient, prefix string, idle, absolute time.Duration, secure bool, now func() time.Time) *Sessions {
	return &Sessions{rdb: rdb, prefix: prefix, Idle: idle, Absolute: absolute, Secure: secure, Path: "/console/", now: now}
}

func (s *Sessions) key(id string) string {
	sum := sha256.Sum256([]byte(id))
	// Only the hash: a copy of the database does not sign anyone in.
	return s.prefix + ":{web}:session:" + hex.EncodeToString(sum[:])
}

// RandomToken is 32 random bytes, URL-safe base64.
func RandomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Create starts a session for agent and sets its cookie on w.
func (s *Sessions) Create(ctx context.Context, w http.ResponseWriter, agent string) (Session, error) {
	return s.CreateWithAdmin(ctx, w, agent, nil)
}

// CreateWithAdmin starts a session whose admin role, when admin is not
// nil, is fixed by the sign-in (single sign-on's admin group) instead of
// the agent's own flag.
func (s *Sessions) CreateWithAdmin(ctx context.Context, w http.ResponseWriter, agent string, admin *bool) (Session, error) {
	id, err := RandomToken()
	if err != nil {
		return Session{}, err
	}
	csrf, err := RandomToken()
	if err != nil {
		return Session{}, err
	}
	now := s.now()
	key := s.key(id)
	pipe := s.rdb.TxPipeline()
	fields := []any{"agent", agent, "csrf", csrf, "created", strconv.FormatInt(now.UnixMilli(), 10)}
	if admin != nil {
		fields = append(fields, "admin", strconv.FormatBool(*admin))
	}
	pipe.HSet(ctx, key, fields...)
	pipe.PExpire(ctx, key, min(s.Idle, s.Absolute))
	if _, err := pipe.Exec(ctx); err != nil {
		return Session{}, fmt.Errorf("create session: %w", err)
	}
	http.SetCookie(w, s.cookie(id, int(s.Absolute/time.Second)))
	return Session{ID: id, Agent: agent, CSRF: csrf, Created: now, Admin: admin}, nil
}

func (s *Sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: s.Path, MaxAge: maxAge,
		HttpOnly: true, Secure: s.Secure, SameSite: http.SameSiteLaxMode}
}

// ErrNoSession is a request without a live session.
var ErrNoSession = errors.New("no session")

// Load returns the request's session and renews its idle timeout, or
// ErrNoSession when there is none, it idled out or it is older than
// Absolute. One round trip: the read and the renewal are pipelined.
func (s *Sessions) Load(ctx context.Context, r *http.Request) (Session, error) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return Session{}, ErrNoSession
	}
	key := s.key(c.Value)
	pipe := s.rdb.Pipeline()
	get := pipe.HGetAll(ctx, key)
	pipe.PExpire(ctx, key, s.Idle)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return Session{}, fmt.Errorf("load session: %w", err)
	}
	h := get.Val()
	if h["agent"] == "" {
		return Session{}, ErrNoSession
	}
	ms, _ := strconv.ParseInt(h["created"], 10, 64)
	created := time.UnixMilli(ms)
	if !s.now().Before(created.Add(s.Absolute)) {
		s.rdb.Del(ctx, key)
		return Session{}, ErrNoSession
	}
	sess := Session{ID: c.Value, Agent: h["agent"], CSRF: h["csrf"], Created: created}
	if v, err := strconv.ParseBool(h["admin"]); err == nil {
		sess.Admin = &v
	}
	return sess, nil
}

// Destroy ends the request's session, if any, and clears its cookie.
func (s *Sessions) Destroy(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	http.SetCookie(w, s.cookie("", -1))
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return s.rdb.Del(ctx, s.key(c.Value)).Err()
}

// SameToken compares two tokens in constant time; an empty one never
// matches.
func SameToken(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
