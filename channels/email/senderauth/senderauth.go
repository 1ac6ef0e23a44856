// Package senderauth decides whether a mail's From domain is authenticated:
// by the Authentication-Results header fields (RFC 8601) that a receiving
// server we trust added, and optionally by verifying DKIM signatures here.
//
// Which Authentication-Results count: only those at the top of the header,
// each with an authserv-id listed as trusted, down to the first that is not
// (or does not parse). Servers prepend their fields, so everything below
// that point may have been written by the sender. This relies on what RFC
// 8601 section 5 asks of the trusted server: it removes (or renames) fields
// carrying its own authserv-id from the mail it receives. Postfix with
// OpenDMARC/OpenDKIM, Microsoft 365 and Gmail do.
//
// What authenticates: dmarc=pass whose header.from is the From domain,
// dkim=pass whose header.d (or the domain of header.i) is aligned with the
// From domain, or (when accepted) auth=pass whose smtp.auth is the From
// address itself: the sender logged in to the trusted server as that very
// mailbox (RFC 8601 section 2.7.4), which is how a server that the
// reporters submit their own mail to vouches for them. Alignment is DMARC's relaxed mode (RFC 7489 section 3.1.1):
// both have the same organisational domain, found with the public suffix
// list, so a signature by mail.example.com counts for ana@example.com and
// one by example.co.uk does not count for ana@other.co.uk. When trusted
// fields disagree about DMARC (one fail, one pass), fail wins.
//
// Not covered: a DKIM signature replayed from an older mail of the same
// domain (DKIM cannot tell), and a trusted server that does not remove
// forged fields with its own authserv-id.
package senderauth

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/emersion/go-msgauth/dkim"
	"golang.org/x/net/publicsuffix"
)

// Methods that may authenticate, for Config.Accept.
const (
	MethodDMARC = "dmarc"
	MethodDKIM  = "dkim"
	MethodAuth  = "auth"
)

// maxSignatures bounds the DKIM signatures verified per mail (each costs a
// DNS query and an RSA or ed25519 verification).
const maxSignatures = 5

// TXTResolver looks up DNS TXT records (DKIM public keys). net.Resolver has
// this method.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Config says whom to trust and what to accept.
type Config struct {
	// TrustedAuthServIDs are the authserv-ids of the receiving servers whose
	// Authentication-Results count (compared ignoring case). Empty: none do.
	TrustedAuthServIDs []string
	// Accept are the methods that authenticate: "dmarc", "dkim", "auth".
	Accept []string
	// VerifyDKIM verifies DKIM signatures here as well, through Resolver;
	// it counts as "dkim" and only when Accept has it.
	VerifyDKIM bool
	// Resolver answers the DNS queries of VerifyDKIM; net.DefaultResolver
	// when nil.
	Resolver TXTResolver
}

// Checker judges mails. It is safe for concurrent use.
type Checker struct {
	trusted    []string
	accept     []string
	verifyDKIM bool
	resolver   TXTResolver
}

// New checks cfg and returns a Checker.
func New(cfg Config) (*Checker, error) {
	c := &Checker{verifyDKIM: cfg.VerifyDKIM, resolver: cfg.Resolver}
	for _, m := range cfg.Accept {
		m = strings.ToLower(strings.TrimSpace(m))
		if m != MethodDMARC && m != MethodDKIM && m != MethodAuth {
			return nil, fmt.Errorf("senderauth: accept %q: want dmarc, dkim or auth", m)
		}
		c.accept = append(c.accept, m)
	}
	for _, id := range cfg.TrustedAuthServIDs {
		id = strings.TrimSpace(id)
		if id == "" || strings.ContainsAny(id, " \t;()\"") {
			return nil, fmt.Errorf("senderauth: trusted authserv-id %q is not a single word", id)
		}
		c.trusted = append(c.trusted, strings.ToLower(id))
	}
	if c.resolver == nil {
		c.resolver = net.DefaultResolver
	}
	return c, nil
}

// Mail is what a verdict needs of a mail.
type Mail struct {
	// From is the From address.
	From string
	// AuthResults are the values of the Authentication-Results fields,
	// topmost first.
	AuthResults []string
	// Raw is the whole mail, for VerifyDKIM.
	Raw []byte
}

// Verdict says whether the From domain is authenticated, and how or why not.
type Verdict struct {
	Authenticated bool
	// Method is the method that authenticated ("dmarc" or "dkim").
	Method string
	// Reason says, for people, what was found.
	Reason string
}

