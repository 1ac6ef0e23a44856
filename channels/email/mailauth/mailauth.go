// Package mailauth logs a mailbox in with an OAuth 2.0 bearer token instead
// of a password, as Microsoft 365 requires and Google recommends for IMAP
// and SMTP.
//
// An Auth gets its tokens from the provider's token endpoint with one of two
// grants (golang.org/x/oauth2 speaks the protocol):
//
//   - client credentials (RFC 6749 4.4): the application logs in as itself,
//     the Microsoft 365 "app-only" case (scope
//     https://outlook.office365.com/.default);
//   - refresh token (RFC 6749 6): a refresh token obtained once with a
//     person's consent, the Google case (https://mail.google.com/).
//
// It keeps the latest access token and fetches a new one ExpiryDelta before
// the old one expires, so that a login never presents a token that dies
// during the handshake. It then offers the token through SASL XOAUTH2 (the
// providers' own mechanism) or OAUTHBEARER (RFC 7628).
package mailauth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-sasl"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// SASL mechanisms for Config.Mechanism.
const (
	XOAuth2     = "XOAUTH2"
	OAuthBearer = sasl.OAuthBearer
)

// Defaults for the zero values of Config.
const (
	// DefaultExpiryDelta: a token with less than this left is replaced.
	// Providers issue tokens for an hour or more.
	DefaultExpiryDelta = 5 * time.Minute
	// DefaultHTTPTimeout bounds one request to the token endpoint.
	DefaultHTTPTimeout = 30 * time.Second
)

// ErrTokenEndpoint marks a failure to get a token: the endpoint refused the
// grant or could not be reached. Test with errors.Is.
var ErrTokenEndpoint = errors.New("oauth2 token endpoint failed")

// Config says where the tokens come from and how they are presented.
type Config struct {
	// Mechanism is XOAuth2 (default) or OAuthBearer; any case.
	Mechanism string
	// User is the mailbox account the token is for (XOAUTH2's user,
	// OAUTHBEARER's authzid).
	User string
	// TokenURL is the provider's token endpoint, e.g.
	// https://login.microsoftonline.com/TENANT/oauth2/v2.0/token or
	// https://oauth2.googleapis.com/token. https, or http on loopback only:
	// the client secret travels in the request.
	TokenURL     string
	ClientID     string
	ClientSecret string
	// RefreshToken selects the refresh token grant; empty means client
	// credentials, which needs ClientSecret.
	RefreshToken string
	// Scopes are asked for with client credentials (a refresh keeps the
	// scopes of the consent).
	Scopes []string
	// ExpiryDelta is how long before its expiry a token is replaced
	// (default DefaultExpiryDelta).
	ExpiryDelta time.Duration
	// HTTPClient talks to the token endpoint; a client with
	// DefaultHTTPTimeout when nil. Tests pass one that trusts their CA.
	HTTPClient *http.Client
	// Now is the clock that decides whether a token is fresh enough;
	// time.Now when nil.
	Now func() time.Time
}

// Auth hands out bearer tokens and the SASL clients that present them. It
// is safe for concurrent use; concurrent callers share one fetch.
type Auth struct {
	mech, user string
	grant      string // for messages: "client_credentials" or "refresh_token"
	endpoint   string // TokenURL without query, for messages
	secret     string // the client secret, scrubbed from messages
	delta      time.Duration
	now        func() time.Time
	client     *http.Client
	cc         *clientcredentials.Config
	rc         *oauth2.Config

	// lock is a one-slot semaphore rather than a mutex so that a caller
	// waiting behind a slow fetch can give up when its context ends.
	lock    chan struct{}
	tok     *oauth2.Token
	refresh string // the latest refresh token (providers may rotate it)

	// rejected is the last token a server refused; it has its own mutex so
	// that a SASL exchange never waits behind a token fetch to report it.
	mu       sync.Mutex
	rejected string
}

// New checks cfg and returns an Auth. It does not fetch a token: a token
// endpoint that is down at start-up shows in the mailbox's health, it must
// not stop the bot.
func New(cfg Config) (*Auth, error) {
	mech := strings.ToUpper(cfg.Mechanism)
	switch mech {
	case "":
		mech = XOAuth2
	case XOAuth2, OAuthBearer:
	default:
		return nil, fmt.Errorf("oauth2: mechanism %q: want %s or %s", cfg.Mechanism, XOAuth2, OAuthBearer)
	}
	if cfg.User == "" {
		return nil, errors.New("oauth2: the user (the mailbox account) is required")
	}
	if strings.ContainsAny(cfg.User, "\x01,=") {
		return nil, fmt.Errorf("oauth2: user %q: no commas, equals signs or control characters", cfg.User)
	}
	endpoint, err := checkTokenURL(cfg.TokenURL)
	if err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oauth2: client_id is required")
	}
	if cfg.ClientSecret == "" && cfg.RefreshToken == "" {
		return nil, errors.New("oauth2: a client secret (client credentials grant) or a refresh token (refresh token grant) is required")
	}
	a := &Auth{
		mech: mech, user: cfg.User, endpoint: endpoint,
		delta: cfg.ExpiryDelta, now: cfg.Now, client: cfg.HTTPClient,
		lock: make(chan struct{}, 1), refresh: cfg.RefreshToken,
	}
	a.secret = cfg.ClientSecret
	if a.delta <= 0 {
		a.delta = DefaultExpiryDelta
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.client == nil {
		a.client = &http.Client{Timeout: DefaultHTTPTimeout}
	}
	if cfg.RefreshToken != "" {
		a.grant = "refresh_token"
		a.rc = &oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			Endpoint: oauth2.Endpoint{TokenURL: cfg.TokenURL}, Scopes: cfg.Scopes}
	} else {
		a.grant = "client_credentials"
		a.cc = &clientcredentials.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
			TokenURL: cfg.TokenURL, Scopes: cfg.Scopes}
	}
	return a, nil
}

