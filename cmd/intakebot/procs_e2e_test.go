//go:build e2e

// Helpers for end-to-end tests that run the real intakebot binary as
// operating-system processes (so that one can be killed with SIGKILL), fill
// a Dovecot maildir folder as an MTA would, and count the mail the bots
// send.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// waitUntil checks cond every tick until it holds; it fails the test after
// timeout, with what cond's last call said (status).
func waitUntil(t *testing.T, what string, timeout, tick time.Duration, cond func() (ok bool, status string)) {
	t.Helper()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		ok, status := cond()
		if ok {
			return
		}
		select {
		case <-ticker.C:
		case <-deadline.C:
			t.Fatalf("timed out after %s waiting for %s (%s)", timeout, what, status)
		}
	}
}

// raceEnabled says whether this test binary was built with -race; the bot
// binary is then built with it too.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// buildBotBinary builds this package's command into a temporary folder and
// returns the binary's path.
func buildBotBinary(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command builds the bot for this test: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "intakebot")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// procLog collects a process's output, safe for concurrent use.
type procLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *procLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *procLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// botProc is one running "intakebot serve" process.
type botProc struct {
	name   string
	cmd    *exec.Cmd
	url    string   // the API's base URL, as the bot printed it
	stdout *procLog // what it printed
	stderr *procLog // its log (JSON lines when log.format is json)
	exited chan struct{}
}

// botEnv is this process's environment without any INTAKEBOT_ variable,
// plus env: a bot configures itself from the environment only.
func botEnv(env map[string]string) []string {
	var out []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "INTAKEBOT_") {
			out = append(out, kv)
		}
	}
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

var servingRE = regexp.MustCompile(`serving the API on (http://\S+)`)

// startBotProc starts "BIN serve" with env and waits until it serves its
// API. Whatever is still running when the test ends is killed; when the
// test failed, each bot's log ends up in the test's output.
func startBotProc(t *testing.T, bin, name string, env map[string]string) *botProc {
	t.Helper()
	cmd := exec.Command(bin, "serve")
	cmd.Env = botEnv(env)
	p := &botProc{name: name, cmd: cmd, stdout: &procLog{}, stderr: &procLog{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		defer close(p.exited)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			fmt.Fprintln(p.stdout, sc.Text())
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(p.stdout, out)
		_ = cmd.Wait() // the state is in cmd.ProcessState
	}()
	t.Cleanup(func() {
		if !p.done() {
			_ = cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("==== %s (pid %d) stdout ====\n%s==== %s log (last 60 lines) ====\n%s", name, cmd.Process.Pid,
				p.stdout.String(), name, lastLines(p.stderr.String(), 60))
		}
	})
	select {
	case p.url = <-urls:
		return p
	case <-p.exited:
		t.Fatalf("%s exited before serving: %v\n%s\n%s", name, cmd.ProcessState, p.stdout.String(), p.stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("%s did not serve its API within a minute\n%s\n%s", name, p.stdout.String(), p.stderr.String())
	}
	return nil
}

func lastLines(s string, n int) string {
	lines := strings.SplitAfter(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "")
}

func (p *botProc) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// kill sends SIGKILL and waits until the process is gone.
func (p *botProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL %s: %v", p.name, err)
	}
	<-p.exited
	ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("%s ended with %v, not by SIGKILL", p.name, p.cmd.ProcessState)
	}
}

// stop sends SIGTERM and returns the exit status, or an error when the
// process does not end within timeout (it is killed then).
func (p *botProc) stop(timeout time.Duration) (int, error) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return -1, err
	}
	select {
	case <-p.exited:
		return p.cmd.ProcessState.ExitCode(), nil
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return -1, fmt.Errorf("%s did not exit within %s of SIGTERM", p.name, timeout)
	}
}

// logRecords returns the process's JSON log records whose msg is msg (all
// of them when msg is empty).
func (p *botProc) logRecords(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(p.stderr.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if msg == "" || rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// errorLines returns the log records at level ERROR, as text.
func (p *botProc) errorLines() []string {
	var out []string
	for _, rec := range p.logRecords("") {
		if rec["level"] == "ERROR" {
			raw, _ := json.Marshal(rec)
			out = append(out, string(raw))
		}
	}
	return out
}

// apiGet GETs path from a bot's API with an agent token and decodes the
// JSON answer into out.
func apiGet(ctx context.Context, base, token, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, resp.Status, body)
	}
	return json.Unmarshal(body, out)
}

