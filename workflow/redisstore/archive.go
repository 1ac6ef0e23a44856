package redisstore

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// Retention: closed incidents older than a cut-off are written to a gzip
// JSON Lines file (one ArchivedIncident a line) and then removed from
// Redis, leaving a tombstone in their shard's P:{sNN}:archived:B hash
// (id -> "STAMP CLOSED-UNIX REPORTER-HASH", FILE = incidents-STAMP.jsonl.gz).
//
// A run is two steps with a marker around them, so that a crash anywhere
// loses nothing and duplicates nothing:
//
//  1. P:{archive}:pending := FILE; write .FILE.tmp, fsync it, rename it to
//     FILE, fsync the directory.
//  2. Read FILE back and, for each line, remove that incident (one script:
//     tombstone + delete, only if its version is still the one written);
//     then delete the marker.
//
// A run that finds the marker first finishes the run it names: FILE exists
// (fsynced, renamed) -> step 2 again, which is idempotent; else the crash
// came before the rename -> the temporary file is dropped and nothing was
// removed. What is removed always comes from a file read back after its
// fsync, never from a list in memory.
//
// P:{archive}:lock (SET NX, archiveLockTTL) keeps runs of several bots
// from overlapping.

//go:embed lua/archive_remove.lua
var luaArchiveRemove string

// archiveLockTTL bounds a run: a crashed run's lock frees itself after it.
const archiveLockTTL = time.Hour

// archiveChunk is how many incidents one pipelined round trip reads or
// removes.
const archiveChunk = 200

// ArchivedIncident is one line of an archive file: the incident whole (with
// its history) and the content of its attachments, by index.
type ArchivedIncident struct {
	*intake.Incident
	AttachmentContents [][]byte `json:"attachment_contents,omitempty"`
}

// ArchiveCandidate is a closed incident old enough to be archived.
type ArchiveCandidate struct {
	ID       string
	ClosedAt time.Time
}

// ArchiveResult says what a run did.
type ArchiveResult struct {
	// Resumed is the file of an interrupted run this run completed, if any.
	Resumed string
	// File is the archive this run wrote ("" when nothing was old enough).
	File string
	// Archived counts the incidents removed (and tombstoned) by this run,
	// resumed ones included.
	Archived int
	// Kept are incidents in a file that changed after they were written:
	// they stay in Redis and go to a later run's file, whose line then
	// supersedes the stale one (compare versions).
	Kept []string
}

// ErrArchiveBusy is another archive run holding the lock.
var ErrArchiveBusy = errors.New("another archive run is under way")

// Archiver runs retention over a store; see the comment at the top.
type Archiver struct {
	store       *Store
	dir         string
	closedAfter time.Duration
	now         func() time.Time
	remove      *redis.Script
}

// Archiver returns the retention runner that archives incidents closed for
// longer than closedAfter into files in dir.
func (s *Store) Archiver(dir string, closedAfter time.Duration, now func() time.Time) *Archiver {
	return &Archiver{store: s, dir: dir, closedAfter: closedAfter, now: now, remove: redis.NewScript(luaArchiveRemove)}
}

// tombstonesKey is the hash that holds incident number n's tombstone: the
// shard's tombstones are cut in buckets (bucketSpan) so that each stays a
// listpack. Tombstones left by a former version are in one hash per shard,
// formerTombstonesKey.
func (s *Store) tombstonesKey(shard string, n int64) string {
	return shard + ":archived:" + strconv.FormatInt(n/bucketSpan, 10)
}
func formerTombstonesKey(shard string) string { return shard + ":archived" }
func (a *Archiver) lockKey() string           { return a.store.prefix + ":{archive}:lock" }
func (a *Archiver) pendingKey() string        { return a.store.prefix + ":{archive}:pending" }

// Tombstone returns what is left of an archived incident, or nil when the
// id was never archived.
func (s *Store) Tombstone(ctx context.Context, id string) (*intake.Tombstone, error) {
	shard, _, err := s.keys(id)
	if err != nil {
		return nil, err
	}
	n, _ := intake.ParseID(id) // parsed by s.keys
	pipe := s.rdb.Pipeline()
	key := s.tombstonesKey(shard, n)
	now, former := pipe.HGet(ctx, key, id), pipe.HGet(ctx, formerTombstonesKey(shard), id)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, fmt.Errorf("read tombstone of %s: %w", id, err)
	}
	v := now.Val()
	if now.Err() == redis.Nil {
		if former.Err() == redis.Nil {
			return nil, nil
		}
		key, v = formerTombstonesKey(shard), former.Val()
	}
	f := strings.Fields(v)
	if len(f) < 2 {
		return nil, fmt.Errorf("redis key %s, field %s: malformed tombstone %q", key, id, intake.Clip(v, 80))
	}
	sec, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("redis key %s, field %s: malformed tombstone %q", key, id, intake.Clip(v, 80))
	}
	t := &intake.Tombstone{ID: id, Archive: archiveName(f[0]), ClosedAt: time.Unix(sec, 0).UTC()}
	if len(f) > 2 {
		t.ReporterHash = f[2]
	}
	return t, nil
}

