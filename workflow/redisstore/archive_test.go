package redisstore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// closeIncident walks a registered incident to closed, as agents and the
// reporter do.
func closeIncident(t testing.TB, f *fixture, id string) {
	t.Helper()
	ctx := context.Background()
	did := done(t)
	did(f.engine.Move(ctx, id, alice, intake.Solution, "restarted"))
	did(f.engine.Move(ctx, id, alice, intake.Validation, ""))
	did(f.engine.AnswerValidation(ctx, id, reporter, true, ""))
	did(f.engine.Rate(ctx, id, reporter, 5, "thanks"))
	did(f.engine.Move(ctx, id, alice, intake.Closed, "done"))
}

func register(t testing.TB, f *fixture, subject string) string {
	t.Helper()
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: subject,
		Description: strings.Repeat("The mail client hangs. ", 13), Reporter: intake.Reporter{Name: "Ana", Email: "Ana@Example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return inc.ID
}

// archiveFixture: old is closed 500 days before the archiver's now, fresh
// was closed a day before it, open is open.
func archiveFixture(t *testing.T) (f *fixture, old, fresh, open string, a *redisstore.Archiver, dir string) {
	f = newFixture(t)
	old = register(t, f, "old")
	closeIncident(t, f, old)
	f.clock.Add(499 * 24 * time.Hour)
	fresh = register(t, f, "fresh")
	closeIncident(t, f, fresh)
	open = register(t, f, "open")
	f.clock.Add(24 * time.Hour)
	dir = t.TempDir()
	return f, old, fresh, open, f.store.Archiver(dir, 400*24*time.Hour, f.clock.Now), dir
}

func archiveFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// archivedIDs reads every archive file in dir: the ids in them, in order.
func archivedIDs(t *testing.T, dir string) []string {
	t.Helper()
	var ids []string
	for _, name := range archiveFiles(t, dir) {
		if err := redisstore.ReadArchive(filepath.Join(dir, name), func(l redisstore.ArchivedIncident) error {
			ids = append(ids, l.ID)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

func TestArchiveMovesOldClosedIncidentsToAFileAndLeavesATombstone(t *testing.T) {
	f, old, fresh, open, a, dir := archiveFixture(t)
	ctx := context.Background()
	before, err := f.store.Get(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Archived != 1 || res.File == "" || res.Resumed != "" || len(res.Kept) != 0 {
		t.Fatalf("result %+v", res)
	}
	// The file holds the incident whole, history included.
	var lines []redisstore.ArchivedIncident
	if err := redisstore.ReadArchive(filepath.Join(dir, res.File), func(l redisstore.ArchivedIncident) error {
		lines = append(lines, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 || lines[0].ID != old || lines[0].Version != before.Version || len(lines[0].History) != len(before.History) ||
		lines[0].Description != before.Description || lines[0].Reporter.Email != before.Reporter.Email || len(lines[0].Surveys) != 2 {
		t.Fatalf("archived %+v, want %+v", lines, before)
	}
	// A new Store on the same Redis (a restart) knows where it went.
	again := redisstore.New(f.rdb, f.prefix, intake.RouteEmail)
	_, err = again.Get(ctx, old)
	var gone *intake.ArchivedError
	if !errors.As(err, &gone) || !errors.Is(err, intake.ErrNotFound) || gone.Tombstone.Archive != res.File ||
		!gone.Tombstone.ClosedAt.Equal(before.ClosedAt.Truncate(time.Second)) {
		t.Fatalf("get archived: %v", err)
	}
	if stub := gone.Tombstone.Stub(); stub.State != intake.Closed || !stub.IsReporter("ana@example.TEST") || stub.IsReporter("mallory@example.test") {
		t.Fatalf("stub %+v", stub)
	}
	// Nothing of it is left but the tombstone: no key, no index member.
	keys, err := redistest.Keys(ctx, f.rdb, f.prefix+":*"+old+"*")
	if err != nil || len(keys) != 0 {
		t.Fatalf("keys left: %v %v", keys, err)
	}
	// Nor in the reporter index (named by the hash the tombstone keeps).
	idx, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:idx:reporter:"+intake.ReporterHash("ana@example.test"))
	if err != nil || len(idx) == 0 {
		t.Fatalf("no reporter index: %v %v", idx, err)
	}
	for _, k := range idx {
		if err := f.rdb.ZScore(ctx, k, old).Err(); err != redis.Nil {
			t.Fatalf("%s still in %s: %v", old, k, err)
		}
	}
	list, err := f.store.List(ctx, intake.ListFilter{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, inc := range list.Incidents {
		listed = append(listed, inc.ID)
	}
	if slices.Contains(listed, old) || !slices.Contains(listed, fresh) || !slices.Contains(listed, open) {
		t.Fatalf("listed %v", listed)
	}
	// Fresh and open stay whole.
	for _, id := range []string{fresh, open} {
		if _, err := f.store.Get(ctx, id); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	// A second run finds nothing more and writes no file.
	if res, err := a.Run(ctx); err != nil || res.Archived != 0 || res.File != "" {
		t.Fatalf("second run %+v %v", res, err)
	}
	if files := archiveFiles(t, dir); len(files) != 1 {
		t.Fatalf("files %v", files)
	}
}

// Tombstones are kept in buckets of incident numbers, each a listpack; a
// tombstone a former version left in the shard's one hash still answers.
func TestTombstonesInBucketsAndInTheFormerHash(t *testing.T) {
	f, old, _, _, a, _ := archiveFixture(t)
	ctx := context.Background()
	res, err := a.Run(ctx)
	if err != nil || res.Archived != 1 {
		t.Fatalf("archive: %+v %v", res, err)
	}
	buckets, err := redistest.Keys(ctx, f.rdb, f.prefix+":*:archived:*")
	if err != nil || len(buckets) != 1 {
		t.Fatalf("tombstone buckets %v %v", buckets, err)
	}
	if enc := f.rdb.ObjectEncoding(ctx, buckets[0]).Val(); enc != "listpack" {
		t.Errorf("%s is a %s", buckets[0], enc)
	}
	// Moved to the former hash, as a former version left it.
	v := f.rdb.HGet(ctx, buckets[0], old).Val()
	former := buckets[0][:strings.LastIndex(buckets[0], ":")]
	if err := f.rdb.HSet(ctx, former, old, v).Err(); err != nil {
		t.Fatal(err)
	}
	f.rdb.HDel(ctx, buckets[0], old)
	stone, err := f.store.Tombstone(ctx, old)
	if err != nil || stone == nil || stone.Archive != res.File {
		t.Fatalf("tombstone in the former hash: %+v %v", stone, err)
	}
	// A malformed one names the key it is in.
	f.rdb.HSet(ctx, former, old, "garbage")
	if _, err := f.store.Tombstone(ctx, old); err == nil || !strings.Contains(err.Error(), former+", field "+old) {
		t.Errorf("malformed tombstone: %v", err)
	}
	if stone, err := f.store.Tombstone(ctx, "INC-999999"); stone != nil || err != nil {
		t.Errorf("never archived: %+v %v", stone, err)
	}
}

func TestArchiveDryRunWritesNothing(t *testing.T) {
	f, old, _, _, a, dir := archiveFixture(t)
	ctx := context.Background()
	cands, err := a.Candidates(ctx)
	if err != nil || len(cands) != 1 || cands[0].ID != old {
		t.Fatalf("candidates %+v %v", cands, err)
	}
	if files := archiveFiles(t, dir); len(files) != 0 {
		t.Fatalf("dry run wrote %v", files)
	}
	if _, err := f.store.Get(ctx, old); err != nil {
		t.Fatalf("dry run removed %s: %v", old, err)
	}
	if n, err := f.rdb.Exists(ctx, f.prefix+":{archive}:pending").Result(); err != nil || n != 0 {
		t.Fatalf("dry run left a marker: %d %v", n, err)
	}
}

func TestArchiveCrashBetweenWritingAndRemovingLosesAndDuplicatesNothing(t *testing.T) {
	f, old, _, _, a, dir := archiveFixture(t)
	ctx := context.Background()
	// The first step alone, as a run killed right after the fsync.
	file, err := a.Export(ctx)
	if err != nil || file == "" {
		t.Fatalf("export %q %v", file, err)
	}
	if _, err := f.store.Get(ctx, old); err != nil {
		t.Fatalf("the first step removed %s: %v", old, err)
	}
	if pending, err := a.Pending(ctx); err != nil || pending != file {
		t.Fatalf("pending %q %v, want %q", pending, err, file)
	}
	// Another incident grows old meanwhile: the next run completes the
	// interrupted one first, then archives that one to a file of its own.
	later := register(t, f, "later")
	closeIncident(t, f, later)
	f.clock.Add(401 * 24 * time.Hour)
	res, err := a.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != file || res.File == "" || res.File == file {
		t.Fatalf("result %+v", res)
	}
	// old (first file), then fresh and later (second file), each once.
	ids := archivedIDs(t, dir)
	if len(ids) != 3 || len(slices.Compact(slices.Sorted(slices.Values(ids)))) != 3 || !slices.Contains(ids, old) || !slices.Contains(ids, later) {
		t.Fatalf("archived ids %v", ids)
	}
	for _, id := range ids {
		if _, err := f.store.Get(ctx, id); !errors.As(err, new(*intake.ArchivedError)) {
			t.Fatalf("%s: %v, want archived", id, err)
		}
	}
	if n, _ := f.rdb.Exists(ctx, f.prefix+":{archive}:pending").Result(); n != 0 {
		t.Fatal("marker left after the run")
	}
}

func TestArchiveCrashBeforeTheFileWasCompleteRemovesNothing(t *testing.T) {
	f, old, _, _, a, dir := archiveFixture(t)
	ctx := context.Background()
	// A run that died while writing: the marker names a file that never
	// got renamed into place; a half-written temporary file is there.
	name := "incidents-20250101T000000.000Z.jsonl.gz"
	if err := f.rdb.Set(ctx, f.prefix+":{archive}:pending", name, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "."+name+".tmp"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(ctx)
	if err != nil || res.Resumed != "" || res.Archived != 1 {
		t.Fatalf("run %+v %v", res, err)
	}
	if files := archiveFiles(t, dir); len(files) != 1 || files[0] != res.File {
		t.Fatalf("files %v", files)
	}
	if ids := archivedIDs(t, dir); !slices.Equal(ids, []string{old}) {
		t.Fatalf("ids %v", ids)
	}
}

func TestArchiveKeepsAnIncidentThatChangedAfterItWasWritten(t *testing.T) {
	f, old, _, _, a, dir := archiveFixture(t)
	ctx := context.Background()
	before, err := f.store.Get(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Export(ctx); err != nil {
		t.Fatal(err)
	}
	// A change after the file was written (no workflow event changes a
	// closed incident today; a repair by hand or a later feature might):
	// the file's copy is stale, so the incident must stay.
	if err := f.rdb.HIncrBy(ctx, f.prefix+":{s01}:inc:"+old, "ver", 1).Err(); err != nil {
		t.Fatal(err)
	}
	res, err := a.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Kept by the resumed step; then written again, as it is now, to the
	// run's own file, and only then removed.
	if !slices.Contains(res.Kept, old) || res.File == "" || res.Archived != 1 {
		t.Fatalf("result %+v", res)
	}
	var version int64
	if err := redisstore.ReadArchive(filepath.Join(dir, res.File), func(l redisstore.ArchivedIncident) error {
		version = l.Version
		return nil
	}); err != nil || version != before.Version+1 {
		t.Fatalf("the new file holds version %d (%v), want %d", version, err, before.Version+1)
	}
}

func TestArchiveRunsOneAtATime(t *testing.T) {
	f, _, _, _, a, _ := archiveFixture(t)
	if err := f.rdb.Set(context.Background(), f.prefix+":{archive}:lock", "another", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Run(context.Background()); !errors.Is(err, redisstore.ErrArchiveBusy) {
		t.Fatalf("run under another's lock: %v", err)
	}
}

func TestArchiveNeedsItsSettings(t *testing.T) {
	f := newFixture(t)
	if _, err := f.store.Archiver(t.TempDir(), 0, f.clock.Now).Run(context.Background()); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("closed_after off: %v", err)
	}
	if _, err := f.store.Archiver("", time.Hour, f.clock.Now).Run(context.Background()); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("no dir: %v", err)
	}
}
