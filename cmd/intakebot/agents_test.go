package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// lastLine is the token a command prints last.
func lastLine(t *testing.T, out string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	tok := lines[len(lines)-1]
	if !strings.HasPrefix(tok, "ibt_") || strings.Contains(tok, " ") {
		t.Fatalf("last line is not a token alone: %q", out)
	}
	return tok
}

// passwd runs "agents passwd" with stdin as its standard input.
func passwd(env map[string]string, stdin string, args ...string) (string, error) {
	var out bytes.Buffer
	err := agentsCmd(context.Background(), append([]string{"passwd"}, args...), strings.NewReader(stdin), &out, &out, envOf(env))
	return out.String(), err
}

func TestAgentsCommandsAgainstServe(t *testing.T) {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	redisEnv := map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix}
	s := startServe(t, map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix})
	ctx := context.Background()
	store := redisstore.New(rdb, prefix)

	ok := func(args ...string) string {
		t.Helper()
		out, err := cli(redisEnv, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return out
	}
	// works tells whether a token is accepted by the running bot.
	works := func(token string) bool {
		t.Helper()
		out, err := cli(map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": token}, "incidents", "list")
		if err != nil && !strings.Contains(err.Error(), "401") {
			t.Fatalf("incidents list: %v\n%s", err, out)
		}
		return err == nil
	}

	out := ok("agents", "add", "bob", "--expires", "90d")
	bob := lastLine(t, out)
	if !strings.Contains(out, "valid until") {
		t.Fatalf("add with expiry does not say until when: %s", out)
	}
	lastLine(t, ok("agents", "add", "root", "--admin"))
	if !works(bob) {
		t.Fatal("bob's new token does not work")
	}
	out = ok("agents", "list")
	var bobLine string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "bob ") {
			bobLine = l
		}
	}
	if !strings.Contains(out, "LAST USED") || !strings.Contains(out, "root  ") || bobLine == "" ||
		strings.Count(bobLine, "never") != 0 || strings.Contains(out, bob) {
		t.Fatalf("list (bob used his token and expires):\n%s", out)
	}
	if out := ok("agents", "list", "--json"); !strings.Contains(out, `"last_used_at"`) || !strings.Contains(out, `"expires_at"`) {
		t.Fatalf("list --json:\n%s", out)
	}

	// Rotate: the old token is refused by the running bot at once.
	fresh := lastLine(t, ok("agents", "rotate", "bob"))
	if works(bob) || !works(fresh) {
		t.Fatal("after rotate the old token must fail and the new one work")
	}

	// A password, from standard input, never from the command line.
	if out, err := passwd(redisEnv, "correct horse battery\n", "bob"); err != nil || !strings.Contains(out, "Password set") {
		t.Fatalf("passwd: %v %s", err, out)
	}
	if _, err := store.CheckPassword(ctx, "bob", "correct horse battery"); err != nil {
		t.Fatalf("the password set by the CLI: %v", err)
	}
	if _, err := store.CheckPassword(ctx, "bob", "wrong horse battery"); !errors.Is(err, intake.ErrForbidden) {
		t.Fatalf("a wrong password: %v", err)
	}
	if _, err := passwd(redisEnv, "", "bob"); err == nil || !strings.Contains(err.Error(), "no password") {
		t.Fatalf("passwd without input: %v", err)
	}
	if _, err := passwd(redisEnv, "short\n", "bob"); !errors.Is(err, intake.ErrInvalid) {
		t.Fatalf("a short password: %v", err)
	}
	if _, err := passwd(redisEnv, "correct horse battery\n", "bob", "correct horse battery"); !isUsage(err) {
		t.Fatalf("a password on the command line: %v, want a usage error", err)
	}
	if _, err := passwd(redisEnv, "correct horse battery\n", "nobody"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("passwd of an unknown agent: %v", err)
	}

	// Revoke: refused at once; revoking again says there is no such agent.
	ok("agents", "revoke", "bob")
	if works(fresh) {
		t.Fatal("the revoked token still works")
	}
	if out := ok("agents", "list"); strings.Contains(out, "bob") {
		t.Fatalf("revoked agent listed:\n%s", out)
	}
	if _, err := cli(redisEnv, "agents", "revoke", "bob"); !errors.Is(err, intake.ErrNotFound) {
		t.Fatalf("revoke twice: %v", err)
	}
	for _, args := range [][]string{
		{"agents", "add", "x", "--expires", "soon"}, {"agents", "revoke", "root", "--expires", "1d"},
		{"agents", "list", "extra"}, {"agents", "rotate"}, {"agents", "passwd"}, {"agents", "frobnicate"},
		{"agents", "add", "x", "--json"},
	} {
		if _, err := cli(redisEnv, args...); !isUsage(err) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func isUsage(err error) bool {
	var u usageError
	return errors.As(err, &u)
}
