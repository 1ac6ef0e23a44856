package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"golang.org/x/term"
)

const agentsUsage = `Usage: intakebot agents COMMAND [flags]

  add NAME [--admin] [--editor] [--expires 90d]
                                       create an agent; prints its API token last (shown once).
                                       --editor: it may change the knowledge base (admins always may)
  editor NAME on|off                   let an agent change the knowledge base, or stop it
  list [--json]                        every agent: admin, expiry, last use, password set
  revoke NAME                          remove the agent: its token and password stop working at once
  rotate NAME [--expires 90d]          a new token (printed last); the old one stops working at once.
                                       Without --expires the agent keeps its expiry
  passwd NAME                          set the console password, read from the terminal (not echoed)
                                       or from the first line of standard input; never from the command line

--expires takes days (90d), weeks (12w) or hours (36h). Every command takes
--config FILE and talks to Redis directly (redis.url, INTAKEBOT_REDIS_URL): it
is what creates the first admin, before any token exists. Admins can do the
same through the API (/api/v1/agents).
`

// agentsCmd administers agents directly in Redis: it is what creates the
// first token, so it cannot go through the API.
func agentsCmd(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, env config.Env) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, agentsUsage)
		return usageError{"usage: intakebot agents add|list|revoke|rotate|passwd|editor ..."}
	}
	cmd, form, npos := args[0], "", 1
	switch cmd {
	case "add":
		form = "add NAME [--admin] [--editor] [--expires 90d]"
	case "editor":
		form, npos = "editor NAME on|off", 2
	case "list":
		form, npos = "list [--json]", 0
	case "revoke":
		form = "revoke NAME"
	case "rotate":
		form = "rotate NAME [--expires 90d]"
	case "passwd":
		form = "passwd NAME (the password comes from the terminal or standard input)"
	case "help", "-h", "--help":
		fmt.Fprint(stdout, agentsUsage)
		return nil
	default:
		fmt.Fprint(stderr, agentsUsage)
		return usageError{fmt.Sprintf("unknown agents command %q", cmd)}
	}
	fs := newFlags("agents "+cmd, stderr)
	configPath := fs.String("config", "", "YAML configuration file")
	admin := fs.Bool("admin", false, "the agent may close any incident and administer agents")
	editor := fs.Bool("editor", false, "the agent may change the knowledge base")
	expires := fs.String("expires", "", "the agent's access ends after this long: 90d, 12w, 36h")
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != npos {
		return usageError{"usage: intakebot agents " + form}
	}
	flagged := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flagged[f.Name] = true })
	allowed := map[string][]string{"add": {"admin", "editor", "expires"}, "list": {"json"}, "rotate": {"expires"}}[cmd]
	for name := range flagged {
		if name != "config" && !slices.Contains(allowed, name) {
			return usageError{fmt.Sprintf("agents %s does not take --%s; usage: intakebot agents %s", cmd, name, form)}
		}
	}
	var life time.Duration
	if *expires != "" {
		if life, err = intake.ParseLifetime(*expires); err != nil {
			return usageError{err.Error()}
		}
	}
	on := false
	if cmd == "editor" {
		switch pos[1] {
		case "on":
			on = true
		case "off":
		default:
			return usageError{fmt.Sprintf("agents editor: %q is not on or off; usage: intakebot agents %s", pos[1], form)}
		}
	}
	var password string
	if cmd == "passwd" {
		// Read before connecting, so that a prompt is not cut short by a
		// Redis error, and a missing password is reported first.
		if password, err = readPassword(stdin, stderr, pos[0]); err != nil {
			return err
		}
	}
	store, closeStore, err := agentStore(env, *configPath, stderr)
	if err != nil {
		return err
	}
	defer closeStore()

	switch cmd {
	case "add":
		a, token, err := store.CreateAgent(ctx, pos[0], *admin, life)
		if err != nil {
			return err
		}
		if *editor {
			if a, err = store.SetEditor(ctx, a.Name, true); err != nil {
				fmt.Fprintf(stdout, "Created agent %q, but could not make it an editor (run: intakebot agents editor %s on). Its API token (shown once):\n%s\n", pos[0], pos[0], token)
				return err
			}
		}
		role := "agent"
		if a.Admin {
			role = "admin agent"
		} else if a.Editor {
			role = "agent (editor)"
		}
		fmt.Fprintf(stdout, "Created %s %q%s. Its API token (shown once; only its hash is stored):\n%s\n", role, a.Name, expiryNote(a), token)
	case "list":
		list, err := store.Agents(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, list)
		}
		printAgents(stdout, list)
	case "revoke":
		if err := store.RevokeAgent(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Revoked agent %q: its token and password no longer work, on every bot.\n", pos[0])
	case "rotate":
		a, token, err := store.RotateToken(ctx, pos[0], life)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "New API token for %q%s; the old one no longer works (shown once; only its hash is stored):\n%s\n", a.Name, expiryNote(a), token)
	case "editor":
		a, err := store.SetEditor(ctx, pos[0], on)
		if err != nil {
			return err
		}
		if a.Editor {
			fmt.Fprintf(stdout, "Agent %q may now change the knowledge base.\n", a.Name)
		} else {
			fmt.Fprintf(stdout, "Agent %q may no longer change the knowledge base%s.\n", a.Name, map[bool]string{true: " (as an admin it still may)"}[a.Admin])
		}
	case "passwd":
		if err := store.SetPassword(ctx, pos[0], password); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Password set for agent %q.\n", pos[0])
	}
	return nil
}

