package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web/console"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/oidctest"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

const adminGroup = "helpdesk-admins"

// ssoFixture is a console with single sign-on through a real OIDC
// provider on the wire, groups granting admin.
func ssoFixture(t *testing.T) (*fixture, *oidctest.Provider) {
	t.Helper()
	idp := oidctest.Start(t, "intakebot-console", "client-secret-0123456789")
	f := newFixtureWith(t, func(d *console.Deps, base string, rdb redis.UniversalClient, prefix string) {
		d.SSO = console.NewSSO(console.SSOConfig{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
			RedirectURL: base + "/console/login/oidc/callback", AgentsClaim: "preferred_username", AdminGroup: adminGroup},
			webui.NewFlows(rdb, prefix, 10*time.Minute))
	})
	return f, idp
}

// ssoStart asks the console to sign on and returns the provider's
// authorization URL it sends the browser to.
func (c *client) ssoStart(next string) *url.URL {
	c.f.t.Helper()
	resp, body := c.do("GET", "/console/login/oidc?next="+url.QueryEscape(next), nil)
	if resp.StatusCode != http.StatusFound {
		c.f.t.Fatalf("start single sign-on: %s\n%s", resp.Status, body)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		c.f.t.Fatal(err)
	}
	return u
}

// atProvider follows the browser to the provider, which answers with the
// way back to the console: the callback's path and query.
func (c *client) atProvider(auth *url.URL) string {
	c.f.t.Helper()
	req, _ := http.NewRequest("GET", auth.String(), nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	resp.Body.Close()
	back, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(back.String(), c.f.srv.URL+"/console/login/oidc/callback?") {
		c.f.t.Fatalf("provider answered %s to %q", resp.Status, resp.Header.Get("Location"))
	}
	return back.RequestURI()
}

// ssoSignIn runs the whole flow and returns the callback's answer.
func (c *client) ssoSignIn(next string) (*http.Response, string) {
	c.f.t.Helper()
	return c.do("GET", c.atProvider(c.ssoStart(next)), nil)
}

// signedInAs tells who the queue says is signed in ("" for nobody).
func (c *client) signedInAs() string {
	c.f.t.Helper()
	resp, body := c.do("GET", "/console/", nil)
	if resp.StatusCode != http.StatusOK {
		return ""
	}
	if m := regexp.MustCompile(`<strong>([^<]+)</strong>`).FindStringSubmatch(body); m != nil {
		return m[1]
	}
	return "?"
}

func TestSSOSignsAnAgentIn(t *testing.T) {
	f, idp := ssoFixture(t)
	c := f.client()
	_, page := c.do("GET", "/console/login", nil)
	if !strings.Contains(page, "Sign in with single sign-on") || !strings.Contains(page, `href="/console/login/oidc?next=%2fconsole%2f"`) {
		t.Fatalf("the sign-in page offers no single sign-on:\n%s", page)
	}
	auth := c.ssoStart("/console/dashboard")
	q := auth.Query()
	if !strings.HasPrefix(auth.String(), idp.Issuer+"/authorize?") || q.Get("state") == "" || q.Get("nonce") == "" ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Fatalf("authorization request lacks state, nonce or PKCE: %s", auth)
	}
	idp.SignInAs(map[string]any{"preferred_username": "alice", "email": "alice@example.test"})
	resp, body := c.do("GET", c.atProvider(auth), nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/dashboard" {
		t.Fatalf("callback: %s to %q\n%s", resp.Status, resp.Header.Get("Location"), body)
	}
	var session *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == webui.SessionCookie {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie after single sign-on: %+v", session)
	}
	resp, body = c.do("GET", "/console/", nil)
	if resp.StatusCode != http.StatusOK || c.signedInAs() != "alice" {
		t.Fatalf("queue after single sign-on: %s\n%s", resp.Status, body)
	}
	// The same Redis session as a password's: sign-out ends it.
	resp, _ = c.do("POST", "/console/logout", url.Values{"csrf": {csrf(t, body)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %s", resp.Status)
	}
	if resp, _ := c.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("queue after sign-out: %s", resp.Status)
	}
}

// A flow begun on one bot finishes on another: the flow is in Redis.
func TestSSOFinishesOnAnotherBot(t *testing.T) {
	f, idp := ssoFixture(t)
	other := httptest.NewServer(console.New(f.deps))
	t.Cleanup(other.Close)
	idp.SignInAs(map[string]any{"preferred_username": "bob"})
	c := f.client()
	back := c.atProvider(c.ssoStart("/console/"))
	// Both bots are 127.0.0.1: the cookie jar sends the flow's cookie to
	// either, as a browser does behind one load balancer.
	req, _ := http.NewRequest("GET", other.URL+back, nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("callback on the other bot: %s", resp.Status)
	}
	if who := c.signedInAs(); who != "bob" {
		t.Fatalf("signed in as %q after signing on through the other bot", who)
	}
}

func TestSSORefusesWhomNoAgentNames(t *testing.T) {
	f, idp := ssoFixture(t)
	ctx := context.Background()
	if err := f.store.RevokeAgent(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	// carol was added two days ago for a day: her access has ended.
	past := redisstore.New(f.rdb, f.prefix, intake.RouteEmail).WithClock(func() time.Time { return time.Now().Add(-48 * time.Hour) })
	if _, _, err := past.CreateAgent(ctx, "carol", false, 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		claims     map[string]any
	}{
		{"unknown person", "You signed in as mallory, but no agent of this help desk has that name", map[string]any{"preferred_username": "mallory"}},
		{"revoked agent", "You signed in as bob, but no agent", map[string]any{"preferred_username": "bob"}},
		{"expired agent", "You signed in as carol, but no agent", map[string]any{"preferred_username": "carol"}},
		{"no agents claim", "did not tell us your agent name", map[string]any{"email": "alice@example.test"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.SignInAs(tc.claims)
			c := f.client()
			resp, body := c.ssoSignIn("/console/")
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, tc.want) {
				t.Fatalf("callback: %s, want 403 saying %q\n%s", resp.Status, tc.want, body)
			}
			if who := c.signedInAs(); who != "" {
				t.Fatalf("signed in as %s after a refusal", who)
			}
		})
	}
}

func TestSSORefusesABadStateOrNonce(t *testing.T) {
	f, idp := ssoFixture(t)
	idp.SignInAs(map[string]any{"preferred_username": "alice"})

	t.Run("state changed", func(t *testing.T) {
		c := f.client()
		back := c.atProvider(c.ssoStart("/console/"))
		u, _ := url.Parse(back)
		q := u.Query()
		q.Set("state", "forged-state-0123456789abcdef0123456789")
		u.RawQuery = q.Encode()
		resp, body := c.do("GET", u.RequestURI(), nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "did not start in this browser") {
			t.Fatalf("forged state: %s\n%s", resp.Status, body)
		}
		if c.signedInAs() != "" {
			t.Fatal("signed in with a forged state")
		}
	})
	t.Run("another browser's callback", func(t *testing.T) {
		victim, attacker := f.client(), f.client()
		back := attacker.atProvider(attacker.ssoStart("/console/"))
		resp, body := victim.do("GET", back, nil)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "did not start in this browser") {
			t.Fatalf("callback in a browser that did not start the flow: %s\n%s", resp.Status, body)
		}
		if victim.signedInAs() != "" {
			t.Fatal("signed in through another browser's flow")
		}
	})
	t.Run("callback replayed", func(t *testing.T) {
		c := f.client()
		back := c.atProvider(c.ssoStart("/console/"))
		// Keep the flow's cookie for the replay, as an attacker would.
		var flow *http.Cookie
		for _, ck := range c.hc.Jar.Cookies(mustURL(t, f.srv.URL+"/console/login/oidc/callback")) {
			if ck.Name == "intakebot_oidc" {
				flow = ck
			}
		}
		if resp, _ := c.do("GET", back, nil); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback: %s", resp.Status)
		}
		replay := f.client()
		replay.hc.Jar.SetCookies(mustURL(t, f.srv.URL+"/console/login/oidc/callback"), []*http.Cookie{flow})
		resp, body := replay.do("GET", back, nil)
		if resp.StatusCode != http.StatusBadRequest || replay.signedInAs() != "" {
			t.Fatalf("replayed callback: %s\n%s", resp.Status, body)
		}
	})
	t.Run("nonce changed", func(t *testing.T) {
		c := f.client()
		auth := c.ssoStart("/console/")
		q := auth.Query()
		q.Set("nonce", "not-the-nonce-the-console-sent")
		auth.RawQuery = q.Encode()
		resp, body := c.do("GET", c.atProvider(auth), nil)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "Single sign-on could not be completed") {
			t.Fatalf("nonce mismatch: %s\n%s", resp.Status, body)
		}
		if c.signedInAs() != "" {
			t.Fatal("signed in with another nonce")
		}
	})
	t.Run("PKCE verifier of another flow", func(t *testing.T) {
		// The code of one flow exchanged in another: the provider's PKCE
		// check refuses it, and so does the console.
		c := f.client()
		one := c.atProvider(c.ssoStart("/console/"))
		two := c.atProvider(c.ssoStart("/console/"))
		u1, _ := url.Parse(one)
		u2, _ := url.Parse(two)
		q := u2.Query()
		q.Set("code", u1.Query().Get("code"))
		u2.RawQuery = q.Encode()
		resp, body := c.do("GET", u2.RequestURI(), nil)
		if resp.StatusCode != http.StatusUnauthorized || c.signedInAs() != "" {
			t.Fatalf("a code exchanged with another flow's verifier: %s\n%s", resp.Status, body)
		}
	})
	t.Run("provider refuses", func(t *testing.T) {
		idp.SignInAs(nil)
		defer idp.SignInAs(map[string]any{"preferred_username": "alice"})
		c := f.client()
		resp, body := c.ssoSignIn("/console/")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "The identity provider did not sign you in") {
			t.Fatalf("provider's refusal: %s\n%s", resp.Status, body)
		}
	})
}

