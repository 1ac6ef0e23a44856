package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/oidctest"
)

// Local mode prints, beside the API token, the console's address and the
// admin's password, and both work: that line is the whole how-to.
func TestLocalModePrintsAWorkingConsoleLogin(t *testing.T) {
	s := startServe(t, map[string]string{})
	out := strings.Join(s.lines, "\n")
	m := regexp.MustCompile(`The console is at (\S+) \(sign in as (\S+), password (\S+)\)`).FindStringSubmatch(out)
	if m == nil || s.token == "" {
		t.Fatalf("no console sign-in (or no token) printed:\n%s", out)
	}
	if m[1] != s.url+"/console/" {
		t.Fatalf("console printed at %s, but the bot serves on %s", m[1], s.url)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Get(m[1] + "login")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(page))
	if token == nil {
		t.Fatalf("no sign-in form:\n%s", page)
	}
	resp, err = hc.PostForm(m[1]+"login", url.Values{"csrf": {token[1]}, "name": {m[2]}, "password": {m[3]}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("sign-in with the printed password: %s to %q", resp.Status, resp.Header.Get("Location"))
	}
}

// serve wires web.oidc: the secret from INTAKEBOT_WEB_OIDC_CLIENT_SECRET_FILE,
// the redirect URI from the bot's own address, and the embedded admin
// signs on through a real provider.
func TestServeSignsOnThroughOIDC(t *testing.T) {
	idp := oidctest.Start(t, "intakebot", "oidc-client-secret-0123456789")
	secretFile := filepath.Join(t.TempDir(), "oidc-secret")
	if err := os.WriteFile(secretFile, []byte(idp.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, map[string]string{"INTAKEBOT_WEB_OIDC_ISSUER": idp.Issuer, "INTAKEBOT_WEB_OIDC_CLIENT_ID": idp.ClientID,
		"INTAKEBOT_WEB_OIDC_CLIENT_SECRET_FILE": secretFile, "INTAKEBOT_WEB_OIDC_ADMIN_GROUP": "desk-admins"})
	idp.SignInAs(map[string]any{"preferred_username": "admin", "groups": []string{"desk-admins"}})
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar} // follows every redirect, as a browser does
	resp, err := hc.Get(s.url + "/console/login/oidc?next=/console/agents")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != s.url+"/console/agents" || !strings.Contains(string(page), "admin") {
		t.Fatalf("single sign-on through serve ended at %s with %s:\n%s", resp.Request.URL, resp.Status, page)
	}
}
