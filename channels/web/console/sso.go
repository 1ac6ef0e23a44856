package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"golang.org/x/oauth2"
)

// SSOConfig is single sign-on with an OpenID Connect provider.
type SSOConfig struct {
	Issuer, ClientID, ClientSecret string
	// RedirectURL is BASE/console/login/oidc/callback, as registered at
	// the provider.
	RedirectURL string
	// AgentsClaim names the ID token claim whose value is the agent's name.
	AgentsClaim string
	// AdminGroup set: the session is an admin exactly when the "groups"
	// claim holds it. Empty: the agent's own admin flag decides.
	AdminGroup string
	// Client talks to the provider; nil: a client that gives up after 15 s
	// (a provider that hangs must not hang every sign-in with it).
	Client *http.Client
}

// SSO signs agents in through an OpenID Connect provider: the
// authorization code flow with state, nonce and PKCE. The flow is kept in
// Redis (webui.Flows), so any bot can finish what another began.
type SSO struct {
	cfg   SSOConfig
	flows *webui.Flows

	mu sync.Mutex
	// provider is discovered on first use, not at start: a provider that
	// is down must not keep the bot (and password sign-in) from starting.
	provider *oidc.Provider
}

// NewSSO returns single sign-on with cfg, its flows kept in flows.
func NewSSO(cfg SSOConfig, flows *webui.Flows) *SSO {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 15 * time.Second}
	}
	return &SSO{cfg: cfg, flows: flows}
}

func (s *SSO) ctx(ctx context.Context) context.Context { return oidc.ClientContext(ctx, s.cfg.Client) }

// discover reads the provider's configuration once it answers.
func (s *SSO) discover(ctx context.Context) (*oidc.Provider, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.provider != nil {
		return s.provider, nil
	}
	p, err := oidc.NewProvider(s.ctx(ctx), s.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("OIDC discovery at %s: %w", s.cfg.Issuer, err)
	}
	s.provider = p
	return p, nil
}

