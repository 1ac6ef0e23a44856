package redisstore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// The embedded store (local mode) keeps, loads and streams KB articles
// as a real Redis does.
func TestEmbeddedStoreKeepsTheKB(t *testing.T) {
	m := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	defer rdb.Close()
	s := redisstore.New(rdb, "embedded")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range seed[:2] {
		if _, err := s.CreateArticle(ctx, a, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	ix := kb.NewIndex()
	pos, err := s.LoadKB(ctx, ix)
	if err != nil || ix.Len() != 2 {
		t.Fatalf("load: %d articles, %v", ix.Len(), err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.FollowKB(ctx, ix, pos)
		done <- err
	}()
	if _, err := s.CreateArticle(ctx, seed[2], time.Now()); err != nil {
		t.Fatal(err)
	}
	waitForKB(t, func() bool { return ix.Len() == 3 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("FollowKB: %v", err)
	}
}