// Check judges m. It never fails: a mail it cannot judge is not
// authenticated, and Reason says why.
func (c *Checker) Check(ctx context.Context, m Mail) Verdict {
	address := strings.ToLower(strings.TrimSpace(m.From))
	_, from, _ := strings.Cut(address, "@")
	from = strings.TrimSuffix(from, ".")
	if from == "" {
		return Verdict{Reason: "no From domain"}
	}
	trusted := c.Trusted(m.AuthResults)
	var reasons []string
	if c.accepts(MethodAuth) {
		if ok, why := authPass(trusted, address); ok {
			return Verdict{Authenticated: true, Method: MethodAuth, Reason: why}
		} else {
			reasons = append(reasons, why)
		}
	}
	if c.accepts(MethodDMARC) {
		if ok, why := dmarcPass(trusted, from); ok {
			return Verdict{Authenticated: true, Method: MethodDMARC, Reason: why}
		} else {
			reasons = append(reasons, why)
		}
	}
	if c.accepts(MethodDKIM) {
		if ok, why := dkimPass(trusted, from); ok {
			return Verdict{Authenticated: true, Method: MethodDKIM, Reason: why}
		} else {
			reasons = append(reasons, why)
		}
		if c.verifyDKIM {
			if ok, why := c.verify(ctx, m.Raw, from); ok {
				return Verdict{Authenticated: true, Method: MethodDKIM, Reason: why}
			} else {
				reasons = append(reasons, why)
			}
		}
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "no method accepted")
	}
	return Verdict{Reason: strings.Join(reasons, "; ")}
}

func (c *Checker) accepts(method string) bool { return slices.Contains(c.accept, method) }

// Trusted returns the parsed Authentication-Results that count: the
// topmost ones with a trusted authserv-id, down to the first field that is
// not trusted or does not parse.
func (c *Checker) Trusted(values []string) []Results {
	var out []Results
	for _, v := range values {
		r, err := ParseResults(v)
		if err != nil || !slices.Contains(c.trusted, strings.ToLower(r.AuthServID)) {
			break
		}
		out = append(out, r)
	}
	return out
}

func dmarcPass(trusted []Results, from string) (bool, string) {
	pass, seen := false, false
	for _, r := range trusted {
		for _, m := range r.Methods {
			if m.Name != MethodDMARC {
				continue
			}
			if hf := m.Prop("header.from"); hf != "" && !strings.EqualFold(hf, from) {
				continue // about another From (a second From field, say)
			}
			seen = true
			if m.Result != "pass" {
				return false, "dmarc=" + m.Result + " from " + r.AuthServID
			}
			if m.Prop("header.from") != "" {
				pass = true
			}
		}
	}
	switch {
	case pass:
		return true, "dmarc=pass for " + from
	case seen:
		return false, "dmarc=pass without header.from"
	}
	return false, "no trusted dmarc result"
}

func authPass(trusted []Results, address string) (bool, string) {
	for _, r := range trusted {
		for _, m := range r.Methods {
			if m.Name == MethodAuth && m.Result == "pass" && strings.EqualFold(m.Prop("smtp.auth"), address) {
				return true, "auth=pass as " + address + " at " + r.AuthServID
			}
		}
	}
	return false, "no trusted auth=pass as " + address
}

func dkimPass(trusted []Results, from string) (bool, string) {
	var unaligned []string
	for _, r := range trusted {
		for _, m := range r.Methods {
			if m.Name != MethodDKIM || m.Result != "pass" {
				continue
			}
			d := m.Prop("header.d")
			if d == "" {
				_, d, _ = strings.Cut(m.Prop("header.i"), "@")
			}
			if Aligned(d, from) {
				return true, "dkim=pass for " + d
			}
			unaligned = append(unaligned, d)
		}
	}
	if len(unaligned) > 0 {
		return false, "dkim=pass for " + strings.Join(unaligned, ", ") + ", not aligned with " + from
	}
	return false, "no trusted dkim=pass"
}

// verify checks the DKIM signatures of raw here.
func (c *Checker) verify(ctx context.Context, raw []byte, from string) (bool, string) {
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(raw), &dkim.VerifyOptions{
		LookupTXT:        func(name string) ([]string, error) { return c.resolver.LookupTXT(ctx, name) },
		MaxVerifications: maxSignatures,
	})
	if err != nil && len(verifs) == 0 {
		return false, "dkim verification: " + err.Error()
	}
	if len(verifs) == 0 {
		return false, "no DKIM signature"
	}
	var why []string
	for _, v := range verifs {
		switch {
		case v.Err != nil:
			why = append(why, "d="+v.Domain+": "+v.Err.Error())
		case !Aligned(v.Domain, from):
			why = append(why, "d="+v.Domain+" not aligned with "+from)
		default:
			return true, "dkim verified for " + v.Domain
		}
	}
	return false, "dkim verification: " + strings.Join(why, "; ")
}

// Aligned reports whether domain d is aligned with the From domain in
// DMARC's relaxed mode: the same organisational domain.
func Aligned(d, from string) bool {
	d = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(d), "."))
	from = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(from), "."))
	if d == "" || from == "" {
		return false
	}
	if d == from {
		return true
	}
	od, err1 := publicsuffix.EffectiveTLDPlusOne(d)
	of, err2 := publicsuffix.EffectiveTLDPlusOne(from)
	// A public suffix itself (or an address literal) has no organisational
	// domain: only an exact match counts then.
	return err1 == nil && err2 == nil && od == of
}
