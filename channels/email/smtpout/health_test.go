package smtpout

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"
	"github.com/intakebot/intakebot/channels/email/mailtls"
)

// Check signs in as a delivery would (STARTTLS, AUTH) and sends nothing;
// its outcome is the sender's health.
func TestCheckSignsInWithoutSending(t *testing.T) {
	ts := startServer(t, &backend{user: "bot", pass: "s3cret"}, serverOpts{startTLS: true})
	s := newSender(t, ts, func(c *Config) {
		c.TLS = mailtls.StartTLS
		c.TLSConfig = &tls.Config{RootCAs: ts.roots}
		c.Username, c.Password = "bot", "s3cret"
	})
	if at, err := s.Status(); !at.IsZero() || err != nil {
		t.Fatalf("health before any attempt: %v, %v", at, err)
	}
	if err := s.Check(t.Context()); err != nil {
		t.Fatalf("Check: %v", err)
	}
	if at, err := s.Status(); !at.Equal(clock()) || err != nil {
		t.Fatalf("health after a good check: %v, %v", at, err)
	}
	if n := len(ts.be.messages()); n != 0 {
		t.Fatalf("a check sent %d messages", n)
	}
	if s.Name() != "smtp" {
		t.Errorf("name %q", s.Name())
	}
}

// A server that refuses our credentials, or the STARTTLS we require, or
// is not there: Check says which step failed, and the health keeps it.
func TestCheckRefused(t *testing.T) {
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freePort := free.Addr().(*net.TCPAddr).Port
	free.Close()
	for _, tc := range []struct {
		name string
		opts serverOpts
		mod  func(*testServer, *Config)
		want string
	}{
		{"wrong password", serverOpts{startTLS: true}, func(ts *testServer, c *Config) {
			c.TLS, c.TLSConfig = mailtls.StartTLS, &tls.Config{RootCAs: ts.roots}
			c.Username, c.Password = "bot", "guess"
		}, "auth: SMTP error 535"},
		{"no STARTTLS", serverOpts{}, func(ts *testServer, c *Config) {
			c.TLS, c.TLSConfig = mailtls.StartTLS, &tls.Config{RootCAs: ts.roots}
		}, "starttls"},
		{"no server", serverOpts{}, func(ts *testServer, c *Config) { c.Port = freePort }, "connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, &backend{user: "bot", pass: "s3cret"}, tc.opts)
			s := newSender(t, ts, func(c *Config) { tc.mod(ts, c) })
			err := s.Check(t.Context())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check = %v, want it to say %q", err, tc.want)
			}
			if at, herr := s.Status(); !at.IsZero() || herr == nil || !strings.Contains(herr.Error(), tc.want) {
				t.Fatalf("health: %v, %v", at, herr)
			}
		})
	}
}

// After the start, each delivery tells the health: a server that takes
// our mail is well even when it refuses one recipient for good; one that
// asks us to come back later is failing until a delivery goes through; a
// caller that gives up says nothing about the server.
func TestHealthFollowsDeliveries(t *testing.T) {
	be := &backend{}
	ts := startServer(t, be, serverOpts{})
	s := newSender(t, ts, nil)
	msg := ackEN()

	be.dataErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	if err := s.Send(t.Context(), msg); err == nil {
		t.Fatal("delivery with 451 succeeded")
	}
	if _, err := s.Status(); err == nil || !strings.Contains(err.Error(), "451") {
		t.Fatalf("health after a 451: %v", err)
	}

	be.dataErr = &smtp.SMTPError{Code: 552, EnhancedCode: smtp.EnhancedCode{5, 3, 4}, Message: "Message too big"}
	if err := s.Send(t.Context(), msg); !errors.Is(err, ErrPermanent) {
		t.Fatalf("delivery with 552: %v", err)
	}
	if at, err := s.Status(); err != nil || at.IsZero() {
		t.Fatalf("health after a message refused for good: %v, %v", at, err)
	}

	be.dataErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "Try again later"}
	gone, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Send(gone, msg); err == nil {
		t.Fatal("a cancelled delivery succeeded")
	}
	if _, err := s.Status(); err != nil {
		t.Fatalf("a cancelled delivery changed the health: %v", err)
	}

	be.dataErr = nil
	if err := s.Send(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Status(); err != nil {
		t.Fatalf("health after a delivery: %v", err)
	}
}
