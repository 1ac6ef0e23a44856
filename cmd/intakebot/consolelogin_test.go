package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
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
