package mailauth_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"

	"github.com/intakebot/intakebot/channels/email/mailauth"
	"github.com/intakebot/intakebot/internal/oauthserver"
)

func clientCredentials(ts *oauthserver.Server) mailauth.Config {
	return mailauth.Config{User: "helpdesk@example.test", TokenURL: ts.URL, ClientID: ts.ClientID,
		ClientSecret: ts.ClientSecret, Scopes: []string{"https://outlook.office365.com/.default"}}
}

func newAuth(t *testing.T, cfg mailauth.Config) *mailauth.Auth {
	t.Helper()
	a, err := mailauth.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestClientCredentialsTokenIsReused(t *testing.T) {
	ts := oauthserver.New(t)
	a := newAuth(t, clientCredentials(ts))
	ctx := context.Background()
	first, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	second, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if first != second || ts.Requests("client_credentials") != 1 {
		t.Fatalf("a token with an hour left must be reused: %q, %q, %d requests", first, second, ts.Requests("client_credentials"))
	}
	if got := ts.Scopes(); !slices.Equal(got, []string{"https://outlook.office365.com/.default"}) {
		t.Fatalf("scopes sent: %v", got)
	}
	if !slices.Contains(ts.Issued(), first) {
		t.Fatalf("token %q was not issued by the endpoint", first)
	}
}

func TestConcurrentCallersShareOneFetch(t *testing.T) {
	ts := oauthserver.New(t)
	a := newAuth(t, clientCredentials(ts))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := a.Token(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := ts.Requests("client_credentials"); n != 1 {
		t.Fatalf("%d fetches for 8 concurrent callers, want 1", n)
	}
}

func TestRefreshBeforeExpiry(t *testing.T) {
	ts := oauthserver.New(t)
	ts.SetExpiresIn(600)
	start := time.Now()
	now := start
	cfg := clientCredentials(ts)
	cfg.ExpiryDelta = 5 * time.Minute
	cfg.Now = func() time.Time { return now }
	a := newAuth(t, cfg)
	ctx := context.Background()
	first, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	now = start.Add(4 * time.Minute) // 6 minutes left: more than the delta
	if tok, err := a.Token(ctx); err != nil || tok != first {
		t.Fatalf("token replaced too early: %q, %v", tok, err)
	}
	now = start.Add(6 * time.Minute) // 4 minutes left: still valid, but within the delta
	second, err := a.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || ts.Requests("client_credentials") != 2 {
		t.Fatalf("token not refreshed before expiry: %q, %q, %d requests", first, second, ts.Requests("client_credentials"))
	}
}

func TestRefreshTokenGrant(t *testing.T) {
	ts := oauthserver.New(t)
	a := newAuth(t, mailauth.Config{User: "helpdesk@example.test", TokenURL: ts.URL, ClientID: ts.ClientID,
		ClientSecret: ts.ClientSecret, RefreshToken: ts.RefreshToken})
	tok, err := a.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if ts.Requests("refresh_token") != 1 || ts.Requests("client_credentials") != 0 || !slices.Contains(ts.Issued(), tok) {
		t.Fatalf("want one refresh_token grant, got refresh %d, client credentials %d",
			ts.Requests("refresh_token"), ts.Requests("client_credentials"))
	}
}

func TestEndpointRefusalIsClearAndKeepsTheSecret(t *testing.T) {
	ts := oauthserver.New(t)
	ts.Fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	a := newAuth(t, clientCredentials(ts))
	_, err := a.Token(context.Background())
	if !errors.Is(err, mailauth.ErrTokenEndpoint) {
		t.Fatalf("err = %v, want ErrTokenEndpoint", err)
	}
	for _, want := range []string{"oauth2 token endpoint failed", ts.URL, "client_credentials", "401 Unauthorized", "invalid_client", "AADSTS7000215: Invalid client secret provided."} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), ts.ClientSecret) {
		t.Fatalf("error leaks the secret: %q", err)
	}

	// An endpoint that echoes what it got must not make us leak either.
	ts.Fail(http.StatusBadRequest, "invalid_request", "refresh_token "+ts.RefreshToken+" is malformed")
	a = newAuth(t, mailauth.Config{User: "u@example.test", TokenURL: ts.URL, ClientID: ts.ClientID, ClientSecret: ts.ClientSecret, RefreshToken: ts.RefreshToken})
	_, err = a.Token(context.Background())
	if err == nil || strings.Contains(err.Error(), ts.RefreshToken) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("err = %v, want the refresh token redacted", err)
	}

	// Once the endpoint heals, the next call gets a token.
	ts.Fail(0, "", "")
	if _, err := a.Token(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestEndpointUnreachable(t *testing.T) {
	a := newAuth(t, mailauth.Config{User: "u@example.test", TokenURL: "http://127.0.0.1:1/token", ClientID: "id", ClientSecret: "s3cr3t-value"})
	_, err := a.Token(context.Background())
	if !errors.Is(err, mailauth.ErrTokenEndpoint) || !strings.Contains(err.Error(), "http://127.0.0.1:1/token") || strings.Contains(err.Error(), "s3cr3t-value") {
		t.Fatalf("err = %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	ok := mailauth.Config{User: "u@example.test", TokenURL: "https://login.example.test/token", ClientID: "id", ClientSecret: "s"}
	for name, tc := range map[string]struct {
		mod  func(*mailauth.Config)
		want string
	}{
		"no token url":          {func(c *mailauth.Config) { c.TokenURL = "" }, "token_url is required"},
		"relative token url":    {func(c *mailauth.Config) { c.TokenURL = "/token" }, "not an absolute URL"},
		"plain http to network": {func(c *mailauth.Config) { c.TokenURL = "http://login.example.test/token" }, "must be https"},
		"no client id":          {func(c *mailauth.Config) { c.ClientID = "" }, "client_id is required"},
		"no secret nor refresh": {func(c *mailauth.Config) { c.ClientSecret = "" }, "client secret"},
		"no user":               {func(c *mailauth.Config) { c.User = "" }, "user"},
		"user with separator":   {func(c *mailauth.Config) { c.User = "a,b" }, "commas"},
		"unknown mechanism":     {func(c *mailauth.Config) { c.Mechanism = "PLAIN" }, "mechanism"},
	} {
		t.Run(name, func(t *testing.T) {
			c := ok
			tc.mod(&c)
			if _, err := mailauth.New(c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	for _, url := range []string{"http://127.0.0.1:8080/token", "http://localhost/token", "http://[::1]/token"} {
		c := ok
		c.TokenURL = url
		if _, err := mailauth.New(c); err != nil {
			t.Errorf("%s: loopback http must be allowed: %v", url, err)
		}
	}
}

// exchange runs a SASL exchange between client and server in memory, as
// IMAP and SMTP carry it.
func exchange(c sasl.Client, s sasl.Server) error {
	_, resp, err := c.Start()
	if err != nil {
		return err
	}
	for {
		challenge, done, err := s.Next(resp)
		if err != nil || done {
			return err
		}
		if resp, err = c.Next(challenge); err != nil {
			return err
		}
	}
}

func TestSASLMechanisms(t *testing.T) {
	for _, mech := range []string{mailauth.XOAuth2, mailauth.OAuthBearer} {
		t.Run(mech, func(t *testing.T) {
			ts := oauthserver.New(t)
			cfg := clientCredentials(ts)
			cfg.Mechanism = strings.ToLower(mech)
			a := newAuth(t, cfg)
			if a.Mechanism() != mech {
				t.Fatalf("Mechanism() = %q", a.Mechanism())
			}
			c, err := a.SASLClient(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			var loggedIn string
			srv, _ := ts.SASL(mech, func(u string) error { loggedIn = u; return nil })
			if err := exchange(c, srv); err != nil {
				t.Fatal(err)
			}
			if loggedIn != "helpdesk@example.test" || ts.UsedBy(ts.Issued()[0]) != "helpdesk@example.test" {
				t.Fatalf("logged in as %q", loggedIn)
			}

			// A server that refuses the token (this one never issued it)
			// fails the exchange, and the token is not offered again.
			other := oauthserver.New(t)
			c, _ = a.SASLClient(context.Background())
			srv, _ = other.SASL(mech, func(string) error { return nil })
			if err := exchange(c, srv); err == nil {
				t.Fatal("a token the server did not issue was accepted")
			}
			if _, err := a.Token(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := ts.Requests("client_credentials"); n != 2 {
				t.Fatalf("%d fetches: a refused token must be replaced at the next login", n)
			}
		})
	}
}

func TestTokenHonoursContext(t *testing.T) {
	ts := oauthserver.New(t)
	a := newAuth(t, clientCredentials(ts))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := a.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
