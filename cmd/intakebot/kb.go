package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

const kbUsage = `usage:
  intakebot kb list                      every article: id, version, audience, languages, title
  intakebot kb show ID [--history]       the article as Markdown files with front matter (every version with --history)
  intakebot kb add FILE...               create an article from its ID.LANG.md files
  intakebot kb edit FILE...              replace an article from its files (a version in them must be the stored one)
  intakebot kb rm ID                     delete an article (its history stays)
  intakebot kb import DIR                create or replace every article of DIR/*.md
  intakebot kb export DIR                write every article to DIR as ID.LANG.md files
  intakebot kb seed                      add the shipped example articles that are missing (and the example known errors to a KB with none)
All take [--config FILE]. They work on Redis directly, like agents add: running bots
follow the changes.`

// kbCmd administers the knowledge base directly in Redis, so a team can
// keep its KB in Git and import it from a deploy job without an API token.
func kbCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	if len(args) == 0 || args[0] == "help" {
		fmt.Fprintln(stdout, kbUsage)
		if len(args) == 0 {
			return usageError{"kb: no subcommand given"}
		}
		return nil
	}
	sub := args[0]
	fs := newFlags("kb "+sub, stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	history := fs.Bool("history", false, "show: every version, oldest first")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	want := map[string]int{"list": 0, "show": 1, "rm": 1, "import": 1, "export": 1, "seed": 0}
	if n, fixed := want[sub]; fixed && len(pos) != n || !fixed && (sub != "add" && sub != "edit" || len(pos) == 0) {
		return usageError{kbUsage}
	}
	cfg, warnings, err := config.Load(*configPath, env)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "intakebot: warning:", w)
	}
	if err != nil {
		return invalidConfig(err)
	}
	if cfg.Redis.URL == "" {
		return fmt.Errorf("redis.url is not set: set INTAKEBOT_REDIS_URL to the Redis that intakebot serve uses (in embedded mode serve prints it)")
	}
	rdb, err := redisstore.Connect(cfg.Redis.URL)
	if err != nil {
		return err
	}
	defer rdb.Close()
	return kbRun(ctx, redisstore.New(rdb, cfg.Redis.Prefix), sub, pos, *history, stdout, time.Now())
}

