package imapwatch_test

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-sasl"

	"github.com/intakebot/intakebot/channels/email/imapwatch"
	"github.com/intakebot/intakebot/channels/email/mailauth"
	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/internal/imapidle"
	"github.com/intakebot/intakebot/internal/oauthserver"
)

// oauthAccount is the mailbox account the test tokens are for.
const oauthAccount = "bot@example.test"

// oauthSession adds the two bearer-token mechanisms to the in-memory
// server's session, as Microsoft 365 and Gmail offer them: a token the
// endpoint issued for oauthAccount logs in as the "bot" user.
type oauthSession struct {
	imapidle.Session
	ts *oauthserver.Server
}

func (s oauthSession) AuthenticateMechanisms() []string {
	return []string{oauthserver.XOAuth2, sasl.OAuthBearer}
}

func (s oauthSession) Authenticate(mech string) (sasl.Server, error) {
	return s.ts.SASL(mech, func(user string) error {
		if user != oauthAccount {
			return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "token is for another account"}
		}
		return s.Session.Login("bot", "secret")
	})
}

// oauthConfig is the server's watcher config logging in with tokens from
// ts instead of the password.
func oauthConfig(t *testing.T, s *server, ts *oauthserver.Server, ac mailauth.Config) imapwatch.Config {
	t.Helper()
	ac.User, ac.TokenURL, ac.ClientID, ac.ClientSecret = oauthAccount, ts.URL, ts.ClientID, ts.ClientSecret
	auth, err := mailauth.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	cfg := s.config("support")
	cfg.Username, cfg.Password, cfg.Auth = oauthAccount, "", auth
	return cfg
}

func TestOAuthClientCredentialsLogin(t *testing.T) {
	ts := oauthserver.New(t)
	s := startServer(t, serverOpts{implicit: true, oauth: ts})
	f := newFixture(t)
	want, raws := ids("oauth", 2)
	s.deliver(t, "INBOX", raws...)

	cfg := oauthConfig(t, s, ts, mailauth.Config{Scopes: []string{"https://outlook.office365.com/.default"}})
	h := newRecorder(nil)
	stop := start(t, f.watcher(t, cfg, h))
	h.wait(t, 2)
	s.waitFolders(t, map[string][]string{"INBOX": nil, "Processed": want})
	stop()

	if n := ts.Requests("client_credentials"); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	issued := ts.Issued()
	if logins := ts.Logins(); len(issued) != 1 || !slices.Equal(logins, issued) || ts.UsedBy(issued[0]) != oauthAccount {
		t.Errorf("logins with %v, issued %v: want the issued token, for %s", logins, issued, oauthAccount)
	}
	if s.wire.count("AUTHENTICATE XOAUTH2") != 1 {
		t.Errorf("the watcher did not log in with AUTHENTICATE XOAUTH2")
	}
}

