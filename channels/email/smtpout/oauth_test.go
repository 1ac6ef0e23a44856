package smtpout

import (
	"crypto/tls"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/intakebot/intakebot/channels/email/mailauth"
	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/internal/oauthserver"
)

// oauthBackend offers only the bearer-token mechanisms, as Microsoft 365
// and Gmail do for an app: a token the endpoint issued for the backend's
// user authenticates the session.
type oauthBackend struct {
	*backend
	ts *oauthserver.Server
}

func (b oauthBackend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s, err := b.backend.NewSession(c)
	if err != nil {
		return nil, err
	}
	return &oauthSession{s.(*session), b.ts}, nil
}

type oauthSession struct {
	*session
	ts *oauthserver.Server
}

func (s *oauthSession) AuthMechanisms() []string {
	return []string{oauthserver.XOAuth2, sasl.OAuthBearer}
}

func (s *oauthSession) Auth(mech string) (sasl.Server, error) {
	srv, err := s.ts.SASL(mech, func(user string) error {
		if user != s.be.user {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "token is for another account"}
		}
		s.user = user
		return nil
	})
	if err != nil {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return srv, nil
}

// oauthSender sends through ts's server over STARTTLS, with tokens from the
// endpoint per ac (its user, URL and client filled in).
func oauthSender(t *testing.T, srv *testServer, ep *oauthserver.Server, ac mailauth.Config) *Sender {
	t.Helper()
	ac.User, ac.TokenURL, ac.ClientID, ac.ClientSecret = helpdesk, ep.URL, ep.ClientID, ep.ClientSecret
	auth, err := mailauth.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	return newSender(t, srv, func(c *Config) {
		c.TLS, c.TLSConfig, c.Auth = mailtls.StartTLS, &tls.Config{RootCAs: srv.roots}, auth
	})
}

// The Google case: a refresh token, presented with either mechanism; the
// token is fetched once and reused by the next delivery.
func TestOAuthRefreshTokenDelivery(t *testing.T) {
	for _, mech := range []string{mailauth.XOAuth2, mailauth.OAuthBearer} {
		t.Run(mech, func(t *testing.T) {
			ep := oauthserver.New(t)
			srv := startServer(t, &backend{user: helpdesk}, serverOpts{startTLS: true, oauth: ep})
			s := oauthSender(t, srv, ep, mailauth.Config{Mechanism: mech, RefreshToken: ep.RefreshToken})
			for range 2 {
				msg := ackEN()
				if err := s.Send(t.Context(), msg); err != nil {
					t.Fatalf("Send: %v", err)
				}
			}
			got := srv.be.messages()
			if len(got) != 2 || got[0].User != helpdesk || !got[0].TLS {
				t.Fatalf("server received %+v", got)
			}
			issued := ep.Issued()
			if ep.Requests("refresh_token") != 1 || len(issued) != 1 {
				t.Fatalf("%d refresh grants, issued %v: want one token for both deliveries", ep.Requests("refresh_token"), issued)
			}
			if logins := ep.Logins(); !slices.Equal(logins, []string{issued[0], issued[0]}) {
				t.Fatalf("logins with %v, want the issued token twice", logins)
			}
		})
	}
}

// A refused refresh makes the delivery fail with the endpoint's words,
// as a temporary failure (the message waits for the fix), without the
// secrets, and without a word to the SMTP server.
func TestOAuthTokenEndpointFailure(t *testing.T) {
	ep := oauthserver.New(t)
	ep.Fail(http.StatusBadRequest, "invalid_grant", "Token has been expired or revoked.")
	srv := startServer(t, &backend{user: helpdesk}, serverOpts{startTLS: true, oauth: ep})
	s := oauthSender(t, srv, ep, mailauth.Config{RefreshToken: ep.RefreshToken})
	msg := ackEN()
	err := s.Send(t.Context(), msg)
	if !errors.Is(err, mailauth.ErrTokenEndpoint) {
		t.Fatalf("Send = %v, want ErrTokenEndpoint", err)
	}
	t.Logf("delivery error: %v", err)
	if errors.Is(err, ErrPermanent) {
		t.Errorf("a token failure must be retried, not dead-lettered: %v", err)
	}
	for _, want := range []string{"auth:", ep.URL, "refresh_token grant", "400 Bad Request", "invalid_grant", "Token has been expired or revoked."} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	for _, secret := range []string{ep.ClientSecret, ep.RefreshToken} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error leaks a secret: %q", err)
		}
	}
	if len(ep.Logins()) != 0 || len(srv.be.messages()) != 0 {
		t.Fatal("something reached the server")
	}

	ep.Fail(0, "", "")
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatalf("Send after the endpoint healed: %v", err)
	}
}

// The server refuses a token it did not issue: a retryable auth failure.
func TestOAuthTokenRefusedByServer(t *testing.T) {
	ep, other := oauthserver.New(t), oauthserver.New(t)
	srv := startServer(t, &backend{user: helpdesk}, serverOpts{startTLS: true, oauth: other})
	s := oauthSender(t, srv, ep, mailauth.Config{})
	msg := ackEN()
	err := s.Send(t.Context(), msg)
	if err == nil || errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "auth XOAUTH2") {
		t.Fatalf("Send = %v, want a temporary auth failure", err)
	}
	if len(srv.be.messages()) != 0 {
		t.Fatal("message accepted without authentication")
	}
}

func TestOAuthServerWithoutMechanism(t *testing.T) {
	ep := oauthserver.New(t)
	srv := startServer(t, &backend{user: "bot", pass: "s3cret"}, serverOpts{startTLS: true}) // PLAIN only
	s := oauthSender(t, srv, ep, mailauth.Config{})
	msg := ackEN()
	err := s.Send(t.Context(), msg)
	if err == nil || !strings.Contains(err.Error(), "does not offer AUTH XOAUTH2") {
		t.Fatalf("Send = %v", err)
	}
	if ep.Attempts() != 0 {
		t.Errorf("fetched a token for a server that cannot take it")
	}
}

func TestOAuthRefusesBearerInClear(t *testing.T) {
	ep := oauthserver.New(t)
	auth, err := mailauth.New(mailauth.Config{User: helpdesk, TokenURL: ep.URL, ClientID: ep.ClientID, ClientSecret: ep.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Host: "smtp.example.test", TLS: mailtls.None, Auth: auth, From: helpdesk, Tokens: testTokens()}
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "bearer token would cross the network in clear") {
		t.Fatalf("New = %v, want refusal", err)
	}
	cfg.Host = "127.0.0.1"
	if _, err := New(cfg); err != nil {
		t.Fatalf("loopback relay: %v", err)
	}
	cfg.Password = "s3cret"
	if _, err := New(cfg); err == nil {
		t.Fatal("New accepted both a password and Auth")
	}
}
