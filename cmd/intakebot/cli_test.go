package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mustCLI runs one intakebot command that must succeed.
func mustCLI(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	out, err := cli(env, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}

// waitCLI runs a command until its output contains want.
func waitCLI(t *testing.T, env map[string]string, want string, args ...string) string {
	t.Helper()
	out, err := waitFor(context.Background(), 30*time.Second, strings.Join(args, " "), func() (string, bool, error) {
		out, err := cli(env, args...)
		return out, err == nil && strings.Contains(out, want), nil
	})
	if err != nil {
		last, _ := cli(env, args...)
		t.Fatalf("%v never printed %q: %v\nlast:\n%s", args, want, err, last)
	}
	return out
}

// The whole local walk with the binary alone: an empty queue says how to
// send a first report, local send reports as the demo user (attachment
// and all), local inbox shows the answers with their reply address and
// links, a reply by local send answers the survey, and the attachment
// comes back with its name and bytes. serve's state file, which the
// commands read, is gone when serve stops.
func TestLocalSendAndInbox(t *testing.T) {
	stateFile := filepath.Join(t.TempDir(), "run", "local.json")
	t.Cleanup(func() { // runs after serve stopped (cleanups run last first)
		if _, err := os.Stat(stateFile); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("state file %s left after serve stopped: %v", stateFile, err)
		}
	})
	s := startServe(t, map[string]string{"INTAKEBOT_OUTBOX_POLL": "@every 1s", "INTAKEBOT_LOCAL_POLL": "@every 1s",
		"INTAKEBOT_LOCAL_STATE_FILE": stateFile})
	if info, err := os.Stat(stateFile); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", info, err)
	}
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token, "INTAKEBOT_LOCAL_STATE_FILE": stateFile}

	if out := mustCLI(t, env, "incidents", "list"); !strings.Contains(out, "No incidents yet") || !strings.Contains(out, "intakebot local send --subject") {
		t.Errorf("an empty queue does not say how to send a first report:\n%s", out)
	}
	if out := mustCLI(t, env, "local", "inbox"); !strings.Contains(out, "No mail for demo@intakebot.local yet") || !strings.Contains(out, "intakebot local send") {
		t.Errorf("empty inbox:\n%s", out)
	}

	dir := t.TempDir()
	shot := bytes.Repeat([]byte("\x89PNG\r\n\x1a\n\x00\xff"), 100)
	if err := os.WriteFile(filepath.Join(dir, "screen shot.png"), shot, 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, env, "local", "send", "--subject", "VPN down", "--body", "The VPN is down", "--attach", filepath.Join(dir, "screen shot.png"))
	if !strings.Contains(out, `sent "VPN down" from demo@intakebot.local to helpdesk@intakebot.local`) || !strings.Contains(out, "intakebot local inbox") {
		t.Errorf("send printed:\n%s", out)
	}
	out = waitCLI(t, env, "[INC-000001] We have registered your incident: VPN down", "local", "inbox")
	replyTo := regexp.MustCompile(`reply to: (helpdesk\+INC-000001\.\S+@intakebot\.local)`).FindStringSubmatch(out)
	if replyTo == nil || !strings.Contains(out, "intakebot local send --to "+replyTo[1]) {
		t.Fatalf("the inbox does not show the reply address and how to answer:\n%s", out)
	}

	mustCLI(t, env, "incidents", "move", "INC-000001", "solution")
	mustCLI(t, env, "incidents", "move", "INC-000001", "validation")
	out = waitCLI(t, env, "Is the service working again?", "local", "inbox", "--limit", "1")
	if !regexp.MustCompile(`link: http://127\.0\.0\.1:\d+/s/\S+\?answer=yes`).MatchString(out) || strings.Contains(out, "registered your incident") {
		t.Errorf("the newest mail alone, with its survey links:\n%s", out)
	}
	var inbox struct {
		Mails []struct {
			Subject string
			ReplyTo string `json:"reply_to"`
			Links   []string
		}
	}
	if err := json.Unmarshal([]byte(mustCLI(t, env, "local", "inbox", "--json")), &inbox); err != nil || len(inbox.Mails) != 2 || len(inbox.Mails[0].Links) != 3 { // yes, no, and the portal's "view your incident"
		t.Fatalf("inbox --json: %+v %v", inbox, err)
	}
	mustCLI(t, env, "local", "send", "--to", replyTo[1], "--subject", "Re: [INC-000001] Is the service working again?", "--body", "Yes, it works now")
	waitCLI(t, env, "satisfaction", "incidents", "show", "INC-000001")

	// The attachment, saved under its name in the current directory.
	t.Chdir(dir)
	os.Remove("screen shot.png")
	out = mustCLI(t, env, "incidents", "attachment", "INC-000001", "0")
	if got, err := os.ReadFile("screen shot.png"); err != nil || !bytes.Equal(got, shot) || !strings.Contains(out, "saved screen shot.png (1000 bytes)") {
		t.Fatalf("attachment saved as %q: %v (%d bytes)", out, err, len(got))
	}
	// A name from a mail never replaces a file; -o names one that may.
	if out, err := cli(env, "incidents", "attachment", "INC-000001", "0"); err == nil || !strings.Contains(err.Error(), "-o FILE") {
		t.Fatalf("attachment over an existing file: %v %s", err, out)
	}
	mustCLI(t, env, "incidents", "attachment", "INC-000001", "0", "-o", filepath.Join(dir, "copy.png"))
	if got, _ := os.ReadFile(filepath.Join(dir, "copy.png")); !bytes.Equal(got, shot) {
		t.Fatal("-o FILE: not the attachment's bytes")
	}
	if _, err := cli(env, "incidents", "attachment", "INC-000001", "7"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("a missing attachment: %v", err)
	}
	if _, err := cli(env, "incidents", "attachment", "INC-000001", "first"); !errors.As(err, new(usageError)) {
		t.Fatalf("attachment number not a number: %v", err)
	}

	// Unknown account, and nothing to say.
	if _, err := cli(env, "local", "send", "--from", "ana", "--subject", "x"); !errors.As(err, new(usageError)) {
		t.Errorf("--from ana: %v", err)
	}
	if _, err := cli(env, "local", "send"); !errors.As(err, new(usageError)) {
		t.Errorf("send without subject or body: %v", err)
	}
}

