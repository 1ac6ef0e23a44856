package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// web.oidc is all or nothing, https unless on this machine, and its
// secret may come from a file named in the file or by the environment.
func TestValidateOIDC(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	full := func(kv ...string) Env {
		env := Env{"INTAKEBOT_WEB_OIDC_ISSUER": "https://login.example.test/realms/desk", "INTAKEBOT_WEB_OIDC_CLIENT_ID": "intakebot",
			"INTAKEBOT_WEB_OIDC_CLIENT_SECRET_FILE": secret}
		for i := 0; i+1 < len(kv); i += 2 {
			env[kv[i]] = kv[i+1]
		}
		return env
	}
	for _, tc := range []struct {
		name string
		file string
		env  Env
		want string // "" for a valid configuration
	}{
		{name: "complete", env: full()},
		{name: "loopback http provider", env: full("INTAKEBOT_WEB_OIDC_ISSUER", "http://127.0.0.1:5556/dex")},
		{name: "localhost http provider", env: full("INTAKEBOT_WEB_OIDC_ISSUER", "http://localhost:5556")},
		{name: "inline secret", env: Env{"INTAKEBOT_WEB_OIDC_ISSUER": "https://login.example.test", "INTAKEBOT_WEB_OIDC_CLIENT_ID": "intakebot", "INTAKEBOT_WEB_OIDC_CLIENT_SECRET": "s3cret"}},
		{name: "plain http provider elsewhere", env: full("INTAKEBOT_WEB_OIDC_ISSUER", "http://login.example.test"),
			want: `web.oidc.issuer: "http://login.example.test" must be an https URL (http only for a provider on this machine)`},
		{name: "issuer not a URL", env: full("INTAKEBOT_WEB_OIDC_ISSUER", "login.example.test"),
			want: `web.oidc.issuer: "login.example.test" must be an https URL`},
		{name: "client id alone", env: Env{"INTAKEBOT_WEB_OIDC_CLIENT_ID": "intakebot"},
			want: "web.oidc.issuer: is required for single sign-on"},
		{name: "no client id", env: full("INTAKEBOT_WEB_OIDC_CLIENT_ID", ""),
			want: "web.oidc.client_id: is required for single sign-on"},
		{name: "no secret", env: Env{"INTAKEBOT_WEB_OIDC_ISSUER": "https://login.example.test", "INTAKEBOT_WEB_OIDC_CLIENT_ID": "intakebot"},
			want: "web.oidc.client_secret_file: is required for single sign-on"},
		{name: "missing secret file", file: "web:\n  oidc:\n    issuer: https://login.example.test\n    client_id: intakebot\n    client_secret_file: /nonexistent/oidc\n",
			want: "web.oidc.client_secret_file: stat /nonexistent/oidc: no such file or directory"},
		{name: "empty agents claim", env: full("INTAKEBOT_WEB_OIDC_AGENTS_CLAIM", " "),
			want: "web.oidc.agents_claim: must name the ID token claim"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := problems(t, tc.file, tc.env)
			if tc.want == "" && got != "" {
				t.Fatalf("valid configuration refused:\n%s", got)
			}
			if !strings.Contains(got, tc.want) {
				t.Fatalf("problems lack\n  %s\ngot\n  %s", tc.want, strings.ReplaceAll(got, "\n", "\n  "))
			}
		})
	}
}

// INTAKEBOT_WEB_OIDC_CLIENT_SECRET_FILE reads the secret as every _FILE
// variable does; the defaults leave single sign-on off.
func TestOIDCSecretFromEnvFile(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secret, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _, err := Load("", Env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Web.OIDC.Enabled() || c.Web.OIDC.AgentsClaim != "preferred_username" {
		t.Fatalf("default web.oidc: %+v", c.Web.OIDC)
	}
	c, _, err = Load("", Env{"INTAKEBOT_WEB_OIDC_CLIENT_SECRET_FILE": secret})
	if err != nil {
		t.Fatal(err)
	}
	if c.Web.OIDC.ClientSecret != "s3cret" || !c.Web.OIDC.Enabled() {
		t.Fatalf("web.oidc from the _FILE variable: %+v", c.Web.OIDC)
	}
}