// A tombstone is "STAMP CLOSED-UNIX REPORTER-HASH": the archive file's
// name without what every name has, to keep each one in a smaller
// allocation (scripts/bench-memory).
const archivePrefix, archiveSuffix = "incidents-", ".jsonl.gz"

func archiveName(stamp string) string { return archivePrefix + stamp + archiveSuffix }

func tombstoneValue(file string, inc *intake.Incident) string {
	var closed int64
	if inc.ClosedAt != nil {
		closed = inc.ClosedAt.Unix()
	}
	stamp := strings.TrimSuffix(strings.TrimPrefix(file, archivePrefix), archiveSuffix)
	return strings.TrimSpace(stamp + " " + strconv.FormatInt(closed, 10) + " " + intake.ReporterHash(inc.Reporter.Email))
}

// Candidates lists the closed incidents old enough to go, by id; the dry
// run prints them.
func (a *Archiver) Candidates(ctx context.Context) ([]ArchiveCandidate, error) {
	if a.closedAfter <= 0 {
		return nil, fmt.Errorf("%w: retention.closed_after is off", intake.ErrInvalid)
	}
	cutoff := a.now().Add(-a.closedAfter)
	var out []ArchiveCandidate
	for i := range Shards {
		shard := a.store.shardN(i)
		ids, err := a.store.rdb.ZRange(ctx, shard+":idx:state:"+string(intake.Closed), 0, -1).Result()
		if err != nil {
			return nil, fmt.Errorf("list closed incidents: %w", err)
		}
		for start := 0; start < len(ids); start += archiveChunk {
			chunk := ids[start:min(start+archiveChunk, len(ids))]
			pipe := a.store.rdb.Pipeline()
			cmds := make([]*redis.StringCmd, len(chunk))
			for j, id := range chunk {
				cmds[j] = pipe.HGet(ctx, shard+":inc:"+id, "closed_at")
			}
			if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
				return nil, fmt.Errorf("read closing times: %w", err)
			}
			for j, c := range cmds {
				if c.Err() == redis.Nil {
					continue // removed since the index was read
				}
				at, err := time.Parse(time.RFC3339Nano, c.Val())
				if err != nil {
					return nil, fmt.Errorf("redis key %s, field closed_at: %q is not a time", shard+":inc:"+chunk[j], intake.Clip(c.Val(), 80))
				}
				if at.Before(cutoff) {
					out = append(out, ArchiveCandidate{ID: chunk[j], ClosedAt: at})
				}
			}
		}
	}
	slices.SortFunc(out, func(x, y ArchiveCandidate) int { return strings.Compare(x.ID, y.ID) })
	return out, nil
}

// Pending names the file of an interrupted run that the next run
// completes first ("" for none).
func (a *Archiver) Pending(ctx context.Context) (string, error) {
	file, err := a.store.rdb.Get(ctx, a.pendingKey()).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read archive marker: %w", err)
	}
	return file, nil
}

// Run completes an interrupted run, if any, then archives what is old
// enough now.
func (a *Archiver) Run(ctx context.Context) (ArchiveResult, error) {
	var res ArchiveResult
	err := a.locked(ctx, func() error {
		if err := a.resume(ctx, &res); err != nil {
			return err
		}
		file, err := a.export(ctx)
		if err != nil || file == "" {
			return err
		}
		res.File = file
		return a.removeFile(ctx, file, &res)
	})
	return res, err
}

// Export is the first step alone: it writes and fsyncs the file and leaves
// the marker, as a run that crashed before removing anything does. The
// next Run completes it. It gives the file's name ("" for none).
func (a *Archiver) Export(ctx context.Context) (string, error) {
	var file string
	err := a.locked(ctx, func() error {
		var res ArchiveResult
		if err := a.resume(ctx, &res); err != nil {
			return err
		}
		var err error
		file, err = a.export(ctx)
		return err
	})
	return file, err
}

