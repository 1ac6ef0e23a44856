package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// hashed is the name the store gives a key of claims: prefix + the first
// 16 bytes of the SHA-256 of key, in hex.
func hashed(prefix, key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + hex.EncodeToString(sum[:16])
}

// ttlAbout fails unless key expires in want (less a minute of slack).
func ttlAbout(t *testing.T, f *fixture, key string, want time.Duration) {
	t.Helper()
	ttl, err := f.rdb.TTL(context.Background(), key).Result()
	if err != nil {
		t.Fatal(err)
	}
	if ttl > want || ttl < want-time.Minute {
		t.Errorf("%s: TTL %s, want %s", key, ttl, want)
	}
}

// TestLedgerEntriesExpireWithWhatTheyProtect checks on a real Redis the
// expiries the README's table promises.
func TestLedgerEntriesExpireWithWhatTheyProtect(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const day = 24 * time.Hour

	// An inbound claim outlives any redelivery of its message: 90 days.
	if _, err := f.store.Begin(ctx, "mid:x@example.test", "helpdesk/1/1", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	ttlAbout(t, f, hashed(f.prefix+":{inbound}:msg:", "mid:x@example.test"), 90*day)
	if _, err := f.store.Record(ctx, "mid:x@example.test", intake.InboundRecord{Channel: intake.ChannelEmail, Outcome: intake.OutcomeIgnored,
		Reason: "test", At: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	ttlAbout(t, f, hashed(f.prefix+":{inbound}:msg:", "mid:x@example.test"), 90*day)

	// A report key keeps its number as long: a retried registration finds it.
	inc, err := f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "s", Key: "mid:r@example.test",
		Reporter: intake.Reporter{Email: "ana@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	ttlAbout(t, f, hashed(f.prefix+":{keys}:report:", "mid:r@example.test"), 90*day)

	// A Message-ID points at its incident for 400 days.
	if err := f.store.RememberMail(ctx, inc.ID, "r@example.test", nil); err != nil {
		t.Fatal(err)
	}
	ttlAbout(t, f, f.prefix+":{mail}:thread:r@example.test", 400*day)

	// A delivered message's record goes at once: the version in its id
	// and the incident's refs keep it from being queued again.
	msg := f.prefix + ":{s01}:outbox:msg:" + inc.ID + ":ack:1"
	if n, _ := f.rdb.Exists(ctx, msg).Result(); n != 1 {
		t.Fatalf("no queued acknowledgment %s", msg)
	}
	if _, err := f.dispatcher(intake.RouteEmail, &recorder{}).Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.rdb.Exists(ctx, msg).Result(); n != 0 {
		t.Fatalf("delivered record %s kept", msg)
	}
}

func TestArchiveForgetsSlackStateAndLetsItsThreadExpire(t *testing.T) {
	f, old, _, _, a, _ := archiveFixture(t)
	ctx := context.Background()
	if err := f.store.LinkThread(ctx, old, "C1", "171.1"); err != nil {
		t.Fatal(err)
	}
	if res, err := a.Run(ctx); err != nil || res.Archived != 1 {
		t.Fatalf("archive %+v %v", res, err)
	}
	if n, _ := f.rdb.Exists(ctx, f.prefix+":{slack}:inc:"+old).Result(); n != 0 {
		t.Error("the Slack state of an archived incident stayed")
	}
	ttlAbout(t, f, f.prefix+":{slack}:thread:C1:171.1", 400*24*time.Hour)
	if id, err := f.rdb.Get(ctx, f.prefix+":{slack}:thread:C1:171.1").Result(); err != nil || id != old {
		t.Errorf("thread key: %q %v", id, err)
	}
}

func TestMemoryAdviceNamesTheSettingsToChange(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	old, err := f.rdb.ConfigGet(ctx, "stream-node-max-bytes").Result()
	if err != nil {
		t.Fatal(err)
	}
	// On a Cluster, every node: the store may ask any of them.
	set := func(v string) error {
		if c, ok := f.rdb.(*redis.ClusterClient); ok {
			return c.ForEachShard(ctx, func(ctx context.Context, n *redis.Client) error {
				return n.ConfigSet(ctx, "stream-node-max-bytes", v).Err()
			})
		}
		return f.rdb.ConfigSet(ctx, "stream-node-max-bytes", v).Err()
	}
	t.Cleanup(func() { set(old["stream-node-max-bytes"]) })
	if err := set("4096"); err != nil {
		t.Fatal(err)
	}
	advice := f.store.MemoryAdvice(ctx)
	if len(advice) == 0 || !strings.Contains(strings.Join(advice, "\n"), "stream-node-max-bytes is 4096; 512 is recommended") {
		t.Fatalf("advice %q", advice)
	}
	if err := set("512"); err != nil {
		t.Fatal(err)
	}
	if advice := f.store.MemoryAdvice(ctx); strings.Contains(strings.Join(advice, "\n"), "stream-node-max-bytes") {
		t.Fatalf("advice after the change %q", advice)
	}
}
