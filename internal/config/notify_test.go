package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// Every mistake in notify: is a problem that names its key.
func TestNotifyProblemsNameTheirKey(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "hook-secret")
	if err := os.WriteFile(secret, []byte("0123456789abcdef0123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(t.TempDir(), "short")
	if err := os.WriteFile(short, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	hooks := func(list string) Env { return Env{"INTAKEBOT_NOTIFY_WEBHOOKS": list} }
	for _, tc := range []struct {
		name string
		env  Env
		want string
	}{
		{name: "good webhook", env: hooks("[{url: https://chat.example.test/h, secret_file: " + secret + ", events: [new, sla_breach]}]")},
		{name: "good webhook, secret from env", env: Env{"INTAKEBOT_NOTIFY_WEBHOOKS": "[{url: http://127.0.0.1:8080/h, secret_env: HOOK_SECRET, events: [rejected]}]",
			"HOOK_SECRET": "0123456789abcdef"}},
		{name: "webhook url not a URL", env: hooks("[{url: chat.example.test/h, secret_file: " + secret + ", events: [new]}]"),
			want: `notify.webhooks[0].url: "chat.example.test/h" is not an absolute http(s) URL`},
		{name: "webhook url with another scheme", env: hooks("[{url: 'ftp://x.example.test/', secret_file: " + secret + ", events: [new]}]"),
			want: `notify.webhooks[0].url: "ftp://x.example.test/" is not an absolute http(s) URL`},
		{name: "webhook without secret", env: hooks("[{url: https://chat.example.test/h, events: [new]}]"),
			want: "notify.webhooks[0].secret_file: is missing: every webhook is signed"},
		{name: "webhook secret file missing", env: hooks("[{url: https://chat.example.test/h, secret_file: /nonexistent/hook, events: [new]}]"),
			want: "notify.webhooks[0].secret_file: open /nonexistent/hook: no such file or directory"},
		{name: "webhook secret too short", env: hooks("[{url: https://chat.example.test/h, secret_file: " + short + ", events: [new]}]"),
			want: "notify.webhooks[0].secret_file: holds 3 bytes"},
		{name: "webhook secret variable unset", env: hooks("[{url: https://chat.example.test/h, secret_env: NO_SUCH_VAR, events: [new]}]"),
			want: "notify.webhooks[0].secret_env: NO_SUCH_VAR must hold a secret"},
		{name: "webhook without events", env: hooks("[{url: https://chat.example.test/h, secret_file: " + secret + "}]"),
			want: "notify.webhooks[0].events: lists no event"},
		{name: "webhook unknown event", env: hooks("[{url: https://a.example.test/, secret_file: " + secret + ", events: [new]}, {url: https://b.example.test/, secret_file: " + secret + ", events: [breach]}]"),
			want: `notify.webhooks[1].events: "breach" is not an event`},
		{name: "webhook twice", env: hooks("[{url: https://a.example.test/, secret_file: " + secret + ", events: [new]}, {url: https://a.example.test/, secret_file: " + secret + ", events: [new]}]"),
			want: `notify.webhooks[1].url: "https://a.example.test/" is listed twice`},
		{name: "good mail", env: mailEnv("INTAKEBOT_NOTIFY_EMAIL", "{groups: {networks: redes@example.test}, agents: [{name: alice, address: alice@example.test, lang: es, groups: [networks]}]}")},
		{name: "mail to an unknown group", env: mailEnv("INTAKEBOT_NOTIFY_EMAIL_GROUPS", "{printers: p@example.test}"),
			want: `notify.email.groups: "printers" is not one of groups`},
		{name: "mail to no address", env: mailEnv("INTAKEBOT_NOTIFY_EMAIL_GROUPS", "{networks: redes}"),
			want: `notify.email.groups.networks: "redes" is not an e-mail address`},
		{name: "agent's language", env: mailEnv("INTAKEBOT_NOTIFY_EMAIL_AGENTS", "[{name: alice, address: alice@example.test, lang: fr}]"),
			want: `notify.email.agents[0].lang: must be en or es, not "fr"`},
		{name: "agent without name", env: mailEnv("INTAKEBOT_NOTIFY_EMAIL_AGENTS", "[{address: alice@example.test}]"),
			want: "notify.email.agents[0].name: is required"},
		{name: "mail without smtp", env: Env{"INTAKEBOT_NOTIFY_EMAIL_GROUPS": "{networks: redes@example.test}"},
			want: "notify.email: mails alerts, but email.smtp is not configured"},
		{name: "mail unknown event", env: mailEnv("INTAKEBOT_NOTIFY_EMAIL_EVENTS", "[new, late]"),
			want: `notify.email.events: "late" is not an event`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, "", tc.env)
			if tc.want == "" && got != "" {
				t.Fatalf("valid configuration refused:\n%s", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("problems lack\n  %s\ngot\n  %s", tc.want, strings.ReplaceAll(got, "\n", "\n  "))
			}
		})
	}
}

// The listeners the store queues alerts for: each group's address, each
// agent in their language, each webhook with its events.
func TestAlertTargets(t *testing.T) {
	c, _, err := Load("", Env{
		"INTAKEBOT_LANGUAGE_DEFAULT": "es",
		"INTAKEBOT_NOTIFY_EMAIL":     "{events: [new, rejected], groups: {networks: redes@example.test}, agents: [{name: alice, address: alice@example.test, lang: en}]}",
		"INTAKEBOT_NOTIFY_WEBHOOKS":  "[{url: https://chat.example.test/h, secret_env: S, events: [sla_breach]}]", "S": "0123456789abcdef",
	})
	if err != nil {
		t.Fatal(err)
	}
	got := c.AlertTargets()
	if len(got) != 3 {
		t.Fatalf("targets %+v", got)
	}
	if g := got[0]; g.Email != "redes@example.test" || g.Lang != intake.Spanish || !slices.Equal(g.Groups, []string{"networks"}) ||
		!slices.Equal(g.Alerts, []intake.Alert{intake.AlertNew, intake.AlertRejected}) {
		t.Errorf("group target %+v", g)
	}
	if a := got[1]; a.Email != "alice@example.test" || a.Lang != intake.English || a.Groups != nil {
		t.Errorf("agent target %+v", a)
	}
	if w := got[2]; w.Route != intake.RouteWebhook || w.URL != "https://chat.example.test/h" || !slices.Equal(w.Alerts, []intake.Alert{intake.AlertSLABreach}) {
		t.Errorf("webhook target %+v", w)
	}
	if s, err := c.Notify.Webhooks[0].Secret(); err != nil || string(s) != "0123456789abcdef" {
		t.Errorf("secret %q %v", s, err)
	}
}
