// Package replytoken makes and reads the two signed values our mail
// carries: the per-recipient reply address in Reply-To and the Message-ID.
//
// They do different jobs and so carry different values:
//
//   - A reply address, local+INC-000001.<kid>.<token>@domain, is given to
//     one recipient about one incident. Its token is an HMAC of the
//     incident id and the recipient's address (lower-cased), so that a
//     reply sent to it proves possession of a mail we sent to that person
//     about that incident. <kid> names the key that signed it, so that keys
//     can be rotated: the newest key signs, older keys still verify.
//   - A Message-ID, INC-000001.<kind>.<n>.<token>@domain, threads replies
//     and nothing more. Its token is an HMAC of a different input, so a
//     Message-ID (which every References header repeats to everyone on a
//     thread) tells nothing about any reply address.
//
// Before this package, the reply address was local+INC-000001.<token>@...
// with the same token as the Message-IDs. Such "legacy" addresses are still
// recognised, so a late reply to an old mail still threads, but they prove
// nothing: anyone who saw a References header could have built one.
//
// The package does no I/O; it is shared by the sending side (smtpout) and
// the receiving side (inbound).
package replytoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/intakebot/intakebot/intake"
)

// MinKeyBytes is the shortest key accepted: an HMAC-SHA256 key shorter than
// the hash output weakens it for no benefit.
const MinKeyBytes = 32

// tokenLen is how many base32 characters of an HMAC a token keeps: 80 bits,
// far beyond guessing by sending mail, and short enough to keep the address
// readable. kidLen is the length of a key id.
const (
	tokenLen = 16
	kidLen   = 4
)

// Domain-separation prefixes: the same key signs reply addresses and
// Message-IDs, and neither value may be computed from the other.
const (
	replyInput = "intakebot reply-address v2\x00"
	midInput   = "intakebot message-id v2\x00"
	kidInput   = "intakebot reply key id\x00"
)

// Config says which help-desk addresses the reply addresses are built on,
// and which keys sign and verify them.
type Config struct {
	// Addresses are our help-desk addresses ("Help desk <helpdesk@x.test>"
	// or bare); each must be a plain local@domain, since a "+tag" is added to
	// its local part.
	Addresses []string
	// Keys are the secrets, newest first, each at least MinKeyBytes long.
	// The first signs; every one verifies. Bots that share a mailbox must
	// share the keys.
	Keys [][]byte
}

// Tokens makes and checks reply addresses and Message-IDs. It is safe for
// concurrent use (it never changes after New).
type Tokens struct {
	boxes []mailbox
	keys  []key // newest first
}

type mailbox struct{ local, domain string }

type key struct {
	id     string
	secret []byte
}

// New checks cfg and returns the Tokens.
func New(cfg Config) (*Tokens, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("replytoken: no key")
	}
	t := &Tokens{}
	for i, k := range cfg.Keys {
		if len(k) < MinKeyBytes {
			return nil, fmt.Errorf("replytoken: key %d has %d bytes, want at least %d", i+1, len(k), MinKeyBytes)
		}
		t.keys = append(t.keys, key{id: KeyID(k), secret: append([]byte(nil), k...)})
	}
	for _, a := range cfg.Addresses {
		addr, err := mail.ParseAddress(a)
		if err != nil {
			return nil, fmt.Errorf("replytoken: address %q: %w", a, err)
		}
		local, domain, ok := strings.Cut(addr.Address, "@")
		// A quoted or exotic local part would need quoting once we add
		// "+...": the help-desk address is ours to choose, so we ask for a
		// plain one.
		if !ok || !IsDotAtom(local) || !IsDotAtom(domain) {
			return nil, fmt.Errorf("replytoken: address %q must be a plain local@domain", addr.Address)
		}
		t.boxes = append(t.boxes, mailbox{local: local, domain: domain})
	}
	if len(t.boxes) == 0 {
		return nil, errors.New("replytoken: no help-desk address")
	}
	return t, nil
}

// KeyID is the public name of a key: the first characters of a hash of it.
// Derived, not configured, so that every bot sharing a key agrees on it.
func KeyID(secret []byte) string {
	sum := sha256.Sum256(append([]byte(kidInput), secret...))
	return encode(sum[:])[:kidLen]
}

// Serves reports whether address is one of Config.Addresses.
func (t *Tokens) Serves(address string) bool {
	if a, err := mail.ParseAddress(address); err == nil {
		address = a.Address
	}
	for _, b := range t.boxes {
		if strings.EqualFold(b.local+"@"+b.domain, address) {
			return true
		}
	}
	return false
}

// ReplyAddress returns the reply address on the help-desk address mailbox
// (one of Config.Addresses; the first when mailbox is empty or unknown) for
// a mail about incidentID to recipient, signed with the newest key. It
// returns "" when incidentID is not like INC-000123 or recipient is not an
// address.
func (t *Tokens) ReplyAddress(mailbox, incidentID, recipient string) string {
	if _, err := intake.ParseID(incidentID); err != nil {
		return ""
	}
	rcpt := Normalize(recipient)
	if rcpt == "" {
		return ""
	}
	box := t.boxes[0]
	if a, err := mail.ParseAddress(mailbox); err == nil {
		for _, b := range t.boxes {
			if strings.EqualFold(b.local+"@"+b.domain, a.Address) {
				box = b
			}
		}
	}
	k := t.keys[0]
	return box.local + "+" + incidentID + "." + k.id + "." + replyToken(k.secret, incidentID, rcpt) + "@" + box.domain
}

// Reply is a reply address of ours as Parse found it.
type Reply struct {
	// Incident is the incident id the address names.
	Incident string
	// Legacy says the address has the format from before per-recipient
	// tokens, and that its token is valid. It threads, and proves nothing.
	Legacy bool
	kid    string
	token  string
}

