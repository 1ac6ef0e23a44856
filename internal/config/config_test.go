package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/email/mailtls"
)

func write(t *testing.T, text string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func TestLoadLayersDefaultsFileAndEnv(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "redis-url")
	os.WriteFile(secret, []byte("redis://secret-host:6379\n"), 0o600)
	file := write(t, "http:\n  listen: 0.0.0.0:9000\ngroups: [a, b]\ndefault_group: a\ncategories: []\n")
	c, warnings, err := Load(file, Env{
		"INTAKEBOT_REDIS_URL_FILE":        secret,
		"INTAKEBOT_LANGUAGE_DEFAULT":      "es",
		"INTAKEBOT_HTTP_SHUTDOWN_TIMEOUT": "3s",
		"INTAKEBOT_HTTP_READYZ_STRICT":    "true",
		"INTAKEBOT_CIS":                   "[{name: crm, aliases: [salesforce]}]",
		"INTAKEBOT_EMAIL_SMTP":            "{host: smtp.example.test, port: 2525}",
		"INTAKEBOT_EMAIL_SMTP_PORT":       "587",
		"INTAKEBOT_TOKEN":                 "the CLI's, not a key",
		"INTAKEBOT_TEST_REDIS_URL":        "the tests', not a key",
	})
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	if c.Redis.URL != "redis://secret-host:6379" || c.HTTP.Listen != "0.0.0.0:9000" || c.Language.Default != "es" ||
		time.Duration(c.HTTP.ShutdownTimeout) != 3*time.Second || !c.HTTP.ReadyzStrict || len(c.CIs) != 1 || c.CIs[0].Aliases[0] != "salesforce" ||
		strings.Join(c.Groups, ",") != "a,b" || len(c.Categories) != 0 || c.Redis.Prefix != "intakebot" ||
		c.Email.SMTP.Host != "smtp.example.test" || c.Email.SMTP.Port != 587 || c.Email.SMTP.TLS != mailtls.StartTLS {
		t.Fatalf("config %+v", c)
	}
	if _, err := c.Rules(); err != nil {
		t.Fatal(err)
	}
}

func TestTheDefaultsAreValid(t *testing.T) {
	c, warnings, err := Load("", Env{})
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	if probs := c.Validate(); len(probs) > 0 {
		t.Fatalf("the defaults do not validate:\n%v", probs)
	}
	if file := write(t, string(Default())); true {
		if _, _, err := Load(file, Env{}); err != nil {
			t.Fatalf("the example does not load: %v", err)
		}
	}
}

// problems loads a file and an environment and returns every problem
// reported, loading and validating, one a line.
func problems(t *testing.T, file string, env Env) string {
	t.Helper()
	path := ""
	if file != "" {
		path = write(t, file)
	}
	c, _, err := Load(path, env)
	if err != nil {
		var ps Problems
		if !errors.As(err, &ps) {
			t.Fatalf("%v is not a list of problems", err)
		}
		return ps.Error()
	}
	return c.Validate().Error()
}

