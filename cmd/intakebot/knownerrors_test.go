package main

import (
	"os"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// The known-error commands against a running serve: an admin adds, edits
// and fixes; a plain agent cannot; an agent links an incident and applies
// the workaround in one command, and the action is on the incident.
func TestKnownErrorsCLI(t *testing.T) {
	_, prefix := redistest.New(t, redisstore.Connect)
	redisEnv := map[string]string{"INTAKEBOT_REDIS_URL": os.Getenv(redistest.EnvURL), "INTAKEBOT_REDIS_PREFIX": prefix}
	s := startServe(t, map[string]string{"INTAKEBOT_REDIS_URL": redisEnv["INTAKEBOT_REDIS_URL"], "INTAKEBOT_REDIS_PREFIX": prefix})
	token := func(args ...string) string {
		lines := strings.Split(strings.TrimSpace(mustCLI(t, redisEnv, append([]string{"agents", "add"}, args...)...)), "\n")
		return lines[len(lines)-1]
	}
	admin := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": token("root", "--admin")}
	agent := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": token("bob")}

	if out, err := cli(agent, "known-errors", "add", "--symptom", "VPN drops", "--workaround", "Reinstall 5.1"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a plain agent added a known error: %v %s", err, out)
	}
	out := mustCLI(t, admin, "known-errors", "add", "--symptom", "VPN drops every few minutes", "--workaround", "Reinstall client 5.1",
		"--root-cause", "Expired certificate", "--ci", "vpn")
	if !strings.Contains(out, "KE-000001") || !strings.Contains(out, "Reinstall client 5.1") {
		t.Fatalf("add printed:\n%s", out)
	}
	if out, err := cli(admin, "known-errors", "add", "--symptom", "x"); err == nil || !strings.Contains(err.Error(), "workaround") {
		t.Errorf("add without a workaround: %v %s", err, out)
	}
	mustCLI(t, agent, "incidents", "create", "--subject", "My VPN keeps dropping", "--reporter-name", "Bea", "--reporter-email", "bea@example.test")
	if out := mustCLI(t, agent, "incidents", "apply-workaround", "INC-000001", "KE-000001"); !strings.Contains(out, "INC-000001") {
		t.Errorf("apply-workaround printed %q", out)
	}
	show := mustCLI(t, agent, "incidents", "show", "INC-000001")
	if !strings.Contains(show, "Workaround of KE-000001 applied: Reinstall client 5.1") || !strings.Contains(show, "Known error") {
		t.Errorf("show after apply:\n%s", show)
	}
	list := mustCLI(t, agent, "known-errors", "list")
	if !strings.Contains(list, "KE-000001") || !strings.Contains(list, "open") || !strings.Contains(list, "  1  ") {
		t.Errorf("list:\n%s", list)
	}
	if out, err := cli(agent, "known-errors", "fix", "KE-000001"); err == nil {
		t.Errorf("a plain agent fixed a known error: %s", out)
	}
	if out := mustCLI(t, admin, "known-errors", "edit", "KE-000001", "--workaround", "Install client 5.3"); !strings.Contains(out, "Install client 5.3") || !strings.Contains(out, "version 2") {
		t.Errorf("edit printed:\n%s", out)
	}
	if out := mustCLI(t, admin, "known-errors", "fix", "KE-000001"); !strings.Contains(out, "fixed") {
		t.Errorf("fix printed:\n%s", out)
	}
	if out, err := cli(admin, "known-errors", "rm", "KE-000001"); err == nil || !strings.Contains(err.Error(), "409") {
		t.Errorf("rm of a linked known error: %v %s", err, out)
	}
	mustCLI(t, agent, "incidents", "unlink", "INC-000001")
	if out := mustCLI(t, admin, "known-errors", "rm", "KE-000001"); !strings.Contains(out, "deleted KE-000001") {
		t.Errorf("rm printed %q", out)
	}
	if out, err := cli(agent, "known-errors", "show"); err == nil {
		t.Errorf("show without an id worked: %s", out)
	}
}
