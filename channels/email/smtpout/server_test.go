package smtpout

// The test SMTP server: go-smtp's own server, in-process on 127.0.0.1:0, so
// that every test speaks the real protocol on a real socket (greeting, EHLO,
// STARTTLS, AUTH, dot-stuffed DATA) rather than trusting a fake.

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/oauthserver"
	"github.com/intakebot/intakebot/internal/testcert"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// received is one message as the server saw it.
type received struct {
	From string
	To   []string
	Data []byte
	TLS  bool   // the session was encrypted
	User string // the authenticated user, if any
}

// backend records every accepted message and can be told to refuse at a
// given step. Each test builds its own: no state is shared between tests.
type backend struct {
	user, pass string                     // AUTH PLAIN credentials; none when user is ""
	rcptErr    map[string]*smtp.SMTPError // per-recipient RCPT answer
	dataErr    *smtp.SMTPError            // answer to the final dot

	mu   sync.Mutex
	mail []received
}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, isTLS := c.TLSConnectionState()
	return &session{be: b, tls: isTLS}, nil
}

func (b *backend) messages() []received {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]received(nil), b.mail...)
}

type session struct {
	be   *backend
	tls  bool
	user string
	from string
	to   []string
}

func (s *session) AuthMechanisms() []string {
	if s.be.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || s.be.user == "" {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.be.user || password != s.be.pass {
			// What real servers answer (RFC 4954 535 5.7.8).
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.be.user != "" && s.user == "" {
		return &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if e := s.be.rcptErr[to]; e != nil {
		return e
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.be.dataErr != nil {
		return s.be.dataErr
	}
	s.be.mu.Lock()
	defer s.be.mu.Unlock()
	s.be.mail = append(s.be.mail, received{From: s.from, To: s.to, Data: data, TLS: s.tls, User: s.user})
	return nil
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

// serverOpts chooses how the test server listens.
type serverOpts struct {
	startTLS     bool // offer STARTTLS
	implicitTLS  bool // TLS from the first byte
	insecureAuth bool // allow AUTH without TLS
	// oauth, when set, offers XOAUTH2 and OAUTHBEARER (only), accepting
	// the tokens this endpoint issued (see oauth_test.go).
	oauth *oauthserver.Server
}

// testServer is a running server and what a client needs to reach it.
type testServer struct {
	be    *backend
	port  int
	roots *x509.CertPool // trusts the server's certificate
}

// startServer runs go-smtp's server on 127.0.0.1:0 until the test ends. The
// cleanup waits for the serving goroutines, so none outlives its test.
func startServer(t *testing.T, be *backend, opts serverOpts) *testServer {
	t.Helper()
	cert, roots := selfSigned(t)
	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if opts.implicitTLS {
		ln = tls.NewListener(ln, tlsConf)
	}

	var sb smtp.Backend = be
	if opts.oauth != nil {
		sb = oauthBackend{be, opts.oauth}
	}
	srv := smtp.NewServer(sb)
	srv.Domain = "mx.example.test"
	srv.ErrorLog = testLogger{t}
	srv.AllowInsecureAuth = opts.insecureAuth
	srv.ReadTimeout = time.Minute // a guard against a wedged test, never reached
	srv.WriteTimeout = time.Minute
	if opts.startTLS {
		srv.TLSConfig = tlsConf
	}

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		// Shutdown closes the listener and waits for every connection
		// handler; our client always hangs up, so this returns promptly.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("smtp server shutdown: %v", err)
		}
		if err := <-served; err != nil && !errors.Is(err, net.ErrClosed) {
			t.Errorf("smtp server: %v", err)
		}
	})
	return &testServer{be: be, port: port, roots: roots}
}

// testLogger sends the server's complaints to the test log, where they help
// explain a failure. Safe because the cleanup outlives every handler.
type testLogger struct{ t *testing.T }

func (l testLogger) Printf(format string, v ...any) { l.t.Logf("smtp server: "+format, v...) }
func (l testLogger) Println(v ...any)               { l.t.Log(append([]any{"smtp server:"}, v...)...) }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it, so TLS is verified for real rather than skipped.
func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) { return testcert.New(t) }