func TestLoadNamesTheKeyOfEveryMistake(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		env        Env
		want       []string
	}{
		{name: "unknown key", file: "redis:\n  urll: redis://x\n",
			want: []string{"redis.urll: unknown key; did you mean redis.url?"}},
		{name: "unknown key in a mailbox", file: "email:\n  mailboxes:\n    - name: a\n      adress: a@example.test\n",
			want: []string{"email.mailboxes[0].adress: unknown key; did you mean email.mailboxes[0].address?"}},
		{name: "unknown key in a map's entry", file: "sla:\n  targets:\n    P1: {respons: 1m}\n",
			want: []string{"sla.targets.P1.respons: unknown key; did you mean sla.targets.P1.response?"}},
		{name: "unknown section", file: "timer:\n  tick: 1m\n",
			want: []string{"timer: unknown key; did you mean timers?"}},
		{name: "every mistake, not the first", file: "http:\n  lisen: x\n  shutdown_timeout: soon\nemail:\n  workers: many\n",
			want: []string{"http.lisen: unknown key; did you mean http.listen?",
				`http.shutdown_timeout: expected a duration such as 30s, 5m or 24h, got "soon" (line 3)`,
				`email.workers: expected a whole number, got "many" (line 5)`}},
		{name: "a list for a scalar", file: "redis:\n  url: [a, b]\n",
			want: []string{"redis.url: expected text, got a list (line 2)"}},
		{name: "a scalar for a section", file: "outbox: 5m\n",
			want: []string{`outbox: expected a mapping (key: value), got "5m" (line 1)`}},
		{name: "env of the wrong type", env: Env{"INTAKEBOT_HTTP_SHUTDOWN_TIMEOUT": "soon"},
			want: []string{`http.shutdown_timeout: expected a duration such as 30s, 5m or 24h, got "soon" (line 1) (from INTAKEBOT_HTTP_SHUTDOWN_TIMEOUT)`}},
		{name: "a flag that is not true or false", env: Env{"INTAKEBOT_HTTP_READYZ_STRICT": "sometimes"},
			want: []string{`http.readyz_strict: expected true or false, got "sometimes" (line 1) (from INTAKEBOT_HTTP_READYZ_STRICT)`}},
		{name: "env section with an unknown key", env: Env{"INTAKEBOT_EMAIL_SMTP": "{hots: x}"},
			want: []string{"email.smtp.hots: unknown key; did you mean email.smtp.host? (from INTAKEBOT_EMAIL_SMTP)"}},
		{name: "missing secret file", env: Env{"INTAKEBOT_REDIS_URL_FILE": "/nonexistent/secret"},
			want: []string{"INTAKEBOT_REDIS_URL_FILE: open /nonexistent/secret: no such file or directory (the secret for redis.url)"}},
		{name: "not YAML", file: "redis: [\n",
			want: []string{"not YAML"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.file, tc.env)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems lack\n  %s\ngot\n  %s", w, strings.ReplaceAll(got, "\n", "\n  "))
				}
			}
			if n := strings.Count(got, "\n") + 1; n != len(tc.want) {
				t.Errorf("%d problems, want %d:\n%s", n, len(tc.want), got)
			}
		})
	}
}

func TestUnknownVariablesAreWarnings(t *testing.T) {
	c, warnings, err := Load("", Env{"INTAKEBOT_REDIS_URLL": "redis://x", "INTAKEBOT_FROBNICATE_EVERYTHING": "1",
		"INTAKEBOT_URL": "http://cli", "INTAKEBOT_E2E_MAILDIR": "/tmp", "HOME": "/root"})
	if err != nil || c == nil {
		t.Fatal(err)
	}
	got := warnings.Error()
	want := "INTAKEBOT_FROBNICATE_EVERYTHING: matches no configuration key and is ignored\n" +
		"INTAKEBOT_REDIS_URLL: matches no configuration key and is ignored; did you mean INTAKEBOT_REDIS_URL (redis.url)?"
	if got != want {
		t.Fatalf("warnings\n%s\nwant\n%s", got, want)
	}
}

