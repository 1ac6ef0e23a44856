package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func TestMain(m *testing.M) {
	if os.Getenv(asMainVar) != "" {
		// Started by runMain: be the real intakebot, exit status and all.
		os.Args = append([]string{"intakebot"}, strings.Split(os.Getenv(asMainVar), argSep)...)
		os.Unsetenv(asMainVar)
		main()
		os.Exit(0)
	}
	os.Exit(redistest.Main(m))
}

func envOf(m map[string]string) config.Env { return config.Env(m) }

// started is a running "intakebot serve" inside the test.
type started struct {
	url, token string
	lines      []string
	done       chan error
	stop       context.CancelFunc
}

// startServe runs serve with env and waits until it listens.
func startServe(t testing.TB, env map[string]string) *started {
	t.Helper()
	env["INTAKEBOT_HTTP_LISTEN"] = "127.0.0.1:0"
	env["INTAKEBOT_LOG_LEVEL"] = "error"
	for _, k := range []string{"INTAKEBOT_LOCAL_IMAP_LISTEN", "INTAKEBOT_LOCAL_SMTP_LISTEN"} {
		if _, ok := env[k]; !ok {
			env[k] = "127.0.0.1:0" // local mode's mail server: no fixed ports in tests
		}
	}
	if _, ok := env["INTAKEBOT_LOCAL_STATE_FILE"]; !ok {
		// Not the user's: "intakebot local" commands of a test read this one.
		env["INTAKEBOT_LOCAL_STATE_FILE"] = filepath.Join(t.TempDir(), "local.json")
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &started{done: make(chan error, 1), stop: cancel}
	go func() {
		err := run(ctx, []string{"serve"}, pw, io.Discard, envOf(env))
		pw.CloseWithError(io.EOF)
		s.done <- err
	}()
	listening := regexp.MustCompile(`serving the API on (http://\S+)`)
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		s.lines = append(s.lines, line)
		if m := regexp.MustCompile(`INTAKEBOT_TOKEN=(\S+)`).FindStringSubmatch(line); m != nil {
			s.token = m[1]
		}
		if m := listening.FindStringSubmatch(line); m != nil {
			s.url = m[1]
			break
		}
	}
	if s.url == "" {
		t.Fatalf("serve did not start: %v\n%s", <-s.done, strings.Join(s.lines, "\n"))
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		if err := <-s.done; err != nil {
			t.Errorf("serve ended with %v", err)
		}
	})
	return s
}

// cli runs one intakebot command and returns its output and error.
func cli(env map[string]string, args ...string) (string, error) {
	var out bytes.Buffer
	err := run(context.Background(), args, &out, &out, envOf(env))
	return out.String(), err
}

