package redisstore_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func TestSpendLinkOnce(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	ctx := context.Background()
	// A whole-second expiry a day ahead of the real clock, since Redis
	// expires keys by its own clock.
	until := time.Now().Add(24 * time.Hour).Truncate(time.Second)

	first, err := store.Spend(ctx, "0123abcd", until)
	if err != nil || !first {
		t.Fatalf("first spend: %v %v, want true", first, err)
	}
	again, err := store.Spend(ctx, "0123abcd", until.Add(time.Hour))
	if err != nil || again {
		t.Fatalf("second spend: %v %v, want false", again, err)
	}
	if other, err := store.Spend(ctx, "4567ef", until); err != nil || !other {
		t.Fatalf("another nonce: %v %v, want true", other, err)
	}

	key := prefix + ":{links}:spent:0123abcd"
	at, err := rdb.ExpireTime(ctx, key).Result()
	if err != nil {
		t.Fatal(err)
	}
	// The marker lives exactly as long as the link, and the refused second
	// spend did not move its expiry.
	if got := time.Unix(int64(at/time.Second), 0); !got.Equal(until) {
		t.Fatalf("marker %s expires at %s, want %s", key, got, until)
	}
}

func TestSpendLinkConcurrentOneWins(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	ctx := context.Background()
	until := time.Now().Add(time.Hour)
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := store.Spend(ctx, "race", until)
			if err != nil {
				errs <- err
			}
			if first {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if wins.Load() != 1 {
		t.Fatalf("%d spends won, want exactly 1", wins.Load())
	}
}

func TestSpendLinkRefusesBadInput(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	ctx := context.Background()
	long := make([]byte, 129)
	for i := range long {
		long[i] = 'a'
	}
	for name, call := range map[string]func() (bool, error){
		"empty nonce": func() (bool, error) { return store.Spend(ctx, "", time.Now().Add(time.Hour)) },
		"long nonce":  func() (bool, error) { return store.Spend(ctx, string(long), time.Now().Add(time.Hour)) },
		"no expiry":   func() (bool, error) { return store.Spend(ctx, "abc", time.Time{}) },
	} {
		if first, err := call(); first || !errors.Is(err, intake.ErrInvalid) {
			t.Errorf("%s: %v %v, want an invalid error", name, first, err)
		}
	}
	if n, _ := rdb.Exists(ctx, prefix+":{links}:spent:abc").Result(); n != 0 {
		t.Fatal("a refused spend left a marker")
	}
}
