package redisstore_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// incKey is the key of an incident's hash, as the store's key schema has it.
func incKey(f *fixture, id string) string {
	n, err := intake.ParseID(id)
	if err != nil {
		panic(err)
	}
	return fmt.Sprintf("%s:{s%02d}:inc:%s", f.prefix, n%redisstore.Shards, id)
}

// wantNamed fails unless err names every one of parts (the key, the field).
func wantNamed(t *testing.T, what string, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: read a corrupt value without an error", what)
	}
	t.Logf("%s: %v", what, err)
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("%s: error %q does not name %q", what, err, p)
		}
	}
}

func TestCorruptIncidentFieldIsAnErrorNamingKeyAndField(t *testing.T) {
	for _, c := range []struct{ field, value string }{
		{"ver", "seven"},
		{"level", "2x"},
		{"reopen_count", "-"},
		{"repeats", "1.5"},
		{"registered_at", "yesterday"},
		{"entered_analysis", "2026-13-45"},
		{"closed_at", "soon"},
		{"flag_sla_warned", "never"},
	} {
		t.Run(c.field, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			id := reach(t, f, intake.Analysis)
			key := incKey(f, id)
			if err := f.rdb.HSet(ctx, key, c.field, c.value).Err(); err != nil {
				t.Fatal(err)
			}
			_, err := f.store.Get(ctx, id)
			wantNamed(t, "Get", err, key, "field "+c.field, c.value)
			_, err = f.store.List(ctx, intake.ListFilter{})
			wantNamed(t, "List", err, key, "field "+c.field)
		})
	}
}

func TestCorruptListAndStreamEntriesAreErrorsNamingTheKey(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Analysis)
	key := incKey(f, id)
	if err := f.rdb.RPush(ctx, key+":actions", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	_, err := f.store.Get(ctx, id)
	wantNamed(t, "action", err, key+":actions", "entry 0")

	f.rdb.Del(ctx, key+":actions")
	if err := f.rdb.RPush(ctx, key+":history", `["noon","x","created","","analysis","","email",""]`).Err(); err != nil {
		t.Fatal(err)
	}
	n := f.rdb.LLen(ctx, key+":history").Val() - 1
	_, err = f.store.Get(ctx, id)
	wantNamed(t, "history", err, key+":history", fmt.Sprintf("entry %d", n), "field at", "noon")

	f.rdb.LSet(ctx, key+":history", n, `{"at":"noon"}`)
	_, err = f.store.Get(ctx, id)
	wantNamed(t, "history", err, key+":history", fmt.Sprintf("entry %d", n), "not a history entry")

	// An incident stored before keeps its history in a stream.
	f.rdb.Del(ctx, key+":history")
	entry, err := f.rdb.XAdd(ctx, &redis.XAddArgs{Stream: key + ":history", Values: []string{"at", "noon", "event", "x"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.store.Get(ctx, id)
	wantNamed(t, "history", err, key+":history", entry, "field at", "noon")
}

// An incident stored before keeps its history in a stream: it is read as
// before, and a change appends to it, in order.
func TestHistoryOfAnIncidentStoredBeforeStaysAStream(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Analysis)
	key := incKey(f, id)
	f.rdb.Del(ctx, key+":history")
	if err := f.rdb.XAdd(ctx, &redis.XAddArgs{Stream: key + ":history", Values: []string{"at", "2026-01-02T03:04:05Z", "actor", "system:email",
		"event", "registered", "from", "", "to", "analysis", "note", "", "via", "email", "detail", ""}}).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := f.engine.AddAction(ctx, id, alice, "Restarted the spooler."); err != nil {
		t.Fatal(err)
	}
	inc, err := f.store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(inc.History) != 2 || inc.History[0].Event != "registered" || !inc.History[0].At.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) ||
		inc.History[1].Actor != "alice" || inc.History[1].At.IsZero() {
		t.Fatalf("history %+v", inc.History)
	}
	if typ := f.rdb.Type(ctx, key+":history").Val(); typ != "stream" {
		t.Errorf("the history became a %s", typ)
	}
}

// A new incident's history is a list: a stream cost ~1 KB of each.
func TestHistoryIsAList(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Analysis)
	if typ := f.rdb.Type(ctx, incKey(f, id)+":history").Val(); typ != "list" {
		t.Errorf("history is a %s", typ)
	}
	inc, err := f.store.Get(ctx, id)
	if err != nil || len(inc.History) == 0 || inc.History[0].To != intake.Analysis || inc.History[0].At.IsZero() {
		t.Fatalf("history %+v, %v", inc, err)
	}
}

func TestCorruptOutboxRecordIsAnErrorNamingKeyAndField(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reach(t, f, intake.Analysis) // queues the acknowledgement
	list, err := f.store.Outbox(ctx, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("outbox %v %v", list, err)
	}
	n, _ := intake.ParseID(list[0].Incident)
	key := fmt.Sprintf("%s:{s%02d}:outbox:msg:%s", f.prefix, n%redisstore.Shards, list[0].ID)
	if err := f.rdb.HSet(ctx, key, "created_at", "a while ago").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = f.store.Outbox(ctx, 10)
	wantNamed(t, "Outbox", err, key, "field created_at")
	_, err = f.store.Claim(ctx, intake.RouteEmail, f.clock.Now().Add(time.Hour), time.Minute, 10)
	wantNamed(t, "Claim", err, key, "field created_at")
}

func TestCorruptInboundRecordIsAnErrorNamingKeyAndField(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r := intake.InboundRecord{Channel: intake.ChannelEmail, Source: "inbox", Outcome: intake.OutcomeCreated, At: f.clock.Now()}
	if _, err := f.store.Begin(ctx, "<m@x>", "inbox", f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.Record(ctx, "<m@x>", r); err != nil {
		t.Fatal(err)
	}
	entries, err := f.rdb.XRange(ctx, f.prefix+":{inbound}:log:email", "-", "+").Result()
	if err != nil || len(entries) != 1 {
		t.Fatalf("ledger %v %v", entries, err)
	}
	log := f.prefix + ":{inbound}:log:email"
	bad, err := f.rdb.XAdd(ctx, &redis.XAddArgs{Stream: log, Values: []string{"at", "tuesday", "outcome", "created"}}).Result()
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.store.Inbound(ctx, intake.ChannelEmail, 10, "")
	wantNamed(t, "Inbound", err, log, bad, "field at", "tuesday")

	sum := sha256.Sum256([]byte("<m@x>"))
	claim := f.prefix + ":{inbound}:msg:" + hex.EncodeToString(sum[:16])
	if err := f.rdb.HSet(ctx, claim, "at", "later").Err(); err != nil {
		t.Fatal(err)
	}
	_, err = f.store.Begin(ctx, "<m@x>", "inbox", f.clock.Now())
	wantNamed(t, "Begin", err, claim, "field at", "later")
	_, err = f.store.BeginMany(ctx, []string{"<m@x>"}, []string{"inbox"}, f.clock.Now())
	wantNamed(t, "BeginMany", err, claim, "field at")
}

func TestCorruptIndexScoreIsAnErrorNamingTheIndex(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Analysis)
	n, _ := intake.ParseID(id)
	index := fmt.Sprintf("%s:{s%02d}:idx:all", f.prefix, n%redisstore.Shards)
	if err := f.rdb.ZAdd(ctx, index, redis.Z{Score: 1.5, Member: "INC-bad"}).Err(); err != nil {
		t.Fatal(err)
	}
	_, err := f.store.List(ctx, intake.ListFilter{})
	wantNamed(t, "List", err, index, "INC-bad", "1.5")
}
