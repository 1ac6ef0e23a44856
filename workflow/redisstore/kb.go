package redisstore

// Knowledge-base keys (P is the prefix). All of them share the {kb} hash
// tag, so every change is one MULTI/EXEC on one node, on Redis Cluster too:
//
//	P:{kb}:articles      hash: article id -> JSON of its current version
//	P:{kb}:history:ID    list: JSON of every saved version, oldest first
//	P:{kb}:changes       stream: op (put|delete), id, version; each bot
//	                     follows it to keep its in-memory index fresh
//	                     (known errors too: their ids start with KE-,
//	                     see knownerror.go)
//	P:{kb}:solved        hash: article id -> times it solved a reporter's problem
//
// Changes use WATCH + MULTI rather than a Lua script: they touch one
// article, conflicts are rare (editors), and it keeps the KB out of the
// incident scripts.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// kbChangesMaxLen bounds the change stream. Followers read it every second
// or sooner, so only a burst of this many changes in between (a huge
// import) could leave one behind; a restart reloads everything.
const kbChangesMaxLen = 10000

func (s *Store) kbKey(part string) string { return s.prefix + ":{kb}:" + part }

// KBChange is one entry of the KB change stream.
type KBChange struct {
	StreamID string
	Op       string // "put" or "delete"
	ID       string
	Version  int
}

// CreateArticle stores a new article as version 1 (or the version after
// its deleted predecessor's history). An existing id is a conflict.
func (s *Store) CreateArticle(ctx context.Context, a kb.Article, now time.Time) (kb.Article, error) {
	return s.saveArticle(ctx, a, now, func(cur *kb.Article) error {
		if cur != nil {
			return fmt.Errorf("%w: article %q exists", intake.ErrConflict, a.ID)
		}
		return nil
	})
}

// UpdateArticle replaces an existing article. When a.Version is not zero it
// must be the stored version, so two editors never overwrite each other
// unknowingly.
func (s *Store) UpdateArticle(ctx context.Context, a kb.Article, now time.Time) (kb.Article, error) {
	return s.saveArticle(ctx, a, now, func(cur *kb.Article) error {
		if cur == nil {
			return fmt.Errorf("%w: article %q", intake.ErrNotFound, a.ID)
		}
		if a.Version != 0 && a.Version != cur.Version {
			return fmt.Errorf("%w: article %q is at version %d, not %d; reload it", intake.ErrConflict, a.ID, cur.Version, a.Version)
		}
		return nil
	})
}

// PutArticle creates or replaces an article whatever its stored version:
// what an import does.
func (s *Store) PutArticle(ctx context.Context, a kb.Article, now time.Time) (kb.Article, error) {
	return s.saveArticle(ctx, a, now, func(*kb.Article) error { return nil })
}

func (s *Store) saveArticle(ctx context.Context, a kb.Article, now time.Time, check func(cur *kb.Article) error) (kb.Article, error) {
	if err := a.Validate(); err != nil {
		return kb.Article{}, fmt.Errorf("%w: %w", intake.ErrInvalid, err)
	}
	articles, history, changes := s.kbKey("articles"), s.kbKey("history:"+a.ID), s.kbKey("changes")
	var saved kb.Article
	txf := func(tx *redis.Tx) error {
		cur, err := s.readArticle(ctx, tx, a.ID)
		if err != nil && !errors.Is(err, intake.ErrNotFound) {
			return err
		}
		if err := check(cur); err != nil {
			return err
		}
		versions, err := tx.LLen(ctx, history).Result()
		if err != nil {
			return err
		}
		saved = a
		saved.Version = int(versions) + 1
		saved.Updated = now.UTC()
		switch {
		case cur != nil:
			saved.Created = cur.Created
		case saved.Created.IsZero():
			saved.Created = now.UTC()
		}
		doc, err := json.Marshal(saved)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, articles, a.ID, doc)
			p.RPush(ctx, history, doc)
			p.XAdd(ctx, &redis.XAddArgs{Stream: changes, MaxLen: kbChangesMaxLen, Approx: true,
				Values: []any{"op", "put", "id", a.ID, "version", saved.Version}})
			return nil
		})
		return err
	}
	if err := s.kbTx(ctx, txf, articles, history); err != nil {
		return kb.Article{}, err
	}
	return saved, nil
}

// kbTx runs f under WATCH, retrying when a concurrent change got in first.
func (s *Store) kbTx(ctx context.Context, f func(*redis.Tx) error, keys ...string) error {
	for range 20 {
		err := s.rdb.Watch(ctx, f, keys...)
		if !errors.Is(err, redis.TxFailedErr) {
			return err
		}
	}
	return fmt.Errorf("%w: the knowledge base is changing too fast; try again", intake.ErrConflict)
}

// DeleteArticle removes an article. Its history stays, so a deleted
// article can be read (and restored) from ArticleHistory.
func (s *Store) DeleteArticle(ctx context.Context, id string) error {
	articles, changes := s.kbKey("articles"), s.kbKey("changes")
	return s.kbTx(ctx, func(tx *redis.Tx) error {
		cur, err := s.readArticle(ctx, tx, id)
		if err != nil {
			return err
		}
		_, err = tx.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HDel(ctx, articles, id)
			p.XAdd(ctx, &redis.XAddArgs{Stream: changes, MaxLen: kbChangesMaxLen, Approx: true,
				Values: []any{"op", "delete", "id", id, "version", cur.Version}})
			return nil
		})
		return err
	}, articles)
}

// Article returns the current version of one article.
func (s *Store) Article(ctx context.Context, id string) (kb.Article, error) {
	a, err := s.readArticle(ctx, s.rdb, id)
	if err != nil {
		return kb.Article{}, err
	}
	return *a, nil
}