func TestCLIWalksTheServiceModel(t *testing.T) {
	_, prefix := redistest.New(t, redisstore.Connect)
	redisURL := os.Getenv(redistest.EnvURL)
	s := startServe(t, map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix})

	redisEnv := map[string]string{"INTAKEBOT_REDIS_URL": redisURL, "INTAKEBOT_REDIS_PREFIX": prefix}
	out, err := cli(redisEnv, "agents", "add", "alice")
	if err != nil {
		t.Fatal(err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	if !strings.HasPrefix(token, "ibt_") || strings.Contains(token, " ") {
		t.Fatalf("last line is not the token alone: %q", token)
	}
	if out, err := cli(redisEnv, "agents", "add", "alice"); err == nil {
		t.Fatalf("adding alice twice worked: %s", out)
	}

	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": token}
	step := func(want string, args ...string) string {
		t.Helper()
		out, err := cli(env, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		if !strings.Contains(out, want) {
			t.Fatalf("%v printed %q, want it to contain %q", args, out, want)
		}
		return out
	}
	step("INC-", "incidents", "create", "--subject", "Printer on floor 2 is jammed", "--reporter-name", "Bea", "--reporter-email", "bea@example.test")
	id := "INC-000001"
	step("analysis", "incidents", "act", id, "cleared", "the", "tray")
	step("analysis", "incidents", "act", id, "--public", "Please", "use", "tray", "2", "meanwhile")
	step("solution", "incidents", "move", id, "solution", "--note", "replaced the roller")
	step("validation", "incidents", "move", id, "validation")
	if out, err := cli(env, "incidents", "act", id, "late note"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Fatalf("action in validation: %v %s", err, out)
	}
	step("analysis", "incidents", "survey", id, "no", "--note", "jams again")
	step("solution", "incidents", "move", id, "solution")
	step("validation", "incidents", "move", id, "validation")
	step("satisfaction", "incidents", "survey", id, "yes")
	step("review", "incidents", "survey", id, "--rating", "4")
	step("closed", "incidents", "close", id)
	out = step("closed", "incidents", "show", id)
	for _, want := range []string{"answer_no", "reopen", "no_solution -> analysis", "rating", "review -> closed", "4/5", "cleared the tray", "Reopened        1",
		"alice (to the reporter): Please use tray 2 meanwhile", "alice      note  "} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	step(id, "incidents", "list", "--state", "closed")
	step("OUTCOME", "inbound", "list")
	step(`"state": "closed"`, "incidents", "show", id, "--json")
	if _, err := cli(env, "incidents", "move", id); err == nil {
		t.Fatal("move without a state worked")
	}
	if _, err := cli(map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": "ibt_bad"}, "incidents", "list"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("bad token: %v", err)
	}
}

func TestServeWithEmbeddedStore(t *testing.T) {
	s := startServe(t, map[string]string{})
	if !strings.Contains(strings.Join(s.lines, "\n"), "Nothing survives a restart") {
		t.Fatalf("no loud warning about the embedded store:\n%s", strings.Join(s.lines, "\n"))
	}
	if s.token == "" {
		t.Fatal("no admin token printed")
	}
	resp, err := http.Get(s.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", err, resp)
	}
	resp.Body.Close()
	// The survey pages are served beside the API.
	resp, err = http.Get(s.url + "/s/forged-token")
	if err != nil || resp.StatusCode != 400 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("survey page: %v %v", err, resp)
	}
	resp.Body.Close()
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}
	for _, args := range [][]string{
		{"incidents", "create", "--subject", "La VPN está caída para todos", "--reporter-email", "eva@example.test"},
		{"incidents", "move", "INC-000001", "solution"},
		{"incidents", "move", "INC-000001", "validation"},
		{"incidents", "survey", "INC-000001", "no"},
		{"incidents", "list"},
	} {
		if out, err := cli(env, args...); err != nil {
			t.Fatalf("%v: %v %s", args, err, out)
		}
	}
	out, _ := cli(env, "incidents", "show", "INC-000001", "--json")
	for _, want := range []string{`"priority": "P1"`, `"language": "es"`, `"state": "analysis"`, `"reopen_count": 1`} {
		if !strings.Contains(out, want) {
			t.Errorf("embedded store result lacks %s:\n%s", want, out)
		}
	}
}

func TestConfigExampleIsTheDefaults(t *testing.T) {
	out, err := cli(nil, "config", "example")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(out), 0o600)
	if out, err := cli(nil, "config", "check", "--config", filepath.Join(dir, "c.yaml")); err != nil {
		t.Fatalf("the example does not pass config check: %v\n%s", err, out)
	}
	for _, key := range []string{"redis:", "url:", "http:", "listen:", "language:", "categories:", "cis:", "matrix:", "groups:"} {
		if !strings.Contains(out, key) {
			t.Errorf("example lacks %s", key)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"frobnicate"}, {"agents"}, {"agents", "add"}, {"config"}, {"config", "frobnicate"}, {"config", "check", "extra"}, {"version", "extra"}, {"health", "extra"}, {"incidents", "teleport"}, {"serve", "extra"}, {"inbound"}, {"inbound", "list", "extra"}} {
		_, err := cli(map[string]string{"INTAKEBOT_TOKEN": "x"}, args...)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
