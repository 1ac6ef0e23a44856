package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// The IMAP watcher's lease and checkpoint (channels/email/imapwatch uses
// them through its State interface; its tests run the watcher on them).

func TestMailboxLease(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	leaseKey := f.prefix + ":{mbox:m}:lease"
	ttl := time.Minute
	ok, err := f.store.AcquireLease(ctx, "m", "a", ttl)
	if !ok || err != nil {
		t.Fatalf("a acquires: %v %v", ok, err)
	}
	if ok, err := f.store.AcquireLease(ctx, "m", "b", ttl); ok || err != nil {
		t.Fatalf("b acquires a's lease: %v %v", ok, err)
	}
	if ok, err := f.store.AcquireLease(ctx, "m", "a", ttl); !ok || err != nil {
		t.Fatalf("a re-acquires its own lease: %v %v", ok, err)
	}
	if ok, err := f.store.RenewLease(ctx, "m", "b", ttl); ok || err != nil {
		t.Fatalf("b renews a's lease: %v %v", ok, err)
	}
	if err := f.store.ReleaseLease(ctx, "m", "b"); err != nil {
		t.Fatal(err)
	}
	if v, _ := f.rdb.Get(ctx, leaseKey).Result(); v != "a" {
		t.Fatalf("b's release removed a's lease: %q", v)
	}
	if ok, err := f.store.RenewLease(ctx, "m", "a", ttl); !ok || err != nil {
		t.Fatalf("a renews: %v %v", ok, err)
	}
	if pttl := f.rdb.PTTL(ctx, leaseKey).Val(); pttl <= 0 || pttl > ttl {
		t.Fatalf("lease PTTL %v after renew", pttl)
	}
	if err := f.store.ReleaseLease(ctx, "m", "a"); err != nil {
		t.Fatal(err)
	}
	if err := f.rdb.Get(ctx, leaseKey).Err(); err != redis.Nil {
		t.Fatalf("lease still there after release: %v", err)
	}
	if ok, err := f.store.AcquireLease(ctx, "m", "b", ttl); !ok || err != nil {
		t.Fatalf("b acquires the released lease: %v %v", ok, err)
	}
	// Another mailbox has its own lease.
	if ok, err := f.store.AcquireLease(ctx, "n", "a", ttl); !ok || err != nil {
		t.Fatalf("a acquires another mailbox: %v %v", ok, err)
	}
}

func TestMailboxCheckpoint(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if cp, err := f.store.LoadCheckpoint(ctx, "m"); err != nil || cp != (intake.MailboxCheckpoint{}) {
		t.Fatalf("empty checkpoint %+v %v", cp, err)
	}
	at := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	if ok, err := f.store.SaveCheckpoint(ctx, "m", "a", intake.MailboxCheckpoint{UIDValidity: 7, UID: 3, At: at}); ok || err != nil {
		t.Fatalf("save without the lease: %v %v", ok, err)
	}
	if ok, err := f.store.AcquireLease(ctx, "m", "a", time.Minute); !ok || err != nil {
		t.Fatal(ok, err)
	}
	steps := []struct {
		save, want intake.MailboxCheckpoint
	}{
		{intake.MailboxCheckpoint{UIDValidity: 7, UID: 3, At: at}, intake.MailboxCheckpoint{UIDValidity: 7, UID: 3, At: at}},
		{intake.MailboxCheckpoint{UIDValidity: 7, UID: 2, At: at.Add(time.Hour)}, intake.MailboxCheckpoint{UIDValidity: 7, UID: 3, At: at}}, // never goes back
		{intake.MailboxCheckpoint{UIDValidity: 7, UID: 9, At: at.Add(time.Hour)}, intake.MailboxCheckpoint{UIDValidity: 7, UID: 9, At: at.Add(time.Hour)}},
		{intake.MailboxCheckpoint{UIDValidity: 8, UID: 0, At: at.Add(2 * time.Hour)}, intake.MailboxCheckpoint{UIDValidity: 8, UID: 0, At: at.Add(2 * time.Hour)}}, // reset
	}
	for i, s := range steps {
		if ok, err := f.store.SaveCheckpoint(ctx, "m", "a", s.save); !ok || err != nil {
			t.Fatalf("step %d: %v %v", i, ok, err)
		}
		cp, err := f.store.LoadCheckpoint(ctx, "m")
		if err != nil || !cp.At.Equal(s.want.At) || cp.UID != s.want.UID || cp.UIDValidity != s.want.UIDValidity {
			t.Errorf("step %d: %+v %v, want %+v", i, cp, err, s.want)
		}
	}
}

func TestCorruptCheckpointIsAnErrorNamingKeyAndField(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	key := f.prefix + ":{mbox:m}:checkpoint"
	for field, value := range map[string]string{"uidvalidity": "-1", "uid": "4294967296", "at": "noon"} {
		good := map[string]any{"uidvalidity": "7", "uid": "3", "at": "2026-11-25T09:00:00Z"}
		good[field] = value
		if err := f.rdb.HSet(ctx, key, good).Err(); err != nil {
			t.Fatal(err)
		}
		_, err := f.store.LoadCheckpoint(ctx, "m")
		wantNamed(t, field, err, key, "field "+field, value)
	}
}