// Parse reads a reply address of ours: addr may be bare or a header form
// like "Help desk <...>", and case does not matter anywhere in it, because
// mail systems are free to fold the case of the local part on the way back.
// It returns false when addr is not on one of our help-desk addresses, has
// no incident id, or is a legacy address whose token is wrong. A
// current-format address is returned unverified: its token is bound to a
// recipient, which only the caller knows; see Verify.
func (t *Tokens) Parse(addr string) (Reply, bool) {
	addr = strings.TrimSpace(addr)
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return Reply{}, false
	}
	var tag string
	found := false
	for _, b := range t.boxes {
		if !strings.EqualFold(addr[at+1:], b.domain) {
			continue
		}
		if rest, ok := cutPrefixFold(addr[:at], b.local+"+"); ok {
			tag, found = rest, true
			break
		}
	}
	if !found {
		return Reply{}, false
	}
	parts := strings.Split(tag, ".")
	id := strings.ToUpper(parts[0])
	if _, err := intake.ParseID(id); err != nil {
		return Reply{}, false
	}
	switch len(parts) {
	case 3:
		kid, tok := strings.ToLower(parts[1]), strings.ToLower(parts[2])
		if len(kid) != kidLen || len(tok) != tokenLen {
			return Reply{}, false
		}
		return Reply{Incident: id, kid: kid, token: tok}, true
	case 2:
		got := strings.ToLower(parts[1])
		for _, k := range t.keys {
			// hmac.Equal compares in constant time, so response timing
			// tells a forger nothing about how many characters were right.
			if hmac.Equal([]byte(got), []byte(legacyToken(k.secret, id))) {
				return Reply{Incident: id, Legacy: true}, true
			}
		}
	}
	return Reply{}, false
}

// Verify reports whether r is a current-format reply address that we gave
// to recipient (compared lower-cased) about r.Incident, signed by one of our
// keys. A legacy address never verifies.
func (t *Tokens) Verify(r Reply, recipient string) bool {
	rcpt := Normalize(recipient)
	if r.Legacy || r.token == "" || rcpt == "" {
		return false
	}
	for _, k := range t.keys {
		// Two keys could share an id by chance: each is tried.
		if k.id == r.kid && hmac.Equal([]byte(r.token), []byte(replyToken(k.secret, r.Incident, rcpt))) {
			return true
		}
	}
	return false
}

// MessageID is the Message-ID (without angle brackets) of the mail for the
// outbox message with idempotency key id: "INC-000001:ack:1" becomes
// "INC-000001.ack.1.<token>@domain". It is a pure function of the key so
// that a retry carries the same Message-ID as the attempt it repeats, and
// signed so that a stranger cannot thread a mail into an incident by
// guessing it; its token is useless as a reply token.
func (t *Tokens) MessageID(id, domain string) (string, error) {
	incident, _, _ := strings.Cut(id, ":")
	if _, err := intake.ParseID(incident); err != nil {
		return "", fmt.Errorf("message id %q does not start with an incident id", id)
	}
	left := strings.ReplaceAll(id, ":", ".")
	if !IsDotAtom(left) {
		return "", fmt.Errorf("message id %q cannot form a Message-ID", id)
	}
	if !IsDotAtom(domain) {
		return "", fmt.Errorf("domain %q cannot form a Message-ID", domain)
	}
	return left + "." + midToken(t.keys[0].secret, left) + "@" + domain, nil
}

// ParseMessageID returns the incident a Message-ID of ours belongs to, and
// false for anyone else's or a forged one. Message-IDs made before
// per-recipient tokens (whose token was the incident's old reply token)
// are still accepted, so replies to old mail keep threading.
func (t *Tokens) ParseMessageID(mid string) (string, bool) {
	left, _, ok := strings.Cut(strings.Trim(strings.TrimSpace(mid), "<>"), "@")
	dot := strings.LastIndexByte(left, '.')
	if !ok || dot < 0 {
		return "", false
	}
	body, got := left[:dot], strings.ToLower(left[dot+1:])
	first, _, _ := strings.Cut(body, ".")
	id := strings.ToUpper(first)
	if _, err := intake.ParseID(id); err != nil {
		return "", false
	}
	for _, k := range t.keys {
		if hmac.Equal([]byte(got), []byte(midToken(k.secret, body))) ||
			hmac.Equal([]byte(got), []byte(legacyToken(k.secret, id))) {
			return id, true
		}
	}
	return "", false
}

// Normalize is the form of a recipient address a token binds: the bare
// address, lower-cased; "" when s holds no address.
func Normalize(s string) string {
	s = strings.TrimSpace(s)
	if a, err := mail.ParseAddress(s); err == nil {
		s = a.Address
	}
	if !strings.Contains(s, "@") || strings.ContainsAny(s, " \t\r\n<>") {
		return ""
	}
	return strings.ToLower(s)
}

func replyToken(secret []byte, incidentID, recipient string) string {
	return sign(secret, replyInput+incidentID+"\x00"+recipient)
}

func midToken(secret []byte, left string) string {
	return sign(secret, midInput+strings.ToLower(left))
}

// legacyToken is the token of the old format, an HMAC of the incident id
// alone; it is only ever checked, never issued.
func legacyToken(secret []byte, incidentID string) string {
	return sign(secret, incidentID)
}

func sign(secret []byte, input string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return encode(m.Sum(nil))[:tokenLen]
}

func encode(b []byte) string {
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

// IsDotAtom reports whether s is an RFC 5322 dot-atom of letters, digits
// and "-_": safe in a Message-ID and in an address without quoting.
func IsDotAtom(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}
