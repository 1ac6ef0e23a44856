package webui

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Flow is what a single sign-on remembers between sending the browser to
// the identity provider and its coming back: the nonce the ID token must
// carry, the PKCE verifier and the page to land on.
type Flow struct {
	Nonce    string `json:"nonce"`
	Verifier string `json:"verifier"`
	Next     string `json:"next"`
}

// Flows keeps sign-on flows in Redis under P:{web}:oidc:HASH(state), so
// that any bot can finish a flow another one started. A flow is taken
// once (GETDEL): a replayed callback finds nothing.
type Flows struct {
	rdb    redis.UniversalClient
	prefix string
	TTL    time.Duration
}

// NewFlows returns flows under prefix that live ttl (the time a person may
// take at the provider).
func NewFlows(rdb redis.UniversalClient, prefix string, ttl time.Duration) *Flows {
	return &Flows{rdb: rdb, prefix: prefix, TTL: ttl}
}

func (f *Flows) key(state string) string {
	sum := sha256.Sum256([]byte(state))
	return f.prefix + ":{web}:oidc:" + hex.EncodeToString(sum[:])
}

// ErrNoFlow is a state no flow was started with, or one already used or
// expired.
var ErrNoFlow = errors.New("no such sign-on flow")

// Put remembers fl under state.
func (f *Flows) Put(ctx context.Context, state string, fl Flow) error {
	doc, err := json.Marshal(fl)
	if err != nil {
		return err
	}
	if err := f.rdb.Set(ctx, f.key(state), doc, f.TTL).Err(); err != nil {
		return fmt.Errorf("start sign-on: %w", err)
	}
	return nil
}

// Take returns and forgets the flow of state, or ErrNoFlow.
func (f *Flows) Take(ctx context.Context, state string) (Flow, error) {
	doc, err := f.rdb.GetDel(ctx, f.key(state)).Bytes()
	if errors.Is(err, redis.Nil) {
		return Flow{}, ErrNoFlow
	}
	if err != nil {
		return Flow{}, fmt.Errorf("finish sign-on: %w", err)
	}
	var fl Flow
	if err := json.Unmarshal(doc, &fl); err != nil {
		return Flow{}, fmt.Errorf("finish sign-on: %w", err)
	}
	return fl, nil
}