func (a *Archiver) locked(ctx context.Context, run func() error) error {
	if a.dir == "" {
		return fmt.Errorf("%w: retention.dir is empty", intake.ErrInvalid)
	}
	token := make([]byte, 16)
	if _, err := rand.Read(token); err != nil {
		return err
	}
	tok := hex.EncodeToString(token)
	ok, err := a.store.rdb.SetNX(ctx, a.lockKey(), tok, archiveLockTTL).Result()
	if err != nil {
		return fmt.Errorf("archive lock: %w", err)
	}
	if !ok {
		return fmt.Errorf("%w (lock %s; a crashed run's lock ends within %s)", ErrArchiveBusy, a.lockKey(), archiveLockTTL)
	}
	// Released with a fresh context: a cancelled run still frees it.
	defer a.store.scripts.unlock.Run(context.WithoutCancel(ctx), a.store.rdb, []string{a.lockKey()}, tok)
	return run()
}

// resume finishes the run the marker names.
func (a *Archiver) resume(ctx context.Context, res *ArchiveResult) error {
	file, err := a.store.rdb.Get(ctx, a.pendingKey()).Result()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read archive marker: %w", err)
	}
	if _, err := os.Stat(filepath.Join(a.dir, file)); errors.Is(err, os.ErrNotExist) {
		// The crash came before the rename: nothing was removed.
		if err := os.Remove(filepath.Join(a.dir, "."+file+".tmp")); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return a.store.rdb.Del(ctx, a.pendingKey()).Err()
	} else if err != nil {
		return err
	}
	res.Resumed = file
	return a.removeFile(ctx, file, res)
}

// export writes the candidates to a new file, fsynced and renamed into
// place, under the marker.
func (a *Archiver) export(ctx context.Context) (string, error) {
	cands, err := a.Candidates(ctx)
	if err != nil || len(cands) == 0 {
		return "", err
	}
	if err := os.MkdirAll(a.dir, 0o750); err != nil {
		return "", fmt.Errorf("retention.dir: %w", err)
	}
	// The time says when; the random part keeps two runs in one
	// millisecond (or under a frozen test clock) apart.
	suffix := make([]byte, 4)
	if _, err := rand.Read(suffix); err != nil {
		return "", err
	}
	file := archiveName(a.now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(suffix))
	if _, err := os.Stat(filepath.Join(a.dir, file)); err == nil {
		return "", fmt.Errorf("archive %s exists already", file)
	}
	// The marker first: a crash from here on is found by the next run.
	if err := a.store.rdb.Set(ctx, a.pendingKey(), file, 0).Err(); err != nil {
		return "", fmt.Errorf("write archive marker: %w", err)
	}
	tmp := filepath.Join(a.dir, "."+file+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o640)
	if err != nil {
		return "", err
	}
	defer f.Close() // after a failure; the success path closes it itself
	if err := a.write(ctx, f, cands); err != nil {
		return "", fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("fsync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, filepath.Join(a.dir, file)); err != nil {
		return "", err
	}
	if err := syncDir(a.dir); err != nil {
		return "", err
	}
	return file, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync %s: %w", dir, err)
	}
	return nil
}