// checkTokenURL refuses a token endpoint that would carry the secret in
// clear over a network; it returns the URL to name in messages.
func checkTokenURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("oauth2: token_url is required")
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("oauth2: token_url %q is not an absolute URL", raw)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return "", fmt.Errorf("oauth2: token_url %s: must be https (plain http only to a loopback host): the client secret travels in the request", u.Redacted())
	}
	u.User, u.RawQuery, u.Fragment = nil, "", ""
	return u.String(), nil
}

// isLoopback reports whether host is this machine: the literal name
// "localhost" or a loopback IP, never a resolved name.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Mechanism is the SASL mechanism's name, for checking what a server offers.
func (a *Auth) Mechanism() string { return a.mech }

// Token returns a bearer token with more than ExpiryDelta left, fetching a
// new one when needed. Its error wraps ErrTokenEndpoint and says what the
// endpoint answered; it never contains the client secret or refresh token.
func (a *Auth) Token(ctx context.Context) (string, error) {
	select {
	case a.lock <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-a.lock }()
	a.mu.Lock()
	rejected := a.rejected
	a.mu.Unlock()
	if t := a.tok; t != nil && t.AccessToken != "" && t.AccessToken != rejected &&
		(t.Expiry.IsZero() || a.now().Add(a.delta).Before(t.Expiry)) {
		return t.AccessToken, nil
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, a.client)
	var t *oauth2.Token
	var err error
	if a.rc != nil {
		t, err = a.rc.TokenSource(ctx, &oauth2.Token{RefreshToken: a.refresh}).Token()
	} else {
		t, err = a.cc.Token(ctx)
	}
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			return "", cerr
		}
		return "", a.describe(err)
	}
	if t.AccessToken == "" {
		return "", fmt.Errorf("%w: %s (%s grant) answered without an access_token", ErrTokenEndpoint, a.endpoint, a.grant)
	}
	if t.RefreshToken != "" {
		// The provider may rotate it; the old one may stop working.
		a.refresh = t.RefreshToken
	}
	a.tok = t
	return t.AccessToken, nil
}

// describe turns a token fetch failure into a message an operator can act
// on: the endpoint, the grant, the HTTP status and RFC 6749's error code and
// description. The secrets are scrubbed in case an endpoint echoes them.
func (a *Auth) describe(err error) error {
	var msg string
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := "no HTTP response"
		if re.Response != nil {
			status = re.Response.Status
		}
		msg = fmt.Sprintf("%s refused the %s grant: %s", a.endpoint, a.grant, status)
		switch {
		case re.ErrorCode != "":
			msg += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				msg += ": " + clip(re.ErrorDescription)
			}
		case len(re.Body) > 0:
			msg += ": " + clip(string(re.Body))
		}
	} else {
		msg = fmt.Sprintf("%s (%s grant): %v", a.endpoint, a.grant, err)
	}
	for _, s := range []string{a.secret, a.refresh} {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return fmt.Errorf("%w: %s", ErrTokenEndpoint, msg)
}

// clip keeps an endpoint's text to one readable line.
func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > 300 {
		s = string(r[:300]) + "..."
	}
	return s
}

// forget drops the cached token if it is still tok: the server refused it
// (revoked, or the provider's clock disagrees), so the next login fetches
// a fresh one instead of presenting it again until it expires.
func (a *Auth) forget(tok string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.rejected = tok
}

// SASLClient returns a client for one login, with a fresh enough token.
func (a *Auth) SASLClient(ctx context.Context) (sasl.Client, error) {
	tok, err := a.Token(ctx)
	if err != nil {
		return nil, err
	}
	return &bearerClient{mech: a.mech, user: a.user, token: tok, forget: a.forget}, nil
}

// bearerClient speaks XOAUTH2 or OAUTHBEARER. Both send everything in the
// initial response; a challenge is the server's JSON refusal, which the
// client must acknowledge (XOAUTH2: an empty response, OAUTHBEARER: a
// single %x01) so that the server ends the exchange with a failure
// instead of waiting.
type bearerClient struct {
	mech, user, token string
	forget            func(string)
	refused           bool
}

func (c *bearerClient) Start() (string, []byte, error) {
	if c.mech == OAuthBearer {
		_, ir, err := sasl.NewOAuthBearerClient(&sasl.OAuthBearerOptions{Username: c.user, Token: c.token}).Start()
		return OAuthBearer, ir, err
	}
	return XOAuth2, []byte("user=" + c.user + "\x01auth=Bearer " + c.token + "\x01\x01"), nil
}

func (c *bearerClient) Next(challenge []byte) ([]byte, error) {
	if c.refused {
		return nil, errors.New("oauth2: server went on after refusing the token")
	}
	c.refused = true
	c.forget(c.token)
	if c.mech == OAuthBearer {
		return []byte{1}, nil
	}
	return []byte{}, nil
}
