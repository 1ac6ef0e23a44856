package redisstore_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/poll"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func kbStore(t *testing.T) *redisstore.Store {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	return redisstore.New(rdb, prefix)
}

func jamArticle() kb.Article {
	return kb.Article{ID: "printer-jam", Audience: kb.Public, Author: "ana", CIs: []string{"printer"},
		Texts: map[intake.Lang]kb.Text{intake.Spanish: {Title: "Atascos de impresora", Body: "Abre la bandeja."}}}
}

func TestArticleCRUDAndHistory(t *testing.T) {
	s := kbStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	v1, err := s.CreateArticle(ctx, jamArticle(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if v1.Version != 1 || !v1.Created.Equal(t0) || !v1.Updated.Equal(t0) {
		t.Errorf("created %+v", v1)
	}
	if _, err := s.CreateArticle(ctx, jamArticle(), t0); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("second create: %v, want conflict", err)
	}
	edit := v1
	edit.Texts = map[intake.Lang]kb.Text{intake.Spanish: {Title: "Atascos de impresora", Body: "Abre la tapa trasera."}}
	v2, err := s.UpdateArticle(ctx, edit, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || !v2.Created.Equal(t0) || !v2.Updated.Equal(t0.Add(time.Hour)) {
		t.Errorf("updated %+v", v2)
	}
	// edit still says version 1: a stale editor is refused.
	if _, err := s.UpdateArticle(ctx, edit, t0); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("stale update: %v, want conflict", err)
	}
	got, err := s.Article(ctx, "printer-jam")
	if err != nil || got.Version != 2 || got.Texts[intake.Spanish].Body != "Abre la tapa trasera." {
		t.Errorf("read %+v %v", got, err)
	}
	hist, err := s.ArticleHistory(ctx, "printer-jam")
	if err != nil || len(hist) != 2 || hist[0].Texts[intake.Spanish].Body != "Abre la bandeja." || hist[1].Version != 2 {
		t.Errorf("history %+v %v", hist, err)
	}
	if err := s.DeleteArticle(ctx, "printer-jam"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Article(ctx, "printer-jam"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.DeleteArticle(ctx, "printer-jam"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	if _, err := s.UpdateArticle(ctx, jamArticle(), t0); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("update of a deleted article: %v", err)
	}
	// Re-creating continues the history rather than restarting it.
	v3, err := s.CreateArticle(ctx, jamArticle(), t0.Add(2*time.Hour))
	if err != nil || v3.Version != 3 {
		t.Errorf("re-create %+v %v", v3, err)
	}
	list, err := s.Articles(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "printer-jam" {
		t.Errorf("list %+v %v", list, err)
	}
}

func TestArticleInvalidIsRefused(t *testing.T) {
	s := kbStore(t)
	bad := jamArticle()
	bad.ID = "Not/Valid"
	if _, err := s.PutArticle(context.Background(), bad, time.Now()); !errors.Is(err, intake.ErrInvalid) || !errors.Is(err, kb.ErrInvalid) {
		t.Errorf("invalid id: %v", err)
	}
	if _, err := s.Article(context.Background(), "missing"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("missing: %v", err)
	}
	if _, err := s.ArticleHistory(context.Background(), "missing"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("missing history: %v", err)
	}
}

// Concurrent puts of one article each get their own version: WATCH makes
// the read-modify-write safe.
func TestConcurrentPutsGetDistinctVersions(t *testing.T) {
	s := kbStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	versions := make([]int, 10)
	for i := range versions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := s.PutArticle(ctx, jamArticle(), time.Now())
			if err != nil {
				t.Error(err)
				return
			}
			versions[i] = a.Version
		}()
	}
	wg.Wait()
	slices.Sort(versions)
	for i, v := range versions {
		if v != i+1 {
			t.Fatalf("versions %v, want 1..10", versions)
		}
	}
}

// A bot's index follows changes made by another bot through the stream.
func TestFollowKBKeepsTheIndexFresh(t *testing.T) {
	s := kbStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.CreateArticle(ctx, jamArticle(), time.Now()); err != nil {
		t.Fatal(err)
	}
	ix := kb.NewIndex()
	pos, err := s.LoadKB(ctx, ix)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.FollowKB(ctx, ix, pos)
		done <- err
	}()
	if got := ix.Search(kb.Query{Text: "la impresora se atasca"}); len(got) != 1 {
		t.Fatalf("after load: %+v", got)
	}
	vpn := kb.Article{ID: "vpn", Audience: kb.Public, Texts: map[intake.Lang]kb.Text{intake.English: {Title: "VPN does not connect"}}}
	if _, err := s.CreateArticle(ctx, vpn, time.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteArticle(ctx, "printer-jam"); err != nil {
		t.Fatal(err)
	}
	waitForKB(t, func() bool {
		return len(ix.Search(kb.Query{Text: "vpn"})) == 1 && len(ix.Search(kb.Query{Text: "impresora"})) == 0
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("FollowKB returned %v, want context.Canceled", err)
	}
}

func waitForKB(t *testing.T, cond func() bool) {
	t.Helper()
	poll.Until(t, "the index to follow the change stream", 10*time.Second, cond)
}