func TestValidateChecksFieldsTogether(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  Env
		want string // "" for a valid configuration
	}{
		{name: "defaults", env: Env{}},
		{name: "grouping score zero", env: Env{"INTAKEBOT_GROUPING_MIN_SCORE": "0"},
			want: "grouping.min_score: must be above 0 and at most 1, not 0"},
		{name: "grouping score above one", env: Env{"INTAKEBOT_GROUPING_MIN_SCORE": "1.5"},
			want: "grouping.min_score: must be above 0 and at most 1, not 1.5"},
		{name: "grouping window zero", env: Env{"INTAKEBOT_GROUPING_WINDOW": "0s"},
			want: "grouping.window: must be above 0, not 0s"},
		{name: "grouping by env", env: Env{"INTAKEBOT_GROUPING_WINDOW": "30m", "INTAKEBOT_GROUPING_MIN_SCORE": "0.7",
			"INTAKEBOT_GROUPING_NEVER_CATEGORIES": "[security]"}},
		{name: "outbox lease below the delivery timeout", env: Env{"INTAKEBOT_OUTBOX_LEASE": "10s"},
			want: "outbox.lease: (10s) must be longer than outbox.delivery_timeout (25s)"},
		{name: "outbox lease equal to the delivery timeout", env: Env{"INTAKEBOT_OUTBOX_LEASE": "1m", "INTAKEBOT_OUTBOX_DELIVERY_TIMEOUT": "1m"},
			want: "outbox.lease: (1m0s) must be longer than outbox.delivery_timeout (1m0s)"},
		{name: "outbox lease above a longer timeout", env: Env{"INTAKEBOT_OUTBOX_LEASE": "10m", "INTAKEBOT_OUTBOX_DELIVERY_TIMEOUT": "1m"}},
		{name: "public listen without base_url", env: Env{"INTAKEBOT_HTTP_LISTEN": "0.0.0.0:8080"},
			want: "web.base_url: must be set when http.listen (0.0.0.0:8080) is not a loopback address"},
		{name: "IPv6 any without base_url", env: Env{"INTAKEBOT_HTTP_LISTEN": "[::]:8080"},
			want: "web.base_url: must be set when http.listen ([::]:8080) is not a loopback address"},
		{name: "public listen with base_url", env: Env{"INTAKEBOT_HTTP_LISTEN": "0.0.0.0:8080", "INTAKEBOT_WEB_BASE_URL": "https://desk.example.test"}},
		{name: "loopback listen", env: Env{"INTAKEBOT_HTTP_LISTEN": "[::1]:8080"}},
		{name: "base_url not a URL", env: Env{"INTAKEBOT_WEB_BASE_URL": "desk.example.test"},
			want: `web.base_url: "desk.example.test" is not an absolute http(s) URL`},
		{name: "link dies before validation times out", env: Env{"INTAKEBOT_WEB_LINK_TTL": "100h"},
			want: "web.link_ttl: (100h0m0s) is shorter than timers.validation.accept_after (168h0m0s)"},
		{name: "link dies before the last reminder", env: Env{"INTAKEBOT_WEB_LINK_TTL": "50h", "INTAKEBOT_TIMERS_VALIDATION_ACCEPT_AFTER": "0", "INTAKEBOT_TIMERS_SATISFACTION_CLOSE_AFTER": "0", "INTAKEBOT_TIMERS_SATISFACTION_REMIND_AFTER": "[]"},
			want: "web.link_ttl: (50h0m0s) is shorter than timers.validation.remind_after (72h0m0s)"},
		{name: "reminder after the timeout", env: Env{"INTAKEBOT_TIMERS_SATISFACTION_REMIND_AFTER": "[48h, 130h]"},
			want: "timers.satisfaction.remind_after[1]: (130h0m0s) is not before timers.satisfaction.close_after (120h0m0s)"},
		{name: "reminders out of order", env: Env{"INTAKEBOT_TIMERS_VALIDATION_REMIND_AFTER": "[72h, 24h]"},
			want: "timers.validation.remind_after[1]: (24h0m0s) must come after the reminder before it (72h0m0s)"},
		{name: "mailbox lease too short", env: mailEnv("INTAKEBOT_EMAIL_MAILBOX_LEASE", "2s"),
			want: "email.mailbox_lease: (2s) must be at least 9s"},
		{name: "mail configured", env: mailEnv()},
		{name: "plain IMAP to another host", env: mailEnv("INTAKEBOT_EMAIL_MAILBOXES", "[{name: a, address: a@example.test, imap: {host: imap.example.test, tls: none}}]"),
			want: "email.mailboxes[0].imap.tls: none sends the password in clear"},
		{name: "unknown TLS mode", env: mailEnv("INTAKEBOT_EMAIL_SMTP_TLS", "ssl"),
			want: `email.smtp.tls: must be implicit, starttls or none, not "ssl"`},
		{name: "mailboxes without smtp", env: Env{"INTAKEBOT_EMAIL_MAILBOXES": "[{name: a, address: a@example.test, imap: {host: imap.example.test}}]"},
			want: "email: configure both email.mailboxes"},
		{name: "mailbox checked with NOOP", env: mailEnv("INTAKEBOT_EMAIL_MAILBOXES", "[{name: a, address: a@example.test, imap: {host: h}, check_every: 100ms}]")},
		{name: "mailbox NOOP too often", env: mailEnv("INTAKEBOT_EMAIL_MAILBOXES", "[{name: a, address: a@example.test, imap: {host: h}, check_every: 1ms}]"),
			want: "email.mailboxes[0].check_every: (1ms) must be between 10ms and 1m, or unset to use IDLE"},
		{name: "two mailboxes of one name", env: mailEnv("INTAKEBOT_EMAIL_MAILBOXES", "[{name: a, address: a@example.test, imap: {host: h}}, {name: a, address: b@example.test, imap: {host: h}}]"),
			want: `email.mailboxes[1].name: "a" is the name of another mailbox too`},
		{name: "short reply key", env: mailEnv("INTAKEBOT_EMAIL_REPLY_KEY", "c2hvcnQ="),
			want: "email.reply_key: has 5 bytes, at least 32 are needed"},
		{name: "bad schedule", env: Env{"INTAKEBOT_OUTBOX_POLL": "every now and then"},
			want: `outbox.poll: "every now and then" is not a schedule`},
		{name: "slack without app token", env: Env{"INTAKEBOT_SLACK_BOT_TOKEN": "xoxb-1"},
			want: "slack.app_token: slack.mode socket needs an app token"},
		{name: "short events token", env: Env{"INTAKEBOT_EVENTS_TOKEN": "short"},
			want: "events.token: must be at least 16 characters"},
		{name: "incomplete matrix", env: Env{"INTAKEBOT_PRIORITY_MATRIX": "{high: {high: P1}}"},
			want: "groups/categories/cis/priority: invalid: priority matrix has no valid priority"},
		{name: "warn_at", env: Env{"INTAKEBOT_SLA_WARN_AT": "1.5"},
			want: "sla.warn_at must be at least 0 and below 1"},
		{name: "local mode on a public address", env: Env{"INTAKEBOT_LOCAL_SMTP_LISTEN": "0.0.0.0:25"},
			want: `local.smtp_listen: "0.0.0.0:25": the local mail server speaks without TLS, so it listens on loopback only`},
		{name: "redis url without a scheme", env: Env{"INTAKEBOT_REDIS_URL": "localhost:6379"},
			want: "redis.url: redis url \"localhost:6379\": no scheme"},
		{name: "missing password file", env: mailEnv("INTAKEBOT_EMAIL_SMTP", "{password_file: /nonexistent/smtp-password}"),
			want: "email.smtp.password_file: stat /nonexistent/smtp-password: no such file or directory"},
		{name: "display time zone", env: Env{"INTAKEBOT_DISPLAY_TIME_ZONE": "Europe/Madrid"}},
		{name: "unknown display time zone", env: Env{"INTAKEBOT_DISPLAY_TIME_ZONE": "Mars/Olympus"},
			want: `display.time_zone: "Mars/Olympus" is not a time zone`},
		{name: "console session idle too short", env: Env{"INTAKEBOT_WEB_SESSION_IDLE": "10s"},
			want: "web.session.idle: must be at least 1m, not 10s"},
		{name: "console session absolute below idle", env: Env{"INTAKEBOT_WEB_SESSION_IDLE": "2h", "INTAKEBOT_WEB_SESSION_ABSOLUTE": "1h"},
			want: "web.session.absolute: (1h0m0s) must not be shorter than web.session.idle (2h0m0s)"},
		{name: "console and portal off, sessions unchecked", env: Env{"INTAKEBOT_WEB_CONSOLE_ENABLED": "false", "INTAKEBOT_WEB_PORTAL_ENABLED": "false", "INTAKEBOT_WEB_SESSION_IDLE": "0"}},
		{name: "org", env: Env{"INTAKEBOT_ORG_NAME": "Acme IT", "INTAKEBOT_ORG_SUPPORT_URL": "https://it.acme.example", "INTAKEBOT_ORG_LOGO_URL": "https://it.acme.example/logo.png"}},
		{name: "plain-http logo", env: Env{"INTAKEBOT_ORG_LOGO_URL": "http://it.acme.example/logo.png"},
			want: `org.logo_url: "http://it.acme.example/logo.png" is not an absolute https URL`},
		{name: "support url not a URL", env: Env{"INTAKEBOT_ORG_SUPPORT_URL": "it.acme.example"},
			want: `org.support_url: "it.acme.example" is not an absolute http(s) URL`},
		{name: "org name of two lines", env: Env{"INTAKEBOT_ORG_NAME": "Acme\nIT"},
			want: "org.name: must be one line"},
		{name: "missing templates dir", env: Env{"INTAKEBOT_TEMPLATES_DIR": "/nonexistent/templates"},
			want: "templates.dir: stat /nonexistent/templates: no such file or directory"},
		{name: "log level", env: Env{"INTAKEBOT_LOG_LEVEL": "loud"},
			want: `log.level: must be debug, info, warn or error, not "loud"`},
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

// A templates.dir is checked like the embedded templates: an override
// that does not parse, or a language missing a file, is a problem naming
// the file; a good override passes.
func TestTemplatesDirIsChecked(t *testing.T) {
	dir := t.TempDir()
	env := Env{"INTAKEBOT_TEMPLATES_DIR": dir}
	if got := problems(t, "", env); got != "" {
		t.Fatalf("an empty override directory refused:\n%s", got)
	}
	if err := os.MkdirAll(filepath.Join(dir, "en"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "en", "closed.html"), []byte(`{{define "content"}}{{.ID}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := problems(t, "", env); !strings.Contains(got, "templates.dir: template en/closed.html") {
		t.Fatalf("a broken override: %s", got)
	}
	if err := os.Remove(filepath.Join(dir, "en", "closed.html")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "fr"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "fr", "shared.tmpl"), []byte(`{{define "greeting"}}Bonjour{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := problems(t, "", env); !strings.Contains(got, "fr/layout.html is missing") {
		t.Fatalf("a third language without its files: %s", got)
	}
}

// mailEnv is a valid e-mail channel, with kv (name, value pairs) on top.
func mailEnv(kv ...string) Env {
	env := Env{
		"INTAKEBOT_EMAIL_MAILBOXES": "[{name: desk, address: desk@example.test, imap: {host: imap.example.test}}]",
		"INTAKEBOT_EMAIL_SMTP_HOST": "smtp.example.test",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		env[kv[i]] = kv[i+1]
	}
	return env
}

func TestNearest(t *testing.T) {
	for _, tc := range []struct {
		s, want string
		ok      bool
	}{
		{"urll", "url", true}, {"URL", "url", true}, {"prefx", "prefix", true}, {"zzzzzz", "", false},
	} {
		got, ok := nearest(tc.s, []string{"url", "prefix", "embedded_listen"})
		if got != tc.want || ok != tc.ok {
			t.Errorf("nearest(%q) = %q %v, want %q %v", tc.s, got, ok, tc.want, tc.ok)
		}
	}
}

func TestGroupingConfig(t *testing.T) {
	c, warnings, err := Load("", Env{"INTAKEBOT_GROUPING_WINDOW": "30m", "INTAKEBOT_GROUPING_MIN_SCORE": "0.7",
		"INTAKEBOT_GROUPING_NEVER_CATEGORIES": "[security, hardware]"})
	if err != nil || len(warnings) > 0 {
		t.Fatal(err, warnings)
	}
	g := c.WorkflowGrouping()
	if !g.Enabled || g.Window != 30*time.Minute || g.MinScore != 0.7 || strings.Join(g.Never, ",") != "security,hardware" {
		t.Fatalf("grouping %+v", g)
	}
	d, _, err := Load("", Env{})
	if err != nil {
		t.Fatal(err)
	}
	if g := d.WorkflowGrouping(); !g.Enabled || g.Window != 15*time.Minute || g.MinScore != 0.5 || len(g.Never) != 0 {
		t.Fatalf("default grouping %+v", g)
	}
}
