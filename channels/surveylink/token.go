// Package surveylink lets a reporter answer a survey (validation yes/no,
// satisfaction 1-5) on a small web page reached from a signed link in the
// survey mail. The link's token is the capability: it names the incident
// and the question, expires, and works once.
package surveylink

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakebot/intakebot/intake"
)

// The survey steps a link may answer; they are the incident states in
// which the question is open.
const (
	StepValidation   = intake.SurveyValidation
	StepSatisfaction = intake.SurveySatisfaction
)

// DefaultTTL is how long a link works when the signer is given no TTL: long
// enough for a reporter back from a week's holiday, short enough that old
// mail archives do not hold live capabilities.
const DefaultTTL = 14 * 24 * time.Hour

// MinKeyBytes is the shortest signing key accepted: HMAC-SHA256 is only as
// strong as its key, and 32 bytes matches the hash's output.
const MinKeyBytes = 32

// Verification errors. A caller shows a different page for each, so they are
// distinct: a forged link is an attack or a mangled copy (400), an expired
// one is a genuine link that came too late (410).
var (
	ErrInvalidToken = errors.New("surveylink: the link is forged or malformed")
	ErrExpired      = errors.New("surveylink: the link has expired")
)

// Claims is what a verified token says.
type Claims struct {
	IncidentID string
	Step       string
	IssuedAt   time.Time
	Expires    time.Time
	// Nonce is unique per token (hex); spending it makes the link single-use.
	Nonce string
	// Round is the number of the question the link answers (the
	// incident's survey round when it was signed; see intake.Incident).
	// Zero for a link signed before links carried it: such a link answers
	// no round.
	Round int64
}

// Layout of a token before base64url: a version byte, the step, issue and
// expiry times (Unix seconds, big-endian), a random nonce, the round
// (big-endian; version 2 on), the incident id, then the HMAC-SHA256 of all
// of that. Binary and fixed-width so that the link stays short enough for
// mail clients not to wrap it. Version 1 tokens (no round) are still read,
// so that their pages can say the question was replaced, not "forged".
const (
	tokenVersion  = 2
	roundlessV1   = 1
	nonceBytes    = 16
	headerBytesV1 = 1 + 1 + 8 + 8 + nonceBytes
	headerBytes   = headerBytesV1 + 8
	macBytes      = sha256.Size
	maxIDBytes    = 64
	// maxTokenChars bounds the text Verify decodes, so that a huge path
	// costs nothing before it is refused.
	maxTokenChars = (headerBytes + maxIDBytes + macBytes + 2) / 3 * 4
)

// macLabel separates these MACs from any other use of the same key: a reply
// token signed with it can never be replayed as a survey link.
const macLabel = "intakebot/surveylink/v1\x00"

// stepCode and stepName map a step to its byte in the token and back.
func stepCode(step string) (byte, bool) {
	switch step {
	case StepValidation:
		return 'v', true
	case StepSatisfaction:
		return 's', true
	}
	return 0, false
}

func stepName(code byte) (string, bool) {
	switch code {
	case 'v':
		return StepValidation, true
	case 's':
		return StepSatisfaction, true
	}
	return "", false
}

// Signer signs and verifies survey link tokens.
type Signer struct {
	key []byte
	ttl time.Duration
	now func() time.Time
	// enc is unpadded base64url in strict mode, so that every token has
	// exactly one spelling and a changed trailing bit is a forgery, not an
	// alias of a valid token.
	enc *base64.Encoding
}