// With admin_group, the provider decides who is an admin: the group
// grants it to alice (no admin here), and root (an admin here) without the
// group is no admin in that session.
func TestSSOAdminGroup(t *testing.T) {
	f, idp := ssoFixture(t)
	for _, tc := range []struct {
		name   string
		claims map[string]any
		admin  bool
	}{
		{"group grants admin", map[string]any{"preferred_username": "alice", "groups": []string{"staff", adminGroup}}, true},
		{"no group, not admin", map[string]any{"preferred_username": "root"}, false},
		{"other groups, not admin", map[string]any{"preferred_username": "root", "groups": []string{"staff"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp.SignInAs(tc.claims)
			c := f.client()
			if resp, body := c.ssoSignIn("/console/"); resp.StatusCode != http.StatusSeeOther {
				t.Fatalf("callback: %s\n%s", resp.Status, body)
			}
			resp, body := c.do("GET", "/console/agents", nil)
			if got := resp.StatusCode == http.StatusOK; got != tc.admin {
				t.Fatalf("agents page (admins only): %s, want admin %v\n%s", resp.Status, tc.admin, body)
			}
		})
	}
}

func TestSSOOffOrUnreachable(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if _, page := c.do("GET", "/console/login", nil); strings.Contains(page, "single sign-on") {
		t.Fatal("the sign-in page offers single sign-on that is not configured")
	}
	if resp, _ := c.do("GET", "/console/login/oidc", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("single sign-on when off: %s", resp.Status)
	}
	// A provider that does not answer: the page says so; passwords work.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	down := newFixtureWith(t, func(d *console.Deps, base string, rdb redis.UniversalClient, prefix string) {
		d.SSO = console.NewSSO(console.SSOConfig{Issuer: gone.URL, ClientID: "x", ClientSecret: "y",
			RedirectURL: base + "/console/login/oidc/callback", AgentsClaim: "preferred_username"},
			webui.NewFlows(rdb, prefix, time.Minute))
	})
	c = down.client()
	resp, body := c.do("GET", "/console/login/oidc", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "Single sign-on is not available right now") {
		t.Fatalf("provider down: %s\n%s", resp.Status, body)
	}
	if resp, _ := c.login("alice", password); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("password sign-in with the provider down: %s", resp.Status)
	}
}