// mailFolder is one folder of a user's Dovecot maildir (Maildir++: the
// folder NAME lives in USER/.NAME), written as an MTA writes: into tmp,
// then renamed into new. Files and folders belong to uid, as Dovecot
// (running as that user) needs.
type mailFolder struct {
	dir string
	uid int
	n   atomic.Int64
}

// newMailFolder creates the folder (and the user's maildir if missing).
func newMailFolder(t *testing.T, root, user, folder string, uid int) *mailFolder {
	t.Helper()
	home := filepath.Join(root, user)
	dir := filepath.Join(home, "."+folder)
	for _, d := range []string{home, filepath.Join(home, "cur"), filepath.Join(home, "new"), filepath.Join(home, "tmp"),
		dir, filepath.Join(dir, "cur"), filepath.Join(dir, "new"), filepath.Join(dir, "tmp")} {
		if err := os.Mkdir(d, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
			t.Fatal(err)
		}
		if err := os.Chown(d, uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	return &mailFolder{dir: dir, uid: uid}
}

// deliver files one message (LF line ends become CRLF).
func (f *mailFolder) deliver(t *testing.T, raw string) {
	t.Helper()
	name := fmt.Sprintf("%d.%d_%d.multibot", time.Now().Unix(), os.Getpid(), f.n.Add(1))
	tmp := filepath.Join(f.dir, "tmp", name)
	if err := os.WriteFile(tmp, []byte(strings.ReplaceAll(raw, "\n", "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(tmp, f.uid, f.uid); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(f.dir, "new", name)); err != nil {
		t.Fatal(err)
	}
}

// countMaildir counts the messages in a maildir folder (new and cur); a
// folder that does not exist holds none.
func countMaildir(dir string) (int, error) {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return 0, err
		}
		n += len(entries)
	}
	return n, nil
}

// ackSink is an SMTP server that counts what it is given, per Message-ID:
// every transaction counts, so a message sent twice shows as two copies.
type ackSink struct {
	mu    sync.Mutex
	total int                 // accepted transactions
	byID  map[string]int      // Message-ID -> copies received
	rcpts map[string][]string // Message-ID -> envelope recipients, all copies
	bad   []string            // what could not be read
}

func (s *ackSink) NewSession(*smtp.Conn) (smtp.Session, error) { return &ackSession{s: s}, nil }

// counts returns the number of transactions and of distinct Message-IDs.
func (s *ackSink) counts() (total, distinct int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.total, len(s.byID)
}

type ackSession struct {
	s  *ackSink
	to []string
}

func (x *ackSession) Mail(string, *smtp.MailOptions) error { return nil }
func (x *ackSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}
func (x *ackSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s := x.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		s.bad = append(s.bad, fmt.Sprintf("unreadable message to %v: %v", x.to, err))
		return nil
	}
	id := m.Header.Get("Message-Id")
	if id == "" {
		s.bad = append(s.bad, fmt.Sprintf("message to %v without a Message-ID", x.to))
		return nil
	}
	s.byID[id]++
	s.rcpts[id] = append(s.rcpts[id], x.to...)
	return nil
}
func (x *ackSession) Reset()        { x.to = nil }
func (x *ackSession) Logout() error { return nil }

// startAckSink runs an ackSink on a free loopback port until the test ends.
func startAckSink(t *testing.T) (*ackSink, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &ackSink{byID: map[string]int{}, rcpts: map[string][]string{}}
	srv := smtp.NewServer(s)
	srv.Domain = "mx.example.test"
	var wg sync.WaitGroup
	wg.Go(func() { _ = srv.Serve(ln) })
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		wg.Wait()
	})
	return s, ln.Addr().(*net.TCPAddr).Port
}

// metric sums the samples of a Prometheus counter in a bot's /metrics
// whose line starts with series (a name, with labels or the opening of
// them): `intakebot_outbox_delivered_total{channel="email"`.
func metric(ctx context.Context, base, series string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET /metrics: %s", resp.Status)
	}
	sum := 0.0
	for line := range strings.Lines(string(body)) {
		if !strings.HasPrefix(line, series) {
			continue
		}
		var v float64
		if _, err := fmt.Sscan(line[strings.LastIndexByte(strings.TrimSpace(line), ' ')+1:], &v); err != nil {
			return 0, fmt.Errorf("metrics line %q: %w", line, err)
		}
		sum += v
	}
	return sum, nil
}