// NewSigner returns a signer. key must be at least MinKeyBytes long; ttl is
// how long a link works (DefaultTTL when zero or less); now is the clock
// (time.Now when nil).
func NewSigner(key []byte, ttl time.Duration, now func() time.Time) (*Signer, error) {
	if len(key) < MinKeyBytes {
		return nil, fmt.Errorf("surveylink: the signing key has %d bytes, at least %d are needed", len(key), MinKeyBytes)
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if now == nil {
		now = time.Now
	}
	// A copy, so that a caller reusing its buffer cannot change the key.
	return &Signer{key: append([]byte(nil), key...), ttl: ttl, now: now, enc: base64.RawURLEncoding.Strict()}, nil
}

// Sign returns a new token for one round of an incident's question; each
// call gives a different token (a fresh nonce).
func (s *Signer) Sign(incidentID, step string, round int64) (string, error) {
	code, ok := stepCode(step)
	if !ok {
		return "", fmt.Errorf("surveylink: unknown step %q (want %s or %s)", step, StepValidation, StepSatisfaction)
	}
	if round <= 0 {
		return "", fmt.Errorf("surveylink: round %d: a link answers one numbered round (1 or more)", round)
	}
	if err := checkID(incidentID); err != nil {
		return "", err
	}
	now := s.now()
	buf := make([]byte, headerBytes, headerBytes+len(incidentID)+macBytes)
	buf[0], buf[1] = tokenVersion, code
	binary.BigEndian.PutUint64(buf[2:10], uint64(now.Unix()))
	binary.BigEndian.PutUint64(buf[10:18], uint64(now.Add(s.ttl).Unix()))
	if _, err := rand.Read(buf[18:headerBytesV1]); err != nil {
		return "", fmt.Errorf("surveylink: nonce: %w", err)
	}
	binary.BigEndian.PutUint64(buf[headerBytesV1:headerBytes], uint64(round))
	buf = append(buf, incidentID...)
	buf = append(buf, s.mac(buf)...)
	return s.enc.EncodeToString(buf), nil
}

// Verify checks a token's signature and expiry. A forged, altered or
// malformed token gives ErrInvalidToken and empty claims. An authentic but
// expired token gives ErrExpired with its claims, so that the caller can
// word the answer in the reporter's language; they must not be acted on.
func (s *Signer) Verify(token string) (Claims, error) {
	if len(token) > maxTokenChars || !urlSafe(token) {
		return Claims{}, ErrInvalidToken
	}
	raw, err := s.enc.DecodeString(token)
	if err != nil || len(raw) <= headerBytesV1+macBytes {
		return Claims{}, ErrInvalidToken
	}
	body, sum := raw[:len(raw)-macBytes], raw[len(raw)-macBytes:]
	// hmac.Equal runs in constant time: the comparison must not tell an
	// attacker how many leading bytes of a guessed MAC were right.
	if !hmac.Equal(sum, s.mac(body)) {
		return Claims{}, ErrInvalidToken
	}
	// From here the bytes are ours; the checks guard against a key shared
	// with a future, different token layout.
	header := headerBytes
	var round int64
	switch body[0] {
	case tokenVersion:
		if len(body) <= headerBytes {
			return Claims{}, ErrInvalidToken
		}
		u := binary.BigEndian.Uint64(body[headerBytesV1:headerBytes])
		if u == 0 || u > math.MaxInt64 {
			return Claims{}, ErrInvalidToken
		}
		round = int64(u)
	case roundlessV1:
		header = headerBytesV1
	default:
		return Claims{}, ErrInvalidToken
	}
	step, ok := stepName(body[1])
	id := string(body[header:])
	if !ok || checkID(id) != nil {
		return Claims{}, ErrInvalidToken
	}
	c := Claims{
		IncidentID: id,
		Step:       step,
		IssuedAt:   time.Unix(int64(binary.BigEndian.Uint64(body[2:10])), 0).UTC(),
		Expires:    time.Unix(int64(binary.BigEndian.Uint64(body[10:18])), 0).UTC(),
		Nonce:      hex.EncodeToString(body[18:headerBytesV1]),
		Round:      round,
	}
	if !s.now().Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// urlSafe reports whether token has only base64url characters. The decoder
// alone is not enough: it skips CR and LF, which would give a real token
// other spellings (found by FuzzVerify).
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

func (s *Signer) mac(body []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte(macLabel))
	m.Write(body)
	return m.Sum(nil)
}

// checkID accepts what can be an incident id without knowing the id format
// (that belongs to the intake package): short, printable ASCII, no slash.
func checkID(id string) error {
	if id == "" || len(id) > maxIDBytes || !utf8.ValidString(id) {
		return fmt.Errorf("surveylink: incident id %q is empty, too long or not text", id)
	}
	for _, r := range id {
		if r <= ' ' || r > '~' || r == '/' {
			return fmt.Errorf("surveylink: incident id %q has a character %q links do not carry", id, r)
		}
	}
	return nil
}

// URL returns the link a reporter follows: BASE/s/TOKEN. A trailing slash
// on baseURL is allowed, so that configuration may be written either way.
func URL(baseURL, token string) string {
	return strings.TrimRight(baseURL, "/") + "/s/" + url.PathEscape(token)
}

// Linker builds survey links under one base URL; it is what the outbox
// asks for when it writes a survey question.
type Linker struct {
	Signer  *Signer
	BaseURL string
}

// Link signs a token for one round of the incident's step and returns
// its URL.
func (l Linker) Link(incidentID, step string, round int64) (string, error) {
	token, err := l.Signer.Sign(incidentID, step, round)
	if err != nil {
		return "", err
	}
	return URL(l.BaseURL, token), nil
}
