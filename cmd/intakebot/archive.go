package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/robfig/cron/v3"
)

// archiveCmd is "intakebot archive [--dry-run]": retention by hand (or by
// an outside timer). See redisstore/archive.go for how a run stays safe.
func archiveCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newFlags("archive", stderr)
	configPath := fs.String("config", "", "YAML configuration file (default: embedded defaults)")
	dryRun := fs.Bool("dry-run", false, "list what would be archived, change nothing")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"usage: intakebot archive [--dry-run] [--config FILE]"}
	}
	cfg, warnings, err := config.Load(*configPath, env)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "intakebot: warning:", w)
	}
	if err != nil {
		return invalidConfig(err)
	}
	if cfg.Retention.ClosedAfter <= 0 {
		return fmt.Errorf("retention.closed_after is off: set it (e.g. INTAKEBOT_RETENTION_CLOSED_AFTER=400d) to archive incidents closed longer ago than that")
	}
	store, closeStore, err := agentStore(env, *configPath, stderr)
	if err != nil {
		return err
	}
	defer closeStore()
	a := store.Archiver(cfg.Retention.Dir, time.Duration(cfg.Retention.ClosedAfter), time.Now)
	if *dryRun {
		if file, err := a.Pending(ctx); err != nil {
			return err
		} else if file != "" {
			fmt.Fprintf(stdout, "an interrupted run wrote %s: the next run completes it first\n", file)
		}
		cands, err := a.Candidates(ctx)
		if err != nil {
			return err
		}
		for _, c := range cands {
			fmt.Fprintf(stdout, "%s\tclosed %s\n", c.ID, c.ClosedAt.Format(time.RFC3339))
		}
		fmt.Fprintf(stdout, "dry run: %d incident(s) closed more than %s ago would be archived to %s; nothing was changed\n",
			len(cands), cfg.Retention.ClosedAfter, cfg.Retention.Dir)
		return nil
	}
	res, err := a.Run(ctx)
	printArchive(stdout, cfg.Retention.Dir, res)
	return err
}

func printArchive(w io.Writer, dir string, res redisstore.ArchiveResult) {
	if res.Resumed != "" {
		fmt.Fprintf(w, "completed the interrupted run of %s\n", res.Resumed)
	}
	if res.File != "" {
		fmt.Fprintf(w, "wrote %s/%s\n", dir, res.File)
	}
	fmt.Fprintf(w, "archived %d incident(s)\n", res.Archived)
	if len(res.Kept) > 0 {
		fmt.Fprintf(w, "kept %d that changed while being archived (a later run takes them): %v\n", len(res.Kept), res.Kept)
	}
}

// scheduleArchive adds retention.schedule to serve's cron, when set.
func scheduleArchive(ctx context.Context, s *cron.Cron, cfg *config.Config, store *redisstore.Store, log *slog.Logger) error {
	r := cfg.Retention
	if r.Schedule == "" || r.ClosedAfter <= 0 {
		return nil
	}
	a := store.Archiver(r.Dir, time.Duration(r.ClosedAfter), time.Now)
	_, err := s.AddFunc(r.Schedule, func() {
		res, err := a.Run(ctx)
		if err != nil {
			log.Error("archive run failed", "err", err, "archived", res.Archived)
			return
		}
		log.Info("archive run", "file", res.File, "resumed", res.Resumed, "archived", res.Archived, "kept", len(res.Kept))
	})
	if err != nil {
		return fmt.Errorf("retention.schedule %q: %w", r.Schedule, err)
	}
	return nil
}