func (s *Store) readArticle(ctx context.Context, c redis.Cmdable, id string) (*kb.Article, error) {
	doc, err := c.HGet(ctx, s.kbKey("articles"), id).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: article %q", intake.ErrNotFound, id)
	}
	if err != nil {
		return nil, err
	}
	var a kb.Article
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, fmt.Errorf("corrupt article %q: %w", id, err)
	}
	return &a, nil
}

// Articles returns every current article, by id.
func (s *Store) Articles(ctx context.Context) ([]kb.Article, error) {
	docs, err := s.rdb.HGetAll(ctx, s.kbKey("articles")).Result()
	if err != nil {
		return nil, err
	}
	out := make([]kb.Article, 0, len(docs))
	for id, doc := range docs {
		var a kb.Article
		if err := json.Unmarshal([]byte(doc), &a); err != nil {
			return nil, fmt.Errorf("corrupt article %q: %w", id, err)
		}
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// ArticleHistory returns every saved version of an article, oldest first.
func (s *Store) ArticleHistory(ctx context.Context, id string) ([]kb.Article, error) {
	docs, err := s.rdb.LRange(ctx, s.kbKey("history:"+id), 0, -1).Result()
	if err != nil {
		return nil, err
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("%w: article %q has no history", intake.ErrNotFound, id)
	}
	out := make([]kb.Article, len(docs))
	for i, doc := range docs {
		if err := json.Unmarshal([]byte(doc), &out[i]); err != nil {
			return nil, fmt.Errorf("corrupt version %d of article %q: %w", i+1, id, err)
		}
	}
	return out, nil
}

// LoadKB fills ix with every current article and returns the position in
// the change stream to follow from. The position is read first, so a
// change made during the load is replayed rather than missed.
func (s *Store) LoadKB(ctx context.Context, ix *kb.Index) (string, error) {
	last := "0-0"
	msgs, err := s.rdb.XRevRangeN(ctx, s.kbKey("changes"), "+", "-", 1).Result()
	if err != nil {
		return "", err
	}
	if len(msgs) == 1 {
		last = msgs[0].ID
	}
	all, err := s.Articles(ctx)
	if err != nil {
		return "", err
	}
	for _, a := range all {
		ix.Put(a)
	}
	if err := s.loadKnownErrors(ctx, ix); err != nil {
		return "", err
	}
	return last, nil
}

// KBChanges waits up to block for changes after the stream position
// after, and returns them with the new position.
func (s *Store) KBChanges(ctx context.Context, after string, block time.Duration) ([]KBChange, string, error) {
	res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: []string{s.kbKey("changes"), after}, Block: block, Count: 500}).Result()
	if errors.Is(err, redis.Nil) {
		return nil, after, nil
	}
	if err != nil {
		return nil, after, err
	}
	var out []KBChange
	for _, st := range res {
		for _, m := range st.Messages {
			c := KBChange{StreamID: m.ID}
			c.Op, _ = m.Values["op"].(string)
			c.ID, _ = m.Values["id"].(string)
			v, _ := m.Values["version"].(string)
			if c.Version, err = strconv.Atoi(v); err != nil || c.ID == "" {
				return nil, after, fmt.Errorf("malformed KB change %s: %v", m.ID, m.Values)
			}
			out = append(out, c)
			after = m.ID
		}
	}
	return out, after, nil
}

// FollowKB applies to ix every change after the stream position pos
// (from LoadKB) until ctx ends or Redis fails, and returns the position
// reached with ctx's error or the Redis error; the caller decides whether
// to follow again from there.
func (s *Store) FollowKB(ctx context.Context, ix *kb.Index, pos string) (string, error) {
	for {
		// A short block, so a cancelled ctx is noticed within a second
		// even where the client does not interrupt a blocked read.
		changes, next, err := s.KBChanges(ctx, pos, time.Second)
		if ctx.Err() != nil {
			return pos, ctx.Err()
		}
		if err != nil {
			return pos, err
		}
		for _, c := range changes {
			if err := s.applyKBChange(ctx, ix, c); err != nil {
				return pos, err
			}
			pos = c.StreamID
		}
		pos = next
	}
}

// applyKBChange reads the article as it is now rather than the version in
// the change: a later change may already have replaced or removed it.
func (s *Store) applyKBChange(ctx context.Context, ix *kb.Index, c KBChange) error {
	if kb.IsKnownError(c.ID) {
		return s.applyKnownErrorChange(ctx, ix, c.ID)
	}
	a, err := s.readArticle(ctx, s.rdb, c.ID)
	switch {
	case errors.Is(err, intake.ErrNotFound):
		ix.Delete(c.ID)
		return nil
	case err != nil:
		return err
	}
	ix.Put(*a)
	return nil
}

// CountSolved adds one to the times an article solved a reporter's
// problem (P:{kb}:solved, a hash: article id -> count) and returns the
// new count.
func (s *Store) CountSolved(ctx context.Context, articleID string) (int64, error) {
	return s.rdb.HIncrBy(ctx, s.kbKey("solved"), articleID, 1).Result()
}

// SolvedCounts returns how often each article solved a reporter's
// problem; an article never chosen is absent.
func (s *Store) SolvedCounts(ctx context.Context) (map[string]int64, error) {
	all, err := s.rdb.HGetAll(ctx, s.kbKey("solved")).Result()
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(all))
	for id, v := range all {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("redis key %s, field %s: %q is not a count", s.kbKey("solved"), id, v)
		}
		out[id] = n
	}
	return out, nil
}