func (s *SSO) oauth(p *oidc.Provider) *oauth2.Config {
	return &oauth2.Config{ClientID: s.cfg.ClientID, ClientSecret: s.cfg.ClientSecret, RedirectURL: s.cfg.RedirectURL,
		Endpoint: p.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email"}}
}

// ssoCookie binds a flow to the browser that began it: the callback must
// come with the same state in the cookie as in the address, so that
// nobody can finish a flow of their own in someone else's browser.
const ssoCookie = "intakebot_oidc"

const ssoPath = "/console/login/oidc"

// ssoStart sends the browser to the provider.
func (s *Server) ssoStart(w http.ResponseWriter, r *http.Request) {
	lang := webui.Lang(r)
	sso := s.d.SSO
	if sso == nil {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	p, err := sso.discover(r.Context())
	if err != nil {
		s.d.Log.Error("single sign-on unavailable", "err", err)
		s.showLogin(w, r, http.StatusServiceUnavailable, "", "login.sso_unavailable")
		return
	}
	state, err := webui.RandomToken()
	if err != nil {
		s.fail(w, r, lang, err)
		return
	}
	nonce, err := webui.RandomToken()
	if err != nil {
		s.fail(w, r, lang, err)
		return
	}
	fl := webui.Flow{Nonce: nonce, Verifier: oauth2.GenerateVerifier(), Next: localPath(r.URL.Query().Get("next"))}
	if err := sso.flows.Put(r.Context(), state, fl); err != nil {
		s.fail(w, r, lang, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Value: state, Path: ssoPath, MaxAge: int(sso.flows.TTL.Seconds()),
		HttpOnly: true, Secure: s.d.Secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, sso.oauth(p).AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(fl.Verifier)), http.StatusFound)
}

// ssoCallback finishes the flow: the state must be this browser's and
// unused, the ID token signed by the provider for us with our nonce, and
// its claim must name an agent that exists and has not expired. Every
// refusal shows the sign-in page saying why, in the agent's language.
func (s *Server) ssoCallback(w http.ResponseWriter, r *http.Request) {
	lang := webui.Lang(r)
	sso := s.d.SSO
	if sso == nil {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(ssoCookie)
	http.SetCookie(w, &http.Cookie{Name: ssoCookie, Path: ssoPath, MaxAge: -1, HttpOnly: true, Secure: s.d.Secure, SameSite: http.SameSiteLaxMode})
	if err != nil || !webui.SameToken(c.Value, state) {
		s.d.Log.Info("single sign-on refused: the state is not this browser's", "addr", clientAddr(r))
		s.showLogin(w, r, http.StatusBadRequest, "", "login.sso_state")
		return
	}
	fl, err := sso.flows.Take(r.Context(), state)
	if errors.Is(err, webui.ErrNoFlow) {
		s.showLogin(w, r, http.StatusBadRequest, "", "login.sso_state")
		return
	}
	if err != nil {
		s.fail(w, r, lang, err)
		return
	}
	if e := q.Get("error"); e != "" {
		s.d.Log.Info("single sign-on refused by the provider", "error", e, "description", q.Get("error_description"))
		s.showLogin(w, r, http.StatusUnauthorized, "", "login.sso_denied")
		return
	}
	name, groups, err := sso.identify(r.Context(), q.Get("code"), fl)
	if err != nil {
		s.d.Log.Warn("single sign-on failed", "err", err, "addr", clientAddr(r))
		s.showLogin(w, r, http.StatusUnauthorized, "", "login.sso_failed")
		return
	}
	if name == "" {
		s.d.Log.Info("single sign-on refused: the ID token names no agent", "claim", sso.cfg.AgentsClaim)
		s.showSSORefusal(w, r, "")
		return
	}
	a, err := s.d.Agents.Agent(r.Context(), name)
	if errors.Is(err, intake.ErrNotFound) || (err == nil && a.Expired(s.d.Now())) {
		// A revoked agent is gone from the store: the same refusal.
		s.d.Log.Info("single sign-on refused: no such agent", "claim", sso.cfg.AgentsClaim, "value", name)
		s.showSSORefusal(w, r, name)
		return
	}
	if err != nil {
		s.fail(w, r, lang, err)
		return
	}
	var admin *bool
	if g := sso.cfg.AdminGroup; g != "" {
		in := groups[g]
		admin = &in
	}
	if _, err := s.d.Sessions.CreateWithAdmin(r.Context(), w, a.Name, admin); err != nil {
		s.fail(w, r, lang, err)
		return
	}
	s.d.Log.Info("console sign-in", "agent", a.Name, "via", "oidc", "admin", admin != nil && *admin)
	http.Redirect(w, r, fl.Next, http.StatusSeeOther)
}

// identify exchanges the code (with the PKCE verifier) and checks the ID
// token: signature, issuer, audience, expiry and our nonce. It returns the
// agents claim's value and the groups the token names.
func (s *SSO) identify(ctx context.Context, code string, fl webui.Flow) (string, map[string]bool, error) {
	if code == "" {
		return "", nil, errors.New("no code in the callback")
	}
	p, err := s.discover(ctx)
	if err != nil {
		return "", nil, err
	}
	ctx = s.ctx(ctx)
	tok, err := s.oauth(p).Exchange(ctx, code, oauth2.VerifierOption(fl.Verifier))
	if err != nil {
		return "", nil, fmt.Errorf("code exchange: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", nil, errors.New("the token answer has no id_token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: s.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return "", nil, fmt.Errorf("ID token: %w", err)
	}
	if !webui.SameToken(idt.Nonce, fl.Nonce) {
		return "", nil, errors.New("ID token: the nonce is not the one this flow sent")
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return "", nil, fmt.Errorf("ID token claims: %w", err)
	}
	name, _ := claims[s.cfg.AgentsClaim].(string)
	// An address the provider has not verified is whatever the person
	// typed into their profile: naming agents by it would let anyone
	// with an account there claim an agent's address. A provider that
	// says nothing (some never send email_verified) is trusted; some say
	// it as a string ("false").
	if v, said := claims["email_verified"]; s.cfg.AgentsClaim == "email" && said && v != true && v != "true" {
		return "", nil, fmt.Errorf("ID token: the email %q is not verified by the provider", name)
	}
	groups := map[string]bool{}
	switch g := claims["groups"].(type) {
	case string:
		groups[g] = true
	case []any:
		for _, v := range g {
			if group, ok := v.(string); ok {
				groups[group] = true
			}
		}
	}
	return strings.TrimSpace(name), groups, nil
}

// showSSORefusal says that the provider's person is no agent here.
func (s *Server) showSSORefusal(w http.ResponseWriter, r *http.Request, name string) {
	lang := webui.Lang(r)
	msg := s.d.Pages.Word(lang, "login.sso_noagent_unnamed")
	if name != "" {
		msg = fmt.Sprintf(s.d.Pages.Word(lang, "login.sso_noagent"), name)
	}
	s.showLoginMessage(w, r, http.StatusForbidden, "", msg)
}
