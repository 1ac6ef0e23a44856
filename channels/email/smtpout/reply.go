package smtpout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net/mail"
	"strings"

	"github.com/intakebot/intakebot/intake"
)

// replyTokenLen is how many base32 characters of the HMAC a reply address
// carries: 80 bits, far beyond guessing by sending mail, and short enough to
// keep the address readable.
const replyTokenLen = 16

// ReplyAddresses makes and checks the plus-addresses we put in Reply-To:
// local+INC-000001.<token>@domain, where token is the first 16 characters
// of base32(HMAC-SHA256(key, incident id)), lower case, unpadded.
//
// A reply to such an address threads to its incident even when the mail
// client dropped In-Reply-To, and the token proves the address came from us,
// so that nobody can attach mail (or a survey answer) to an incident by
// guessing its number. The help-desk mailbox must accept plus-addresses
// (subaddressing; Postfix recipient_delimiter, Exchange Online, Gmail).
//
// It is its own type, apart from Sender, so that the intake side can check
// addresses without an SMTP configuration.
type ReplyAddresses struct {
	local  string // From's local part, as written
	domain string // From's domain, as written
	key    []byte
}

// NewReplyAddresses returns the reply addresses for the help-desk address
// from (e.g. "Help desk <helpdesk@example.test>"), signed with key (at
// least MinReplyKeyBytes bytes).
func NewReplyAddresses(from string, key []byte) (*ReplyAddresses, error) {
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("smtpout: From %q: %w", from, err)
	}
	local, domain, ok := strings.Cut(a.Address, "@")
	// A quoted or exotic local part would need quoting once we add "+...";
	// the help-desk address is ours to choose, so we ask for a plain one.
	if !ok || !isDotAtom(local) || !isDotAtom(domain) {
		return nil, fmt.Errorf("smtpout: From address %q must be a plain local@domain", a.Address)
	}
	if len(key) < MinReplyKeyBytes {
		return nil, fmt.Errorf("smtpout: ReplyKey has %d bytes, want at least %d", len(key), MinReplyKeyBytes)
	}
	return &ReplyAddresses{local: local, domain: domain, key: append([]byte(nil), key...)}, nil
}

// ReplyAddress returns the signed reply address for incidentID, or "" when
// incidentID is not an incident id like INC-000123.
func (r *ReplyAddresses) ReplyAddress(incidentID string) string {
	if _, err := intake.ParseID(incidentID); err != nil {
		return ""
	}
	return r.local + "+" + incidentID + "." + r.token(incidentID) + "@" + r.domain
}

// ParseReplyAddress returns the incident id that addr carries, and false
// when addr is not a reply address of ours with a valid token. addr may be a
// bare address or a header form like "Help desk <...>"; case does not
// matter anywhere in it, because mail systems are free to fold the case of
// the local part on the way back to us.
func (r *ReplyAddresses) ParseReplyAddress(addr string) (string, bool) {
	addr = strings.TrimSpace(addr)
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || !strings.EqualFold(addr[at+1:], r.domain) {
		return "", false
	}
	tag, ok := cutPrefixFold(addr[:at], r.local+"+")
	if !ok {
		return "", false
	}
	dot := strings.LastIndexByte(tag, '.')
	if dot < 0 {
		return "", false
	}
	id := strings.ToUpper(tag[:dot])
	if _, err := intake.ParseID(id); err != nil {
		return "", false
	}
	got := strings.ToLower(tag[dot+1:])
	// hmac.Equal compares in constant time, so response timing tells a
	// forger nothing about how many leading characters were right.
	if !hmac.Equal([]byte(got), []byte(r.token(id))) {
		return "", false
	}
	return id, true
}

// ParseMessageID returns the incident a Message-ID of ours belongs to, and
// false for anyone else's or a forged one.
func (r *ReplyAddresses) ParseMessageID(mid string) (string, bool) {
	left, _, ok := strings.Cut(strings.Trim(strings.TrimSpace(mid), "<>"), "@")
	parts := strings.Split(left, ".")
	if !ok || len(parts) < 2 {
		return "", false
	}
	id := strings.ToUpper(parts[0])
	if _, err := intake.ParseID(id); err != nil {
		return "", false
	}
	if !hmac.Equal([]byte(strings.ToLower(parts[len(parts)-1])), []byte(r.token(id))) {
		return "", false
	}
	return id, true
}

func (r *ReplyAddresses) token(incidentID string) string {
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(incidentID))
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil))
	return strings.ToLower(enc[:replyTokenLen])
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}