func TestSSORefusalInSpanish(t *testing.T) {
	f, idp := ssoFixture(t)
	idp.SignInAs(map[string]any{"preferred_username": "mallory"})
	c := f.client()
	c.do("GET", "/console/lang?to=es&back=/console/login", nil)
	_, page := c.do("GET", "/console/login", nil)
	if !strings.Contains(page, "Entrar con inicio de sesión único") {
		t.Fatalf("Spanish sign-in page offers no single sign-on:\n%s", page)
	}
	resp, body := c.ssoSignIn("/console/")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Has entrado como mallory, pero ningún agente") {
		t.Fatalf("Spanish refusal: %s\n%s", resp.Status, body)
	}
	// The language switch leads to the sign-in page, not to the spent
	// callback.
	if !strings.Contains(body, `href="/console/lang?to=en&amp;back=%2fconsole%2flogin"`) {
		t.Fatalf("language switch on the refusal:\n%s", body)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// agents_claim email names agents by address; a next that leads
// elsewhere lands on the queue instead.
func TestSSOEmailClaimAndNoRedirectAway(t *testing.T) {
	idp := oidctest.Start(t, "intakebot-console", "client-secret-0123456789")
	f := newFixtureWith(t, func(d *console.Deps, base string, rdb redis.UniversalClient, prefix string) {
		d.SSO = console.NewSSO(console.SSOConfig{Issuer: idp.Issuer, ClientID: idp.ClientID, ClientSecret: idp.ClientSecret,
			RedirectURL: base + "/console/login/oidc/callback", AgentsClaim: "email"}, webui.NewFlows(rdb, prefix, time.Minute))
	})
	if _, err := f.store.AddAgent(context.Background(), "dora@example.test", false, time.Now()); err != nil {
		t.Fatal(err)
	}
	idp.SignInAs(map[string]any{"preferred_username": "alice", "email": "dora@example.test"})
	for _, next := range []string{"//evil.example/", "https://evil.example/console/", "/console/\\evil"} {
		c := f.client()
		resp, body := c.ssoSignIn(next)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
			t.Fatalf("next %q: %s to %q\n%s", next, resp.Status, resp.Header.Get("Location"), body)
		}
		if who := c.signedInAs(); who != "dora@example.test" {
			t.Fatalf("signed in as %q, want dora@example.test by her email", who)
		}
	}
}
