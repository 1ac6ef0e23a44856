package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func TestArchiveCommand(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	dir := t.TempDir()
	env := config.Env{"INTAKEBOT_REDIS_URL": os.Getenv(redistest.EnvURL), "INTAKEBOT_REDIS_PREFIX": prefix, "INTAKEBOT_RETENTION_DIR": dir}
	ctx := context.Background()
	var out, errOut bytes.Buffer

	// Off by default: a clear error, not a silent no-op.
	if err := run(ctx, []string{"archive"}, &out, &errOut, env); err == nil || !strings.Contains(err.Error(), "retention.closed_after") {
		t.Fatalf("archive with retention off: %v", err)
	}

	// An incident closed long ago, written straight into the store's
	// schema as it would be after a year of work.
	store := redisstore.New(rdb, prefix, intake.RouteEmail)
	if _, err := store.Create(ctx, "", &intake.Incident{Channel: intake.ChannelPhone, Subject: "old", State: intake.Closed,
		RegisteredAt: time.Now().Add(-900 * 24 * time.Hour)}, nil); err != nil {
		t.Fatal(err)
	}
	key := prefix + ":{s01}:inc:INC-000001"
	if err := rdb.HSet(ctx, key, "closed_at", time.Now().Add(-800*24*time.Hour).UTC().Format(time.RFC3339Nano)).Err(); err != nil {
		t.Fatal(err)
	}
	env["INTAKEBOT_RETENTION_CLOSED_AFTER"] = "400d"

	out.Reset()
	if err := run(ctx, []string{"archive", "--dry-run"}, &out, &errOut, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "INC-000001") || !strings.Contains(out.String(), "dry run: 1 incident(s)") {
		t.Fatalf("dry run said %q", out.String())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("dry run wrote %v", entries)
	}
	if n, _ := rdb.Exists(ctx, key).Result(); n != 1 {
		t.Fatal("dry run removed the incident")
	}

	out.Reset()
	if err := run(ctx, []string{"archive"}, &out, &errOut, env); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "archived 1 incident(s)") || !strings.Contains(out.String(), "wrote "+dir+"/incidents-") {
		t.Fatalf("archive said %q", out.String())
	}
	if _, err := store.Get(ctx, "INC-000001"); err == nil || !strings.Contains(err.Error(), "archived to incidents-") {
		t.Fatalf("get after archive: %v", err)
	}
}
