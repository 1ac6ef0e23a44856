package main

import (
	"regexp"
	"strings"
	"testing"
)

// serve groups alike reports on one CI at registration (grouping is on by
// default); the CLI shows the group and groups and ungroups by hand.
func TestCLIGroupsAndUngroups(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_LOCAL_STATE_FILE": "off"})
	env := map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}
	for _, who := range []string{"ana", "bob", "carl"} {
		mustCLI(t, env, "incidents", "create", "--subject", "The VPN is down", "--ci", "vpn", "--reporter-email", who+"@example.test")
	}
	if out := mustCLI(t, env, "incidents", "show", "INC-000001"); !regexp.MustCompile(`Outage\s+parent of 2: INC-000002 INC-000003`).MatchString(out) {
		t.Fatalf("the first report is not the outage's parent:\n%s", out)
	}
	if out := mustCLI(t, env, "incidents", "show", "INC-000002"); !regexp.MustCompile(`Outage\s+grouped under INC-000001`).MatchString(out) {
		t.Fatalf("the second report is not grouped:\n%s", out)
	}
	mustCLI(t, env, "incidents", "ungroup", "INC-000002", "--note", "another problem")
	if out := mustCLI(t, env, "incidents", "show", "INC-000001"); !regexp.MustCompile(`Outage\s+parent of 1: INC-000003\n`).MatchString(out) {
		t.Fatalf("after ungroup:\n%s", out)
	}
	mustCLI(t, env, "incidents", "group", "INC-000001", "INC-000002")
	if out := mustCLI(t, env, "incidents", "show", "INC-000002"); !strings.Contains(out, "grouped under INC-000001") {
		t.Fatalf("after group:\n%s", out)
	}
	if out, err := cli(env, "incidents", "group", "INC-000001"); err == nil || !strings.Contains(err.Error(), "usage: intakebot incidents group PARENT CHILD") {
		t.Fatalf("group without a child: %v\n%s", err, out)
	}
	if out, err := cli(env, "incidents", "ungroup", "INC-000001"); err == nil || !strings.Contains(err.Error()+out, "not grouped under another incident") {
		t.Fatalf("ungrouping a parent: %v\n%s", err, out)
	}
}
