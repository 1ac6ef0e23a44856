package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// agentsCmd administers agents directly in Redis: it is what creates the
// first token, so it cannot go through the API.
func agentsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newFlags("agents add", stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	admin := fs.Bool("admin", false, "the agent may close any incident")
	if len(args) == 0 || args[0] != "add" {
		return usageError{"usage: intakebot agents add NAME [--admin] [--config FILE]"}
	}
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: intakebot agents add NAME [--admin] [--config FILE]"}
	}
	// Only redis matters here: the rest is serve's to validate.
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
	token, err := redisstore.New(rdb, cfg.Redis.Prefix).AddAgent(ctx, pos[0], *admin, time.Now())
	if err != nil {
		return err
	}
	role := "agent"
	if *admin {
		role = "admin agent"
	}
	fmt.Fprintf(stdout, "Created %s %q. Its API token (shown once; only its hash is stored):\n%s\n", role, pos[0], token)
	return nil
}