// A token is reused while it has more than the expiry delta left; a new
// one is fetched before it expires, and the next connection uses it.
func TestOAuthTokenRefreshedBeforeExpiryOnReconnect(t *testing.T) {
	ts := oauthserver.New(t)
	ts.SetExpiresIn(3600)
	s := startServer(t, serverOpts{oauth: ts})
	f := newFixture(t)
	var skew atomic.Int64 // how far the watcher's token clock is ahead
	cfg := oauthConfig(t, s, ts, mailauth.Config{Mechanism: mailauth.OAuthBearer, ExpiryDelta: 5 * time.Minute,
		Now: func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	w := f.watcher(t, cfg, newRecorder(nil))

	connect := func(n int) {
		t.Helper()
		stop := start(t, w)
		if !waitFor(t, func() bool { return len(ts.Logins()) >= n }) {
			t.Fatalf("login %d did not happen; logins %v", n, ts.Logins())
		}
		stop()
	}
	connect(1)
	connect(2) // an hour left: the same token
	skew.Store(int64(56 * time.Minute))
	connect(3) // 4 minutes left: a fresh one first

	issued, logins := ts.Issued(), ts.Logins()
	if len(issued) != 2 || ts.Requests("client_credentials") != 2 {
		t.Fatalf("issued %v: want two tokens", issued)
	}
	if want := []string{issued[0], issued[0], issued[1]}; !slices.Equal(logins, want) {
		t.Fatalf("logins used %v, want %v", logins, want)
	}
	if s.wire.count("AUTHENTICATE OAUTHBEARER") != 3 {
		t.Errorf("want three AUTHENTICATE OAUTHBEARER")
	}
}

// A token endpoint that refuses us shows in Status (which feeds /readyz
// and intakebot_mailbox_up) with what it said, and the watcher recovers by
// itself once the endpoint does.
func TestOAuthTokenEndpointFailureShowsInStatus(t *testing.T) {
	ts := oauthserver.New(t)
	ts.Fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	s := startServer(t, serverOpts{oauth: ts})
	f := newFixture(t)
	w := f.watcher(t, oauthConfig(t, s, ts, mailauth.Config{}), newRecorder(nil))
	start(t, w)

	var err error
	var last time.Time
	if !waitFor(t, func() bool { last, err = w.Status(); return err != nil }) {
		t.Fatal("Status shows no error while the token endpoint refuses")
	}
	t.Logf("status error: %v", err)
	if !last.IsZero() {
		t.Errorf("last success %v before any login", last)
	}
	if !errors.Is(err, mailauth.ErrTokenEndpoint) {
		t.Errorf("Status error %v does not wrap ErrTokenEndpoint", err)
	}
	for _, want := range []string{"token endpoint", "401 Unauthorized", "invalid_client", "AADSTS7000215: Invalid client secret provided."} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Status error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), ts.ClientSecret) {
		t.Fatalf("Status error leaks the client secret: %q", err)
	}
	if len(ts.Logins()) != 0 {
		t.Fatalf("logged in without a token: %v", ts.Logins())
	}

	ts.Fail(0, "", "")
	if !waitFor(t, func() bool { last, err = w.Status(); return err == nil && !last.IsZero() }) {
		t.Fatalf("watcher did not recover after the endpoint healed: %v", err)
	}
}

func TestOAuthServerWithoutMechanism(t *testing.T) {
	ts := oauthserver.New(t)
	s := startServer(t, serverOpts{}) // LOGIN and PLAIN only
	f := newFixture(t)
	w := f.watcher(t, oauthConfig(t, s, ts, mailauth.Config{}), newRecorder(nil))
	start(t, w)
	var err error
	if !waitFor(t, func() bool { _, err = w.Status(); return err != nil }) {
		t.Fatal("no error from a server without AUTH=XOAUTH2")
	}
	if !strings.Contains(err.Error(), "does not offer AUTH=XOAUTH2") {
		t.Fatalf("Status error = %v", err)
	}
}

func TestOAuthRefusesBearerInClearToRemoteHost(t *testing.T) {
	ts := oauthserver.New(t)
	f := newFixture(t)
	auth, err := mailauth.New(mailauth.Config{User: oauthAccount, TokenURL: ts.URL, ClientID: ts.ClientID, ClientSecret: ts.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg := imapwatch.Config{Name: "support", Host: "imap.example.test", TLS: mailtls.None,
		Username: oauthAccount, Auth: auth, ProcessedFolder: "P", QuarantineFolder: "Q"}
	_, err = imapwatch.New(cfg, newRecorder(nil), f.state, f.log)
	if err == nil || !strings.Contains(err.Error(), "bearer token in clear") {
		t.Fatalf("err = %v, want a refusal to send the bearer token in clear", err)
	}
	cfg.Host = "127.0.0.1"
	if _, err := imapwatch.New(cfg, newRecorder(nil), f.state, f.log); err != nil {
		t.Fatalf("loopback: %v", err)
	}
}
