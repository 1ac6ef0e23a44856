// Package portallink signs the links that open the reporters' portal
// without a password: a sign-in link (single use, short-lived, mailed on
// request from /portal/login) and an incident link ("view your incident",
// in every mail about an incident, valid as long as a survey link). Both
// bind the reporter's e-mail address: whoever follows one is signed in as
// that address, which is exactly what reading the mailbox proves.
package portallink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// Purpose says what a link is for.
type Purpose byte

// The two kinds of link.
const (
	SignIn   Purpose = 'l'
	Incident Purpose = 'i'
)

// Default lifetimes. A sign-in link is mailed on request and used at once;
// an incident link sits in a mail, like a survey link.
const (
	SignInTTL   = 15 * time.Minute
	IncidentTTL = 14 * 24 * time.Hour
)

// MinKeyBytes is the shortest key accepted (HMAC-SHA256's output size).
const MinKeyBytes = 32

// Verification errors: a forged or mangled link (400) and a genuine one
// that came too late (410) get different pages.
var (
	ErrInvalid = errors.New("portallink: the link is forged or malformed")
	ErrExpired = errors.New("portallink: the link has expired")
)

// Claims is what a verified token says.
type Claims struct {
	Purpose    Purpose
	Email      string
	IncidentID string // incident links only
	Expires    time.Time
	// Nonce is unique per token (hex): spending it makes a sign-in link
	// single-use.
	Nonce string
}

// Layout before base64url: version, purpose, expiry (Unix seconds,
// big-endian), a random nonce, the incident id, a zero byte, the address,
// then the HMAC-SHA256 of all of that.
const (
	version     = 1
	nonceBytes  = 16
	headerBytes = 1 + 1 + 8 + nonceBytes
	macBytes    = sha256.Size
	maxIDBytes  = 64
	maxAddress  = 254 // RFC 5321's limit on a path
	maxChars    = (headerBytes + maxIDBytes + 1 + maxAddress + macBytes + 2) / 3 * 4
)

// macLabel keeps these MACs apart from any other use of a key.
const macLabel = "intakebot/portallink/v1\x00"

// Signer signs and verifies portal links under one base URL.
type Signer struct {
	key  []byte
	base string
	now  func() time.Time
	enc  *base64.Encoding
	// SignInLife and IncidentLife are how long each kind of link works
	// (SignInTTL and IncidentTTL unless changed).
	SignInLife, IncidentLife time.Duration
}

// New returns a signer of links under baseURL (the portal is at
// baseURL/portal/). key must have MinKeyBytes or more; now is the clock
// (time.Now when nil).
func New(key []byte, baseURL string, now func() time.Time) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("portallink: the key has %d bytes, at least %d are needed", len(key), MinKeyBytes)
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{key: append([]byte(nil), key...), base: strings.TrimRight(baseURL, "/"), now: now,
		enc: base64.RawURLEncoding.Strict(), SignInLife: SignInTTL, IncidentLife: IncidentTTL}, nil
}

// PortalURL is the portal's front page.
func (s *Signer) PortalURL() string { return s.base + "/portal/" }

// SignInURL returns a new sign-in link for email; the portal makes it
// single-use by spending its nonce.
func (s *Signer) SignInURL(email string) (string, error) {
	tok, err := s.sign(SignIn, "", email, s.SignInLife)
	if err != nil {
		return "", err
	}
	return s.base + "/portal/login/" + url.PathEscape(tok), nil
}

// Incident returns the link that opens incident id for its reporter email.
func (s *Signer) Incident(id, email string) (string, error) {
	if id == "" {
		return "", errors.New("portallink: an incident link needs the incident id")
	}
	tok, err := s.sign(Incident, id, email, s.IncidentLife)
	if err != nil {
		return "", err
	}
	return s.base + "/portal/i/" + url.PathEscape(tok), nil
}

func (s *Signer) sign(p Purpose, id, email string, ttl time.Duration) (string, error) {
	if err := checkText(id, maxIDBytes, true); err != nil {
		return "", fmt.Errorf("portallink: incident id: %w", err)
	}
	email = strings.TrimSpace(email)
	if email == "" || !strings.Contains(email, "@") {
		return "", fmt.Errorf("portallink: %q is not an e-mail address", email)
	}
	if err := checkText(email, maxAddress, false); err != nil {
		return "", fmt.Errorf("portallink: address: %w", err)
	}
	buf := make([]byte, headerBytes, headerBytes+len(id)+1+len(email)+macBytes)
	buf[0], buf[1] = version, byte(p)
	binary.BigEndian.PutUint64(buf[2:10], uint64(s.now().Add(ttl).Unix()))
	if _, err := rand.Read(buf[10:headerBytes]); err != nil {
		return "", fmt.Errorf("portallink: nonce: %w", err)
	}
	buf = append(buf, id...)
	buf = append(buf, 0)
	buf = append(buf, email...)
	buf = append(buf, s.mac(buf)...)
	return s.enc.EncodeToString(buf), nil
}

// Verify checks a token (the last part of a link's path). A forged or
// malformed one gives ErrInvalid; an authentic but expired one gives
// ErrExpired with its claims (to word the page), which must not be acted on.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > maxChars || !urlSafe(token) {
		return Claims{}, ErrInvalid
	}
	raw, err := s.enc.DecodeString(token)
	if err != nil || len(raw) < headerBytes+1+macBytes {
		return Claims{}, ErrInvalid
	}
	body, sum := raw[:len(raw)-macBytes], raw[len(raw)-macBytes:]
	if !hmac.Equal(sum, s.mac(body)) || body[0] != version {
		return Claims{}, ErrInvalid
	}
	p := Purpose(body[1])
	id, email, ok := strings.Cut(string(body[headerBytes:]), "\x00")
	if !ok || (p != SignIn && p != Incident) || (p == Incident) != (id != "") || email == "" {
		return Claims{}, ErrInvalid
	}
	c := Claims{Purpose: p, Email: email, IncidentID: id,
		Expires: time.Unix(int64(binary.BigEndian.Uint64(body[2:10])), 0).UTC(),
		Nonce:   hex.EncodeToString(body[10:headerBytes])}
	if !s.now().Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(macLabel))
	m.Write(body)
	return m.Sum(nil)
}

func urlSafe(token string) bool {
	for i := 0; i < len(token); i++ {
		switch c := token[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// checkText accepts short printable text without the separator byte.
func checkText(s string, max int, mayBeEmpty bool) error {
	if (s == "" && !mayBeEmpty) || len(s) > max || !utf8.ValidString(s) {
		return fmt.Errorf("%q is empty, longer than %d bytes or not text", s, max)
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("%q has a control character", s)
		}
	}
	return nil
}
