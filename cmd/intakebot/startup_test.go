package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// asMainVar makes the test binary run main() (see TestMain) with the
// arguments it holds, separated by argSep.
const (
	asMainVar = "INTAKEBOT_TEST_AS_MAIN"
	argSep    = "\x1f"
)

// runMain runs intakebot as a process of its own (this test binary acting
// as main) with args and only the environment env, and returns its exit
// status and output. The timeout only guards against a hang.
func runMain(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), asMainVar + "=" + strings.Join(args, argSep)}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("intakebot %v did not exit (killed):\n%s\n%s", args, out.String(), errs.String())
	}
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), out.String(), errs.String()
}

// busyPort holds a loopback port for the test, as another program would.
func busyPort(t *testing.T) (addr, port string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	_, port, _ = net.SplitHostPort(ln.Addr().String())
	return ln.Addr().String(), port
}

// Every start-up failure ends serve with status 1 and a message that names
// the configuration key (and the port, when one is taken), instead of a
// hang or a crash.
func TestStartupFailuresExitWithTheKey(t *testing.T) {
	_, prefix := redistest.New(t, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	busy, port := busyPort(t)
	badFile := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badFile, []byte("redis:\n  urll: redis://x\n"), 0o600)
	// A third language whose folder has only some of its files.
	partial := t.TempDir()
	os.MkdirAll(filepath.Join(partial, "fr"), 0o755)
	os.WriteFile(filepath.Join(partial, "fr", "shared.tmpl"), []byte(`{{define "greeting"}}Bonjour{{end}}`), 0o600)
	local := map[string]string{"INTAKEBOT_LOCAL_IMAP_LISTEN": "127.0.0.1:0", "INTAKEBOT_LOCAL_SMTP_LISTEN": "127.0.0.1:0", "INTAKEBOT_HTTP_LISTEN": "127.0.0.1:0"}
	with := func(base map[string]string, kv ...string) map[string]string {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"HTTP port taken in local mode", with(local, "INTAKEBOT_HTTP_LISTEN", busy), nil,
			[]string{"http.listen " + busy, "port " + port + " is taken", "INTAKEBOT_HTTP_LISTEN"}},
		{"HTTP port taken with Redis", with(nil, "INTAKEBOT_REDIS_URL", redisURL, "INTAKEBOT_REDIS_PREFIX", prefix, "INTAKEBOT_HTTP_LISTEN", busy), nil,
			[]string{"http.listen " + busy, "port " + port + " is taken"}},
		{"embedded store port taken", with(local, "INTAKEBOT_REDIS_EMBEDDED_LISTEN", busy), nil,
			[]string{"redis.embedded_listen " + busy, "port " + port + " is taken"}},
		{"Redis unreachable", with(nil, "INTAKEBOT_REDIS_URL", "redis://127.0.0.1:"+port, "INTAKEBOT_HTTP_LISTEN", "127.0.0.1:0"), nil,
			[]string{"redis.url"}},
		{"outbox lease below the delivery timeout", with(local, "INTAKEBOT_OUTBOX_LEASE", "10s"), nil,
			[]string{"outbox.lease: (10s) must be longer than outbox.delivery_timeout (25s)"}},
		{"unknown key in the file", local, []string{"--config", badFile},
			[]string{"redis.urll: unknown key; did you mean redis.url?"}},
		{"template override missing a file", with(local, "INTAKEBOT_TEMPLATES_DIR", partial), nil,
			[]string{"templates.dir: template fr/layout.html is missing"}},
		{"public address without base_url", with(local, "INTAKEBOT_HTTP_LISTEN", "0.0.0.0:0"), nil,
			[]string{"web.base_url: must be set when http.listen (0.0.0.0:0) is not a loopback address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.env, append([]string{"serve"}, tc.args...)...)
			if code != 1 {
				t.Errorf("exit status %d, want 1", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if strings.Contains(stdout, "serving the API") {
				t.Errorf("serve said it serves:\n%s", stdout)
			}
		})
	}
}

func TestConfigCheck(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	os.WriteFile(good, []byte("redis:\n  prefix: desk\n"), 0o600)
	os.WriteFile(bad, []byte("redis:\n  urll: redis://x\noutbox:\n  lease: 10s\nemail:\n  workers: many\n"), 0o600)

	code, stdout, _ := runMain(t, map[string]string{"INTAKEBOT_LOG_LEVL": "debug"}, "config", "check", "--config", good)
	if code != 0 || !strings.Contains(stdout, "configuration OK") ||
		!strings.Contains(stdout, "warning: INTAKEBOT_LOG_LEVL: matches no configuration key and is ignored; did you mean INTAKEBOT_LOG_LEVEL (log.level)?") {
		t.Errorf("good file: status %d\n%s", code, stdout)
	}
	// Load problems come all at once; the file's problems hide Validate's
	// until they are fixed (the values it would check are unknown).
	code, stdout, _ = runMain(t, nil, "config", "check", "--config", bad)
	for _, w := range []string{"error: redis.urll: unknown key; did you mean redis.url?", `error: email.workers: expected a whole number, got "many"`} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if code != 1 {
		t.Errorf("bad file: status %d, want 1", code)
	}
	code, stdout, _ = runMain(t, map[string]string{"INTAKEBOT_OUTBOX_LEASE": "10s", "INTAKEBOT_HTTP_LISTEN": "[::]:8080"}, "config", "check")
	for _, w := range []string{"error: outbox.lease: (10s) must be longer than outbox.delivery_timeout (25s)", "error: web.base_url: must be set"} {
		if !strings.Contains(stdout, w) {
			t.Errorf("stdout lacks %q:\n%s", w, stdout)
		}
	}
	if code != 1 {
		t.Errorf("bad environment: status %d, want 1", code)
	}
}

func TestVersion(t *testing.T) {
	out, err := cli(nil, "version")
	if err != nil || !strings.HasPrefix(out, "intakebot ") || !strings.Contains(out, "commit ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %v\n%s", err, out)
	}
}

func TestHealth(t *testing.T) {
	s := startServe(t, map[string]string{})
	if out, err := cli(nil, "health", "--url", s.url); err != nil || out != "ok\n" {
		t.Fatalf("health of a running bot: %v %q", err, out)
	}
	addr, _ := busyPort(t) // listens, never answers HTTP
	if _, err := cli(nil, "health", "--url", "http://"+addr, "--timeout", "1s"); err == nil {
		t.Fatal("health of a port that does not answer HTTP passed")
	}
	// Without --url it asks http.listen, a wildcard address on loopback.
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(s.url, "http://"))
	if out, err := cli(map[string]string{"INTAKEBOT_HTTP_LISTEN": "0.0.0.0:" + port}, "health"); err != nil {
		t.Fatalf("health from http.listen: %v %s", err, out)
	}
}