// Without a running local mode the local commands say how to start one;
// with a state file left by a killed serve they say that nothing answers.
func TestLocalCommandsWithoutServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "local.json")
	env := map[string]string{"INTAKEBOT_LOCAL_STATE_FILE": path}
	if _, err := cli(env, "local", "inbox"); err == nil || !strings.Contains(err.Error(), `start one with "intakebot serve"`) {
		t.Errorf("no state file: %v", err)
	}
	os.WriteFile(path, []byte(`{"pid": 1, "api": "http://127.0.0.1:1", "imap": "127.0.0.1:1", "smtp": "127.0.0.1:1", "demo": {"address": "demo@intakebot.local", "password": "x"}}`), 0o600)
	for _, args := range [][]string{{"local", "inbox"}, {"local", "send", "--subject", "x"}} {
		if _, err := cli(env, args...); err == nil || !strings.Contains(err.Error(), "is that intakebot serve still running?") {
			t.Errorf("%v with a stale state file: %v", args, err)
		}
	}
	for _, args := range [][]string{{"local"}, {"local", "frobnicate"}, {"local", "inbox", "extra"}, {"local", "inbox", "--tz", "Mars/Olympus"}} {
		if _, err := cli(env, args...); !errors.As(err, new(usageError)) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// With --json an error is JSON on stderr, stdout stays empty, and the
// exit status is the one without --json.
func TestCLIErrorsAsJSON(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_LOCAL_STATE_FILE": "off"})
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}
	mustCLI(t, env, "incidents", "create", "--subject", "Printer jammed")
	mustCLI(t, env, "incidents", "move", "INC-000001", "solution")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		exit int
		want map[string]any
	}{
		{"refused move", env, []string{"incidents", "move", "INC-000001", "review", "--json"}, 1,
			map[string]any{"status": 409.0, "state": "solution"}},
		{"auth failure", map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": "ibt_wrong"}, []string{"incidents", "list", "--json"}, 1,
			map[string]any{"status": 401.0, "code": "unauthorized", "error": "the token is not valid"}},
		{"inbound auth failure", map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": "ibt_wrong"}, []string{"inbound", "list", "--json"}, 1,
			map[string]any{"status": 401.0, "code": "unauthorized"}},
		{"usage", env, []string{"incidents", "list", "--sla", "late", "--json"}, 2,
			map[string]any{"code": "usage"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, c.env, c.args...)
			var got map[string]any
			if err := json.Unmarshal([]byte(stderr), &got); err != nil || code != c.exit || stdout != "" {
				t.Fatalf("exit %d (want %d), stdout %q, stderr not JSON (%v):\n%s", code, c.exit, stdout, err, stderr)
			}
			if got["error"] == "" || got["code"] == "" {
				t.Errorf("no error or code: %v", got)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (%v)", k, got[k], v, got)
				}
			}
			// Without --json: the same status, and a line of text.
			code, _, stderr = runMain(t, c.env, c.args[:len(c.args)-1]...)
			if code != c.exit || !strings.HasPrefix(stderr, "intakebot: ") {
				t.Errorf("without --json: exit %d, stderr %q", code, stderr)
			}
		})
	}
	code, _, stderr := runMain(t, env, "incidents", "move", "INC-000001", "review", "--json")
	var refusal struct{ Allowed []string }
	if json.Unmarshal([]byte(stderr), &refusal); code != 1 || len(refusal.Allowed) == 0 {
		t.Errorf("a refused move does not list the allowed moves: %s", stderr)
	}
}