func kbRun(ctx context.Context, s *redisstore.Store, sub string, pos []string, history bool, stdout io.Writer, now time.Time) error {
	switch sub {
	case "list":
		list, err := s.Articles(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tVERSION\tAUDIENCE\tLANGS\tTITLE")
		for _, a := range list {
			var langs []string
			for _, l := range a.Langs() {
				langs = append(langs, string(l))
			}
			t, _ := a.Text("en")
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", a.ID, a.Version, a.Audience, strings.Join(langs, ","), t.Title)
		}
		return tw.Flush()
	case "show":
		versions := []kb.Article{}
		if history {
			var err error
			if versions, err = s.ArticleHistory(ctx, pos[0]); err != nil {
				return err
			}
		} else {
			a, err := s.Article(ctx, pos[0])
			if err != nil {
				return err
			}
			versions = append(versions, a)
		}
		for _, a := range versions {
			files, err := kb.FormatFiles(a)
			if err != nil {
				return err
			}
			for _, name := range sortedKeys(files) {
				fmt.Fprintf(stdout, "# %s (version %d)\n%s\n", name, a.Version, files[name])
			}
		}
		return nil
	case "add", "edit":
		files := map[string][]byte{}
		for _, p := range pos {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if _, dup := files[filepath.Base(p)]; dup {
				return fmt.Errorf("%s: two files named %s", p, filepath.Base(p))
			}
			files[filepath.Base(p)] = data
		}
		arts, err := kb.ParseFiles(files)
		if err != nil {
			return err
		}
		for _, a := range arts {
			save := s.CreateArticle
			if sub == "edit" {
				save = s.UpdateArticle
			}
			saved, err := save(ctx, a, now)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "Saved %s, version %d.\n", saved.ID, saved.Version)
		}
		return nil
	case "rm":
		if err := s.DeleteArticle(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Deleted %s (its history is kept).\n", pos[0])
		return nil
	case "import":
		arts, err := kb.ReadFS(os.DirFS(pos[0]))
		if err != nil {
			return err
		}
		if len(arts) == 0 {
			return fmt.Errorf("%s has no *.md article files", pos[0])
		}
		for _, a := range arts {
			if _, err := s.PutArticle(ctx, a, now); err != nil {
				return fmt.Errorf("%s: %w", a.ID, err)
			}
		}
		fmt.Fprintf(stdout, "Imported %d articles from %s.\n", len(arts), pos[0])
		return nil
	case "export":
		list, err := s.Articles(ctx)
		if err != nil {
			return err
		}
		if err := os.MkdirAll(pos[0], 0o755); err != nil {
			return err
		}
		n := 0
		for _, a := range list {
			files, err := kb.FormatFiles(a)
			if err != nil {
				return err
			}
			for name, data := range files {
				if err := os.WriteFile(filepath.Join(pos[0], name), data, 0o644); err != nil {
					return err
				}
				n++
			}
		}
		fmt.Fprintf(stdout, "Exported %d articles (%d files) to %s.\n", len(list), n, pos[0])
		return nil
	case "seed":
		articles, known, err := seedKB(ctx, s, now)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Added %d example articles and %d example known errors.\n", articles, known)
		return nil
	}
	return usageError{kbUsage}
}

// seedKB adds the shipped example articles that are not there yet, and
// the example known errors to a store without any; it never overwrites
// what a team has edited.
func seedKB(ctx context.Context, s *redisstore.Store, now time.Time) (articles, knownErrors int, err error) {
	seed, err := kb.Seed()
	if err != nil {
		return 0, 0, err
	}
	for _, a := range seed {
		_, err := s.CreateArticle(ctx, a, now)
		switch {
		case err == nil:
			articles++
		case !errors.Is(err, intake.ErrConflict):
			return articles, 0, err
		}
	}
	// Known errors have no ids of their own to collide on: they are
	// seeded only into a store that has none yet.
	known, err := s.KnownErrors(ctx)
	if err != nil || len(known) > 0 {
		return articles, 0, err
	}
	for i, k := range kb.SeedKnownErrors() {
		if _, err := s.CreateKnownError(ctx, fmt.Sprintf("seed-%d", i), k, now); err != nil {
			return articles, knownErrors, err
		}
		knownErrors++
	}
	return articles, knownErrors, nil
}

func sortedKeys(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// loadKB fills the bot's in-memory search index (seeding the example
// articles first on the embedded store, as local mode and the demo use;
// a real Redis is never seeded) and returns the change-stream position to
// follow from. It checks the Redis URL rather than LocalMode because local
// mode configures the mail channel once started, after which LocalMode
// says false.
func loadKB(ctx context.Context, cfg *config.Config, s *redisstore.Store, ix *kb.Index, log *slog.Logger) (string, error) {
	if cfg.Redis.URL == "" {
		articles, known, err := seedKB(ctx, s, time.Now())
		if err != nil {
			return "", fmt.Errorf("seeding the knowledge base: %w", err)
		}
		log.Info("knowledge base seeded with examples", "articles", articles, "known_errors", known)
	}
	pos, err := s.LoadKB(ctx, ix)
	if err != nil {
		return "", fmt.Errorf("loading the knowledge base: %w", err)
	}
	log.Info("knowledge base loaded", "articles", ix.Len())
	return pos, nil
}

// followKB keeps ix fresh from the change stream until ctx ends, following
// again a second after a Redis failure.
func followKB(ctx context.Context, s *redisstore.Store, ix *kb.Index, pos string, log *slog.Logger) {
	for {
		var err error
		pos, err = s.FollowKB(ctx, ix, pos)
		if ctx.Err() != nil {
			return
		}
		log.Warn("following knowledge-base changes failed; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}
