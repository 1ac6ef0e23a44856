package redisstore_test

import (
	"context"
	"errors"
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
