package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/localmail"
)

// serve in local mode serves the portal and says where; a sign-in link
// asked for there arrives in demo's mailbox, and signs demo in.
func TestServeServesThePortal(t *testing.T) {
	s := startServe(t, map[string]string{"INTAKEBOT_OUTBOX_POLL": "@every 1s", "INTAKEBOT_LOCAL_POLL": "@every 1s"})
	b := banner(t, s)
	m := regexp.MustCompile(`The reporters' portal is at (http://\S+/portal/)`).FindStringSubmatch(strings.Join(s.lines, "\n"))
	if m == nil {
		t.Fatalf("serve does not say where the portal is:\n%s", strings.Join(s.lines, "\n"))
	}
	base := strings.TrimSuffix(m[1], "/portal/")
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	get := func(method, u string, form url.Values) string {
		t.Helper()
		var resp *http.Response
		var err error
		if form == nil {
			resp, err = hc.Get(u)
		} else {
			resp, err = hc.PostForm(u, form)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d\n%s", method, u, resp.StatusCode, body)
		}
		return string(body)
	}
	token := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	page := get("GET", m[1], nil) // to the sign-in page
	get("POST", base+"/portal/login", url.Values{"csrf": {token.FindStringSubmatch(page)[1]}, "email": {b.Demo.Address}})
	link, err := waitFor(context.Background(), 20*time.Second, "the sign-in mail", func() (string, bool, error) {
		mails, err := localmail.Inbox(context.Background(), b.IMAPAddr, b.Demo, 0)
		for _, mail := range mails {
			for _, l := range mail.Links {
				if strings.HasPrefix(l, base+"/portal/login/") {
					return l, true, nil
				}
			}
		}
		return "", false, err
	})
	if err != nil {
		t.Fatal(err)
	}
	page = get("GET", link, nil)
	if home := get("POST", link, url.Values{"csrf": {token.FindStringSubmatch(page)[1]}}); !strings.Contains(home, "My incidents") {
		t.Fatalf("after the sign-in link:\n%s", home)
	}
}
