package main

import (
	"encoding/json"
	"github.com/intakebot/intakebot/internal/poll"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/oauthserver"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/redis/go-redis/v9"
)

// oauthIMAP is the in-memory IMAP server offering only XOAUTH2 and
// OAUTHBEARER, checking tokens with ts, on a loopback port.
func oauthIMAP(t *testing.T, ts *oauthserver.Server, account string) int {
	t.Helper()
	mem := imapmemserver.New()
	user := imapmemserver.NewUser(account, "unused-password")
	if err := user.Create("INBOX", nil); err != nil {
		t.Fatal(err)
	}
	mem.AddUser(user)
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return bearerSession{mem.NewSession(), ts, account}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true, // loopback
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	return ln.Addr().(*net.TCPAddr).Port
}

type bearerSession struct {
	imapserver.Session
	ts      *oauthserver.Server
	account string
}

func (s bearerSession) AuthenticateMechanisms() []string {
	return []string{oauthserver.XOAuth2, sasl.OAuthBearer}
}

func (s bearerSession) Authenticate(mech string) (sasl.Server, error) {
	return s.ts.SASL(mech, func(user string) error { return s.Session.Login(user, "unused-password") })
}

// A mailbox whose token endpoint refuses the client shows it on /readyz
// (the endpoint's status and error, not the secret) and as
// intakebot_mailbox_up 0.
func TestServeShowsAFailingTokenEndpoint(t *testing.T) {
	ts := oauthserver.New(t)
	ts.Fail(http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
	port := oauthIMAP(t, ts, "support@example.test")
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	os.WriteFile(secretFile, []byte(ts.ClientSecret+"\n"), 0o600)

	mailboxes := `[{name: m365, address: support@example.test, imap: {host: 127.0.0.1, port: ` + itoa(port) +
		`, tls: none, username: support@example.test, auth: oauth2, oauth2: {token_url: "` + ts.URL +
		`", client_id: ` + ts.ClientID + `, client_secret_file: ` + secretFile + `}}}]`
	s := startServe(t, map[string]string{
		"INTAKEBOT_EMAIL_MAILBOXES": mailboxes,
		"INTAKEBOT_EMAIL_SMTP":      "{host: 127.0.0.1, port: 2525, tls: none}",
	})

	var ready struct {
		Components map[string]struct {
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		} `json:"components"`
	}
	if !poll.Within(20*time.Second, func() bool {
		res, err := http.Get(s.url + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		err = json.NewDecoder(res.Body).Decode(&ready)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return ready.Components["m365"].Error != ""
	}) {
		t.Fatalf("/readyz never showed the token failure: %+v", ready)
	}
	m := ready.Components["m365"]
	for _, want := range []string{"token endpoint", "401 Unauthorized", "invalid_client", "AADSTS7000215"} {
		if !strings.Contains(m.Error, want) {
			t.Errorf("/readyz error %q does not say %q", m.Error, want)
		}
	}
	if m.OK || strings.Contains(m.Error, ts.ClientSecret) {
		t.Fatalf("/readyz: %+v", m)
	}

	res, err := http.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(raw), `intakebot_mailbox_up{mailbox="m365"} 0`) {
		t.Fatalf("metrics do not show the mailbox down:\n%s", grepLines(string(raw), "intakebot_mailbox_up"))
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestOAuth2ConfigValidation(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "secret")
	os.WriteFile(secretFile, []byte("s3cr3t\n"), 0o600)
	const good = `{token_url: "https://login.example.test/tenant/oauth2/v2.0/token", client_id: app, client_secret_file: SECRET, scopes: ["https://outlook.office365.com/.default"]}`
	imapOf := func(tls, oauth2 string) string {
		return `{host: imap.example.test, tls: ` + tls + `, username: support@example.test, auth: oauth2, oauth2: ` + oauth2 + `}`
	}
	for name, tc := range map[string]struct {
		imap, smtp string
		want       string // "" = accepted
	}{
		"client credentials": {imap: imapOf("implicit", good), smtp: `{host: smtp.example.test, username: support@example.test, auth: oauth2, oauth2: ` + good + `}`},
		"refresh token":      {imap: imapOf("implicit", `{token_url: "https://oauth2.example.test/token", client_id: app, client_secret: x, refresh_token_file: SECRET}`)},
		"password default":   {imap: `{host: imap.example.test, username: u, password: p}`},
		"no token url":       {imap: imapOf("implicit", `{client_id: app, client_secret: x}`), want: "email.mailboxes m365: imap: oauth2: token_url is required"},
		"http token url":     {imap: imapOf("implicit", `{token_url: "http://login.example.test/token", client_id: app, client_secret: x}`), want: "must be https"},
		"no client id":       {imap: imapOf("implicit", `{token_url: "https://login.example.test/t", client_secret: x}`), want: "client_id is required"},
		"no secret":          {imap: imapOf("implicit", `{token_url: "https://login.example.test/t", client_id: app}`), want: "client secret"},
		"missing file":       {imap: imapOf("implicit", `{token_url: "https://login.example.test/t", client_id: app, client_secret_file: /nonexistent}`), want: "client_secret_file"},
		"bearer in clear":    {imap: imapOf("none", good), want: "bearer token in clear"},
		"unknown auth":       {imap: `{host: imap.example.test, username: u, auth: kerberos}`, want: `auth "kerberos"`},
		"password as well":   {imap: `{host: imap.example.test, username: u, password: p, auth: oauth2, oauth2: ` + good + `}`, want: "password is set as well"},
		"no username":        {imap: `{host: imap.example.test, auth: oauth2, oauth2: ` + good + `}`, want: "username"},
		"smtp bearer in clear": {imap: imapOf("implicit", good),
			smtp: `{host: smtp.example.test, tls: none, username: support@example.test, auth: oauth2, oauth2: ` + good + `}`, want: "bearer token would cross the network in clear"},
	} {
		t.Run(name, func(t *testing.T) {
			smtp := tc.smtp
			if smtp == "" {
				smtp = "{host: smtp.example.test}"
			}
			c, _, err := config.Load("", config.Env(map[string]string{
				"INTAKEBOT_EMAIL_MAILBOXES": strings.ReplaceAll(`[{name: m365, address: support@example.test, imap: `+tc.imap+`}]`, "SECRET", secretFile),
				"INTAKEBOT_EMAIL_SMTP":      strings.ReplaceAll(smtp, "SECRET", secretFile),
			}))
			if err != nil {
				t.Fatal(err)
			}
			// The mailbox state is never reached: nothing is started here.
			state := redisstore.New(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}), "test")
			_, err = newEmailChannel(c.Email, c.Org, nil, nil, nil, nil, nil, state, slog.New(slog.DiscardHandler))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}
