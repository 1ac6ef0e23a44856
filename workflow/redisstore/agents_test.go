package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func TestAgentsAndTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tok, err := f.store.AddAgent(ctx, "alice", true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	a, err := f.store.Authenticate(ctx, tok)
	if err != nil || a.Name != "alice" || !a.Admin {
		t.Fatalf("authenticate: %+v %v", a, err)
	}
	if _, err := f.store.Authenticate(ctx, tok+"x"); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := f.store.AddAgent(ctx, "alice", false, time.Now()); !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []string{"", "two words", strings.Repeat("x", 101)} {
		if _, err := f.store.AddAgent(ctx, bad, false, time.Now()); !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	// Only the token's hash is stored.
	keys, err := redistest.Keys(ctx, f.rdb, f.prefix+":*agents*")
	if err != nil || len(keys) == 0 {
		t.Fatalf("agent keys %q: %v", keys, err)
	}
	for _, k := range keys {
		vals, _ := f.rdb.HGetAll(ctx, k).Result()
		for field, v := range vals {
			if strings.Contains(field, tok) || strings.Contains(v, tok) {
				t.Fatalf("token stored in clear in %s", k)
			}
		}
	}
}

func TestConnectURLs(t *testing.T) {
	for _, ok := range []string{"redis://127.0.0.1:6379/2", "rediss://u:p@h:6380", "redis+cluster://a:1,b:2,c:3",
		"redis+sentinel://u:p%40ss@s1:26379,s2:26379/mymaster?db=1", "rediss+cluster://h:1"} {
		c, err := redisstore.Connect(ok)
		if err != nil {
			t.Errorf("%s: %v", ok, err)
			continue
		}
		c.Close()
	}
	for _, bad := range []string{"", "localhost:6379", "http://x:1", "redis+cluster://a", "redis+sentinel://a:1", "redis+sentinel://a:1/m?db=x", "redis://h:notaport"} {
		if c, err := redisstore.Connect(bad); err == nil {
			c.Close()
			t.Errorf("%q accepted", bad)
		}
	}
	_, err := redisstore.Connect("redis+sentinel://user:hunter2@a:1")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("password shown in error: %v", err)
	}
}

// twoBots is one Redis seen through two stores, as two bots see it, both
// reading the test's clock.
func twoBots(t *testing.T) (*fixture, *redisstore.Store) {
	f := newFixture(t)
	f.store.WithClock(f.clock.Now)
	return f, redisstore.New(f.rdb, f.prefix).WithClock(f.clock.Now)
}

