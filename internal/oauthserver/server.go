// Package oauthserver is a real OAuth 2.0 token endpoint for tests, on a
// loopback port: it speaks RFC 6749's form-encoded requests and JSON answers
// for the client credentials grant (section 4.4) and the refresh token grant
// (section 6), counts requests, and issues short-lived opaque tokens. It
// also gives the server side of the XOAUTH2 and OAUTHBEARER (RFC 7628) SASL
// mechanisms, which accepts only a bearer token this endpoint issued, so
// that IMAP and SMTP test servers check what a real provider would.
package oauthserver

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
)

// XOAuth2 is the XOAUTH2 mechanism's name (Google's and Microsoft's
// pre-standard mechanism; go-sasl has no constant for it).
const XOAuth2 = "XOAUTH2"

// Server is a running token endpoint. Its client id, secret and refresh
// token are random per test.
type Server struct {
	URL          string // the token endpoint
	ClientID     string
	ClientSecret string
	RefreshToken string

	mu        sync.Mutex
	expiresIn int
	fail      *failure
	requests  map[string]int    // grant type -> requests answered with a token
	attempts  int               // every request, failed or not
	scopes    []string          // scope of the latest client credentials request
	issued    []string          // tokens in the order issued
	valid     map[string]bool   // issued tokens
	used      map[string]string // token -> user it authenticated
	logins    []string          // tokens of the successful SASL logins, in order
}

type failure struct {
	status            int
	code, description string
}

// New starts an endpoint that lives until the test ends. Tokens are issued
// with expires_in 3600 until SetExpiresIn says otherwise.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		ClientID: "client-" + random(), ClientSecret: "secret-" + random(), RefreshToken: "refresh-" + random(),
		expiresIn: 3600, requests: map[string]int{}, valid: map[string]bool{}, used: map[string]string{},
	}
	hs := httptest.NewServer(http.HandlerFunc(s.token))
	t.Cleanup(hs.Close)
	s.URL = hs.URL + "/oauth2/v2.0/token"
	return s
}

func random() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SetExpiresIn sets expires_in (seconds) of the tokens issued from now on.
func (s *Server) SetExpiresIn(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn = seconds
}

// Fail makes every later request fail with status and an RFC 6749 error
// body; status 0 heals the endpoint.
func (s *Server) Fail(status int, code, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if status == 0 {
		s.fail = nil
		return
	}
	s.fail = &failure{status, code, description}
}

// Requests is how many tokens were issued for grant ("client_credentials"
// or "refresh_token").
func (s *Server) Requests(grant string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[grant]
}

// Attempts counts every request, answered with a token or an error.
func (s *Server) Attempts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.attempts
}

// Scopes is the scope list of the latest client credentials request.
func (s *Server) Scopes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.scopes...)
}

// Issued lists the tokens issued so far, oldest first.
func (s *Server) Issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Logins lists the tokens of the successful SASL logins, oldest first.
func (s *Server) Logins() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.logins...)
}

// UsedBy is the user a token authenticated through SASL, "" if none.
func (s *Server) UsedBy(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used[token]
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.attempts++
	if r.Method != http.MethodPost {
		writeErr(w, http.StatusMethodNotAllowed, "invalid_request", "POST only")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if s.fail != nil {
		writeErr(w, s.fail.status, s.fail.code, s.fail.description)
		return
	}
	// RFC 6749 2.3.1: HTTP Basic with form-encoded id and secret, or the
	// two in the body.
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
	}
	if id != s.ClientID || secret != s.ClientSecret {
		writeErr(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	grant := r.PostForm.Get("grant_type")
	switch grant {
	case "client_credentials":
		s.scopes = strings.Fields(r.PostForm.Get("scope"))
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != s.RefreshToken {
			writeErr(w, http.StatusBadRequest, "invalid_grant", "refresh token unknown or revoked")
			return
		}
	default:
		writeErr(w, http.StatusBadRequest, "unsupported_grant_type", grant)
		return
	}
	s.requests[grant]++
	tok := fmt.Sprintf("at-%d-%s", len(s.issued)+1, random())
	s.issued = append(s.issued, tok)
	s.valid[tok] = true
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": s.expiresIn})
}

func writeErr(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": description})
}

// check accepts token for user when this endpoint issued it.
func (s *Server) check(user, token string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.valid[token] {
		return false
	}
	s.used[token] = user
	s.logins = append(s.logins, token)
	return true
}

// SASL is the server side of mech (XOAuth2 or sasl.OAuthBearer): it
// accepts a token this endpoint issued, then calls login with the user the
// client named, whose error fails the exchange.
func (s *Server) SASL(mech string, login func(user string) error) (sasl.Server, error) {
	switch strings.ToUpper(mech) {
	case XOAuth2:
		return &xoauth2Server{s: s, login: login}, nil
	case sasl.OAuthBearer:
		var loginErr error
		srv := sasl.NewOAuthBearerServer(func(o sasl.OAuthBearerOptions) *sasl.OAuthBearerError {
			if o.Username == "" || !s.check(o.Username, o.Token) {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			if loginErr = login(o.Username); loginErr != nil {
				return &sasl.OAuthBearerError{Status: "invalid_token", Schemes: "bearer"}
			}
			return nil
		})
		return srv, nil
	}
	return nil, fmt.Errorf("oauthserver: mechanism %q not supported", mech)
}

// xoauth2Server: the client sends "user=U^Aauth=Bearer T^A^A"; a refusal is
// a JSON challenge the client answers with an empty response, then the
// exchange fails (Google's and Microsoft's behaviour).
type xoauth2Server struct {
	s      *Server
	login  func(string) error
	failed error
}

func (x *xoauth2Server) Next(response []byte) ([]byte, bool, error) {
	if x.failed != nil {
		return nil, true, x.failed
	}
	if response == nil {
		return []byte{}, false, nil // ask for the initial response
	}
	user, token, err := parseXOAuth2(response)
	if err == nil && !x.s.check(user, token) {
		err = errors.New("invalid bearer token")
	}
	if err == nil {
		err = x.login(user)
	}
	if err != nil {
		x.failed = fmt.Errorf("xoauth2: %w", err)
		blob, _ := json.Marshal(map[string]string{"status": "401", "schemes": "bearer"})
		return blob, false, nil
	}
	return nil, true, nil
}

func parseXOAuth2(b []byte) (user, token string, err error) {
	for _, kv := range bytes.Split(b, []byte{1}) {
		k, v, _ := strings.Cut(string(kv), "=")
		switch k {
		case "user":
			user = v
		case "auth":
			scheme, t, _ := strings.Cut(v, " ")
			if strings.EqualFold(scheme, "bearer") {
				token = t
			}
		}
	}
	if user == "" || token == "" {
		return "", "", errors.New("malformed initial response")
	}
	return user, token, nil
}