// A breached and a warned incident show in the SLA column and in show's
// header, and --sla keeps each alone. The targets are tiny so that the
// timers flag both within seconds.
func TestCLIShowsSLA(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_LOCAL_STATE_FILE": "off", "INTAKEBOT_TIMERS_TICK": "@every 1s",
		"INTAKEBOT_SLA_WARN_AT": "0.001", "INTAKEBOT_SLA_TARGETS": "{P3: {response: 1s, resolution: 24h}, P5: {response: 1h, resolution: 120h}}"})
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}
	mustCLI(t, env, "incidents", "create", "--subject", "Printer jammed")                                       // P3: breached after 1s
	mustCLI(t, env, "incidents", "create", "--subject", "Wallpaper", "--impact", "low", "--urgency", "low")     // P5: warned after 3.6s
	mustCLI(t, env, "incidents", "create", "--subject", "Fixed at once", "--impact", "low", "--urgency", "low") // answered: no response flag
	mustCLI(t, env, "incidents", "assign", "INC-000003", "admin")

	out := waitCLI(t, env, "INC-000001", "incidents", "list", "--sla", "breached")
	if strings.Contains(out, "INC-000002") || strings.Contains(out, "INC-000003") {
		t.Errorf("--sla breached lists others:\n%s", out)
	}
	out = waitCLI(t, env, "INC-000002", "incidents", "list", "--sla", "warning")
	if strings.Contains(out, "INC-000001") || strings.Contains(out, "INC-000003") {
		t.Errorf("--sla warning lists others:\n%s", out)
	}
	out = mustCLI(t, env, "incidents", "list")
	for _, re := range []string{`PRIORITY\s+SLA\s+CATEGORY`, `INC-000001\s+analysis\s+P3\s+breached\s`, `INC-000002\s+analysis\s+P5\s+warning\s`, `INC-000003\s+analysis\s+P5\s+-\s`} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("list does not match %s:\n%s", re, out)
		}
	}
	if out := mustCLI(t, env, "incidents", "show", "INC-000001"); !regexp.MustCompile(`SLA\s+breached: .*response breach at \d{4}-\d\d-\d\d`).MatchString(out) {
		t.Errorf("show's header lacks the breach:\n%s", out)
	}
	if out := mustCLI(t, env, "incidents", "show", "INC-000002"); !regexp.MustCompile(`SLA\s+warning: response warning at `).MatchString(out) {
		t.Errorf("show's header lacks the warning:\n%s", out)
	}
	if out := mustCLI(t, env, "incidents", "show", "INC-000003"); !regexp.MustCompile(`SLA\s+-\n`).MatchString(out) {
		t.Errorf("show's header of an incident on time:\n%s", out)
	}
	if out := mustCLI(t, env, "incidents", "list", "--sla", "breached", "--state", "closed"); !strings.Contains(out, "No incidents match these filters") {
		t.Errorf("empty filtered list:\n%s", out)
	}
}

// --all follows the cursor to the last page; times carry their zone, the
// one of --tz or INTAKEBOT_DISPLAY_TIME_ZONE.
func TestCLIListAllAndTimeZones(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_LOCAL_STATE_FILE": "off"})
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}
	for i := range 5 {
		mustCLI(t, env, "incidents", "create", "--subject", "printer "+string(rune('a'+i)))
	}
	out := mustCLI(t, env, "incidents", "list", "--limit", "2")
	if strings.Count(out, "INC-") != 2 || !strings.Contains(out, "more: --cursor") {
		t.Fatalf("one page of 2:\n%s", out)
	}
	out = mustCLI(t, env, "incidents", "list", "--limit", "2", "--all")
	if strings.Count(out, "INC-") != 5 || strings.Contains(out, "more:") || strings.Index(out, "INC-000005") > strings.Index(out, "INC-000001") {
		t.Fatalf("--all over three pages of 2:\n%s", out)
	}
	var page struct {
		Incidents []struct{ ID string }
		Next      string `json:"next_cursor"`
	}
	if err := json.Unmarshal([]byte(mustCLI(t, env, "incidents", "list", "--limit", "2", "--all", "--json")), &page); err != nil || len(page.Incidents) != 5 || page.Next != "" {
		t.Fatalf("--all --json: %+v %v", page, err)
	}

	if out := mustCLI(t, env, "incidents", "show", "INC-000001", "--tz", "Asia/Tokyo"); !regexp.MustCompile(`Reported\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST`).MatchString(out) {
		t.Errorf("--tz Asia/Tokyo:\n%s", out)
	}
	env["INTAKEBOT_DISPLAY_TIME_ZONE"] = "UTC"
	if out := mustCLI(t, env, "incidents", "list"); !regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d UTC`).MatchString(out) {
		t.Errorf("INTAKEBOT_DISPLAY_TIME_ZONE=UTC:\n%s", out)
	}
	if _, err := cli(env, "incidents", "list", "--tz", "Mars/Olympus"); !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "Europe/Madrid") {
		t.Errorf("an unknown zone: %v", err)
	}
}