func TestRevokeIsSeenAtOnceByEveryBot(t *testing.T) {
	f, other := twoBots(t)
	ctx := context.Background()
	_, tok, err := f.store.CreateAgent(ctx, "alice", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []*redisstore.Store{f.store, other} {
		if a, err := s.Authenticate(ctx, tok); err != nil || a.Name != "alice" {
			t.Fatalf("before the revoke: %+v %v", a, err)
		}
	}
	if err := f.store.SetPassword(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if err := f.store.RevokeAgent(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	for i, s := range []*redisstore.Store{f.store, other} {
		if a, err := s.Authenticate(ctx, tok); !errors.Is(err, intake.ErrForbidden) {
			t.Fatalf("bot %d after the revoke: %+v %v, want forbidden", i, a, err)
		}
		if _, err := s.CheckPassword(ctx, "alice", "correct horse battery"); !errors.Is(err, intake.ErrForbidden) {
			t.Fatalf("bot %d: password after the revoke: %v", i, err)
		}
		if _, err := s.Agent(ctx, "alice"); !errors.Is(err, intake.ErrNotFound) {
			t.Fatalf("bot %d: revoked agent still found: %v", i, err)
		}
	}
	if err := f.store.RevokeAgent(ctx, "alice"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	// The name may be used again, and starts afresh.
	if _, _, err := f.store.CreateAgent(ctx, "alice", false, 0); err != nil {
		t.Fatal(err)
	}
	if a, err := other.Agent(ctx, "alice"); err != nil || a.HasPassword || !a.LastUsedAt.IsZero() {
		t.Fatalf("re-added agent: %+v %v", a, err)
	}
	if _, err := other.Authenticate(ctx, tok); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("the old token works for the new agent of the same name: %v", err)
	}
}

func TestExpiredTokenIsRefused(t *testing.T) {
	f, other := twoBots(t)
	ctx := context.Background()
	a, tok, err := f.store.CreateAgent(ctx, "temp", false, 90*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := f.clock.Now().Add(90 * 24 * time.Hour); !a.ExpiresAt.Equal(want) {
		t.Fatalf("expires %v, want %v", a.ExpiresAt, want)
	}
	f.clock.Add(90*24*time.Hour - time.Second)
	if _, err := other.Authenticate(ctx, tok); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	f.clock.Add(time.Second)
	for _, s := range []*redisstore.Store{f.store, other} {
		if _, err := s.Authenticate(ctx, tok); !errors.Is(err, intake.ErrForbidden) || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("expired token: %v, want forbidden", err)
		}
	}
	// An expired agent's token is renewed only with a new expiry.
	if _, _, err := f.store.RotateToken(ctx, "temp", 0); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("rotate of an expired agent without a new expiry: %v", err)
	}
	_, fresh, err := f.store.RotateToken(ctx, "temp", 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(ctx, fresh); err != nil {
		t.Fatalf("renewed token: %v", err)
	}
	for _, bad := range []time.Duration{-time.Hour, intake.MaxAgentLifetime + time.Hour} {
		if _, _, err := f.store.CreateAgent(ctx, "x", false, bad); !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("lifetime %v: %v", bad, err)
		}
	}
}

func TestRotateInvalidatesTheOldTokenAtOnce(t *testing.T) {
	f, other := twoBots(t)
	ctx := context.Background()
	created, old, err := f.store.CreateAgent(ctx, "alice", true, 30*24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(ctx, old); err != nil {
		t.Fatal(err)
	}
	f.clock.Add(time.Hour)
	a, fresh, err := f.store.RotateToken(ctx, "alice", 0)
	if err != nil {
		t.Fatal(err)
	}
	if fresh == old || !strings.HasPrefix(fresh, "ibt_") {
		t.Fatalf("new token %q", fresh)
	}
	if !a.ExpiresAt.Equal(created.ExpiresAt) || !a.TokenIssuedAt.Equal(f.clock.Now()) || !a.Admin {
		t.Fatalf("rotated agent %+v, want the expiry %v kept", a, created.ExpiresAt)
	}
	if _, err := other.Authenticate(ctx, old); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("old token after rotate: %v", err)
	}
	if got, err := other.Authenticate(ctx, fresh); err != nil || got.Name != "alice" || !got.Admin {
		t.Fatalf("new token: %+v %v", got, err)
	}
	if _, _, err := f.store.RotateToken(ctx, "nobody", 0); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("rotate of an unknown agent: %v", err)
	}
}

// TestLastUseIsWrittenAtMostOncePerInterval: authenticating is a read;
// the last use is written only when the recorded one is older than
// LastUsedEvery, whichever bot saw it.
func TestLastUseIsWrittenAtMostOncePerInterval(t *testing.T) {
	f, other := twoBots(t)
	ctx := context.Background()
	_, tok, err := f.store.CreateAgent(ctx, "alice", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := f.store.Agent(ctx, "alice"); !a.LastUsedAt.IsZero() {
		t.Fatalf("never used, but last use %v", a.LastUsedAt)
	}
	start := f.clock.Now()
	lastUsed := func() time.Time {
		t.Helper()
		list, err := other.Agents(ctx)
		if err != nil || len(list) != 1 {
			t.Fatalf("agents %+v %v", list, err)
		}
		return list[0].LastUsedAt
	}
	if _, err := f.store.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(start) {
		t.Fatalf("last use %v, want %v", got, start)
	}
	f.clock.Add(redisstore.LastUsedEvery - time.Second)
	if _, err := other.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(start) {
		t.Fatalf("last use written again within the interval: %v", got)
	}
	f.clock.Add(time.Second)
	if _, err := other.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if got := lastUsed(); !got.Equal(f.clock.Now()) {
		t.Fatalf("last use %v, want %v", got, f.clock.Now())
	}
}

func TestAgentsList(t *testing.T) {
	f, _ := twoBots(t)
	ctx := context.Background()
	for _, n := range []string{"carol", "alice", "bob"} {
		if _, _, err := f.store.CreateAgent(ctx, n, n == "alice", 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.store.SetPassword(ctx, "bob", "a long enough secret"); err != nil {
		t.Fatal(err)
	}
	list, err := f.store.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range list {
		got = append(got, fmt.Sprintf("%s admin=%v pw=%v", a.Name, a.Admin, a.HasPassword))
	}
	want := []string{"alice admin=true pw=false", "bob admin=false pw=true", "carol admin=false pw=false"}
	if !slices.Equal(got, want) {
		t.Fatalf("agents %q, want %q", got, want)
	}
}

func TestPasswords(t *testing.T) {
	f, other := twoBots(t)
	ctx := context.Background()
	if _, _, err := f.store.CreateAgent(ctx, "alice", false, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	const pw = "correct horse battery staple"
	if err := f.store.SetPassword(ctx, "alice", pw); err != nil {
		t.Fatal(err)
	}
	stored, err := f.rdb.HGet(ctx, f.prefix+":{agents}:passwords", "alice").Result()
	if err != nil || !strings.HasPrefix(stored, "$argon2id$v=19$m=19456,t=2,p=1$") || strings.Contains(stored, pw) {
		t.Fatalf("stored password %q %v", stored, err)
	}
	if a, err := other.CheckPassword(ctx, "alice", pw); err != nil || a.Name != "alice" {
		t.Fatalf("right password: %+v %v", a, err)
	}
	for _, c := range []struct{ name, pw string }{{"alice", pw + "!"}, {"alice", ""}, {"alice", "Correct horse battery staple"}, {"nobody", pw}} {
		if _, err := other.CheckPassword(ctx, c.name, c.pw); !errors.Is(err, intake.ErrForbidden) {
			t.Errorf("%s/%q: %v, want forbidden", c.name, c.pw, err)
		}
	}
	// Setting it again replaces it, with a fresh salt.
	if err := f.store.SetPassword(ctx, "alice", "another long passphrase"); err != nil {
		t.Fatal(err)
	}
	if _, err := other.CheckPassword(ctx, "alice", pw); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("old password still works: %v", err)
	}
	for _, bad := range []string{"short", "            ", "line one\nline two is long", "nul\x00 inside a long one", strings.Repeat("x", 1025)} {
		if err := f.store.SetPassword(ctx, "alice", bad); !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("password %q: %v, want invalid", bad, err)
		}
	}
	if err := f.store.SetPassword(ctx, "nobody", pw); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("password for an unknown agent: %v", err)
	}
	f.clock.Add(24 * time.Hour)
	if _, err := other.CheckPassword(ctx, "alice", "another long passphrase"); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("expired agent signed in: %v", err)
	}
}

// BenchmarkAuthenticate is the cost every API request pays: one read-only
// script call, and a write at most once per LastUsedEvery.
func BenchmarkAuthenticate(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	_, tok, err := f.store.CreateAgent(ctx, "alice", false, 0)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := f.store.Authenticate(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