func (a *Archiver) write(ctx context.Context, w io.Writer, cands []ArchiveCandidate) error {
	zw := gzip.NewWriter(w)
	bw := bufio.NewWriter(zw)
	for start := 0; start < len(cands); start += archiveChunk {
		chunk := cands[start:min(start+archiveChunk, len(cands))]
		cmds, err := a.store.pipelineScript(ctx, a.store.scripts.get, len(chunk), func(i int) ([]string, []any) {
			_, key, _ := a.store.keys(chunk[i].ID)
			return []string{key, key + ":actions", key + ":comments", key + ":surveys", key + ":history", key + ":attachments"}, nil
		})
		if err != nil {
			return fmt.Errorf("read incidents: %w", err)
		}
		for i, c := range cmds {
			id := chunk[i].ID
			res, err := c.Slice()
			if err != nil {
				return fmt.Errorf("read %s: %w", id, err)
			}
			if len(res) == 1 && res[0] == "NOTFOUND" {
				continue
			}
			inc, err := decodeResult(a.store.incKey(id), id, res)
			if err != nil {
				return err
			}
			line := ArchivedIncident{Incident: inc}
			for _, att := range inc.Attachments {
				full, err := a.store.Attachment(ctx, id, att.Index)
				if err != nil {
					return err
				}
				line.AttachmentContents = append(line.AttachmentContents, full.Content)
			}
			raw, err := json.Marshal(line)
			if err != nil {
				return err
			}
			if _, err := bw.Write(append(raw, '\n')); err != nil {
				return err
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}

// ReadArchive reads an archive file's incidents, calling each for each.
func ReadArchive(path string, each func(ArchivedIncident) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 0, 1<<20), 1<<30)
	for n := 1; sc.Scan(); n++ {
		var line ArchivedIncident
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Incident == nil || line.ID == "" {
			return fmt.Errorf("%s line %d: not an archived incident: %v", path, n, err)
		}
		if err := each(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// removeFile is step 2: remove what the file holds, then the marker.
func (a *Archiver) removeFile(ctx context.Context, file string, res *ArchiveResult) error {
	var incs []*intake.Incident
	if err := ReadArchive(filepath.Join(a.dir, file), func(l ArchivedIncident) error {
		incs = append(incs, l.Incident)
		return nil
	}); err != nil {
		return err
	}
	queued, err := a.queued(ctx)
	if err != nil {
		return err
	}
	for start := 0; start < len(incs); start += archiveChunk {
		chunk := incs[start:min(start+archiveChunk, len(incs))]
		cmds, err := a.store.pipelineScript(ctx, a.remove, len(chunk), func(i int) ([]string, []any) {
			inc := chunk[i]
			shard, key, _ := a.store.keys(inc.ID)
			n, _ := intake.ParseID(inc.ID) // parsed by a.store.keys
			keys := []string{key, a.store.tombstonesKey(shard, n), shard + ":idx:all", a.store.dueKey(shard)}
			for _, suffix := range []string{":actions", ":comments", ":surveys", ":history", ":refs", ":people", ":attachments", ":attrefs"} {
				keys = append(keys, key+suffix)
			}
			comments := make([]string, len(inc.Comments))
			for j, c := range inc.Comments {
				comments[j] = c.Text
			}
			terms := strings.Join(a.store.incidentTerms(inc.Subject, inc.Description, comments), " ")
			args := []any{inc.ID, inc.Version, tombstoneValue(file, inc), string(intake.Closed), shard, terms, n, bucketSpan}
			// Its messages still queued, dead-lettered or kept as dropped:
			// they go with it.
			for _, r := range intake.Routes() {
				q, dead := a.store.outboxKeys(shard, r)
				keys = append(keys, q, dead, droppedKey(shard, r))
			}
			for _, mid := range queued[inc.ID] {
				args = append(args, mid)
			}
			return keys, args
		})
		if err != nil {
			return fmt.Errorf("remove archived incidents: %w", err)
		}
		var removed []string
		for i, c := range cmds {
			switch v, _ := c.Text(); v {
			case "OK", "DONE":
				res.Archived++
				removed = append(removed, chunk[i].ID)
			case "CHANGED":
				res.Kept = append(res.Kept, chunk[i].ID)
			case "GONE":
				// Neither here nor tombstoned: removed by hand. Nothing to do.
			default:
				return fmt.Errorf("remove %s: unexpected reply %v (%v)", chunk[i].ID, c.Val(), c.Err())
			}
		}
		// After DONE as well: a crash may have come between the script
		// and this, and both steps are idempotent.
		if err := a.forgetSlack(ctx, removed); err != nil {
			return err
		}
	}
	return a.store.rdb.Del(ctx, a.pendingKey()).Err()
}

// queued maps incidents to their messages still in an outbox queue, its
// dead letters or its dropped questions, read once per run: few, as
// delivered messages leave them and the dropped are bounded (keepDropped).
func (a *Archiver) queued(ctx context.Context) (map[string][]string, error) {
	out := map[string][]string{}
	for i := range Shards {
		pipe := a.store.rdb.Pipeline()
		var cmds []*redis.StringSliceCmd
		for _, r := range intake.Routes() {
			q, dead := a.store.outboxKeys(a.store.shardN(i), r)
			cmds = append(cmds, pipe.ZRange(ctx, q, 0, -1), pipe.ZRange(ctx, dead, 0, -1),
				pipe.ZRange(ctx, droppedKey(a.store.shardN(i), r), 0, -1))
		}
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return nil, fmt.Errorf("read outbox queues: %w", err)
		}
		for _, c := range cmds {
			for _, mid := range c.Val() {
				if id, _, ok := strings.Cut(mid, ":"); ok && !slices.Contains(out[id], mid) {
					out[id] = append(out[id], mid)
				}
			}
		}
	}
	return out, nil
}

// forgetSlack drops the Slack state of archived incidents (where their
// prompts were: nothing will update them again) and gives their thread's
// key the expiry mail threads have, so that a reply in the thread still
// finds the tombstone for a while and the key does not stay forever.
// It lives under {slack}, outside the incident's slot: a second step.
func (a *Archiver) forgetSlack(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := a.store.rdb.Pipeline()
	threads := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		threads[i] = pipe.HGet(ctx, a.store.slackIncident(id), "thread")
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return fmt.Errorf("read slack threads: %w", err)
	}
	pipe = a.store.rdb.Pipeline()
	for i, id := range ids {
		if ch, ts, ok := strings.Cut(threads[i].Val(), "/"); ok {
			pipe.Expire(ctx, a.store.slackThread(ch, ts), threadTTL)
		}
		pipe.Del(ctx, a.store.slackIncident(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("forget slack state: %w", err)
	}
	return nil
}