// agentStore connects to the Redis of the configuration. Only redis
// matters here: the rest is serve's to validate.
func agentStore(env config.Env, configPath string, stderr io.Writer) (*redisstore.Store, func(), error) {
	cfg, warnings, err := config.Load(configPath, env)
	for _, w := range warnings {
		fmt.Fprintln(stderr, "intakebot: warning:", w)
	}
	if err != nil {
		return nil, nil, invalidConfig(err)
	}
	if cfg.Redis.URL == "" {
		return nil, nil, fmt.Errorf("redis.url is not set: set INTAKEBOT_REDIS_URL to the Redis that intakebot serve uses (in embedded mode serve prints it)")
	}
	rdb, err := redisstore.Connect(cfg.Redis.URL)
	if err != nil {
		return nil, nil, err
	}
	return redisstore.New(rdb, cfg.Redis.Prefix), func() { rdb.Close() }, nil
}

func expiryNote(a intake.Agent) string {
	if a.ExpiresAt.IsZero() {
		return ""
	}
	return ", valid until " + a.ExpiresAt.Format(time.RFC3339)
}

func printAgents(w io.Writer, list []intake.Agent) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED\tTOKEN ISSUED\tEXPIRES\tLAST USED\tPASSWORD")
	at := func(t time.Time, none string) string {
		if t.IsZero() {
			return none
		}
		return t.Local().Format("2006-01-02 15:04")
	}
	for _, a := range list {
		role, pw := "agent", "no"
		switch {
		case a.Admin:
			role = "admin"
		case a.Editor:
			role = "editor"
		}
		if a.HasPassword {
			pw = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Name, role, at(a.CreatedAt, "-"), at(cmp.Or(a.TokenIssuedAt, a.CreatedAt), "-"),
			at(a.ExpiresAt, "never"), at(a.LastUsedAt, "never"), pw)
	}
	tw.Flush()
	if len(list) == 0 {
		fmt.Fprintln(w, "(no agents: intakebot agents add NAME --admin creates the first)")
	}
}

// readPassword reads a new password: from the terminal without echo, asked
// twice, when standard input is one; otherwise the first line of standard
// input (for scripts: printf '%s\n' "$PW" | intakebot agents passwd bob).
// Never from the command line, where other users see it in the process list.
func readPassword(stdin io.Reader, stderr io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "New password for %s: ", name)
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stderr, "Again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(again) {
			return "", errors.New("the two passwords differ; nothing was changed")
		}
		return string(first), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(stdin, redisstore.MaxPasswordBytes+2), redisstore.MaxPasswordBytes+2).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	if err == io.EOF && len(line) > redisstore.MaxPasswordBytes {
		return "", fmt.Errorf("%w: the password is longer than %d bytes", intake.ErrInvalid, redisstore.MaxPasswordBytes)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("no password given: type it at the prompt, or send it as the first line of standard input")
	}
	return line, nil
}
