package senderauth

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
)

func newChecker(t *testing.T, cfg Config) *Checker {
	t.Helper()
	if cfg.TrustedAuthServIDs == nil {
		cfg.TrustedAuthServIDs = []string{"mx.example.org", "MX2.example.org"}
	}
	if cfg.Accept == nil {
		cfg.Accept = []string{MethodDMARC, MethodDKIM}
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		name   string
		accept []string
		from   string
		ars    []string // topmost first
		ok     bool
		method string
	}{
		{"no Authentication-Results", nil, "example.com", nil, false, ""},
		{"dmarc=pass by a trusted server", nil, "example.com", []string{"mx.example.org; dmarc=pass header.from=example.com"}, true, "dmarc"},
		{"trusted id in another case", nil, "example.com", []string{"Mx2.Example.Org; dmarc=pass header.from=EXAMPLE.com"}, true, "dmarc"},
		{"dmarc=fail", nil, "example.com", []string{opendmarcAR}, false, ""},
		{"dmarc=pass for another From domain", nil, "example.com", []string{"mx.example.org; dmarc=pass header.from=evil.test"}, false, ""},
		{"dmarc=pass without header.from", nil, "example.com", []string{"mx.example.org; dmarc=pass"}, false, ""},
		{"dmarc=pass by an untrusted server", nil, "example.com", []string{"mx.evil.test; dmarc=pass header.from=example.com"}, false, ""},
		{"dmarc=pass by the sender's own server (Gmail, not trusted)", nil, "example.com", []string{gmailAR}, false, ""},
		{"forged below an untrusted field", nil, "example.com", []string{
			"mx.evil.test; none", "mx.example.org; dmarc=pass header.from=example.com"}, false, ""},
		{"forged trusted pass below the trusted fail: fail wins", nil, "example.com", []string{
			opendmarcAR, "mx.example.org; dmarc=pass header.from=example.com"}, false, ""},
		{"trusted pass below a trusted neutral field", nil, "example.com", []string{
			"mx.example.org; spf=pass smtp.mailfrom=example.com", "mx2.example.org; dmarc=pass header.from=example.com"}, true, "dmarc"},
		{"forged below a malformed field", nil, "example.com", []string{
			"mx.example.org; dkim=(", "mx.example.org; dmarc=pass header.from=example.com"}, false, ""},
		{"dkim=pass aligned exactly", nil, "example.com", []string{"mx.example.org; dkim=pass header.d=example.com"}, true, "dkim"},
		{"dkim=pass by a subdomain (relaxed)", nil, "example.com", []string{opendkimAR, "mx.example.org; dkim=pass header.d=mail.example.com"}, true, "dkim"},
		{"dkim=pass for the parent of a subdomain From", nil, "eu.example.com", []string{"mx.example.org; dkim=pass header.d=example.com"}, true, "dkim"},
		{"dkim=pass by header.i only", nil, "example.com", []string{"mx.example.org; dkim=pass header.i=@example.com"}, true, "dkim"},
		{"dkim=pass unaligned", nil, "example.com", []string{"mx.example.org; dkim=pass header.d=mailer.test"}, false, ""},
		{"dkim=pass by a sibling under a public suffix", nil, "ana.co.uk", []string{"mx.example.org; dkim=pass header.d=eve.co.uk"}, false, ""},
		{"dkim=fail", nil, "example.com", []string{"mx.example.org; dkim=fail header.d=example.com"}, false, ""},
		{"dkim not accepted", []string{MethodDMARC}, "example.com", []string{"mx.example.org; dkim=pass header.d=example.com"}, false, ""},
		{"dmarc not accepted", []string{MethodDKIM}, "example.com", []string{"mx.example.org; dmarc=pass header.from=example.com"}, false, ""},
		{"no From domain", nil, "", []string{"mx.example.org; dmarc=pass header.from=example.com"}, false, ""},
		{"auth=pass as the From address", []string{MethodAuth}, "example.com", []string{"mx.example.org; auth=pass smtp.auth=ana@example.com"}, true, "auth"},
		{"auth=pass as another mailbox", []string{MethodAuth}, "example.com", []string{"mx.example.org; auth=pass smtp.auth=eve@example.com"}, false, ""},
		{"auth=pass not accepted (default)", nil, "example.com", []string{"mx.example.org; auth=pass smtp.auth=ana@example.com"}, false, ""},
		{"auth=pass by an untrusted server", []string{MethodAuth}, "example.com", []string{"mx.evil.test; auth=pass smtp.auth=ana@example.com"}, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newChecker(t, Config{Accept: tc.accept})
			from := ""
			if tc.from != "" {
				from = "Ana@" + tc.from
			}
			v := c.Check(context.Background(), Mail{From: from, AuthResults: tc.ars})
			if v.Authenticated != tc.ok || v.Method != tc.method || v.Reason == "" {
				t.Errorf("Check = %+v, want authenticated=%v method %q and a reason", v, tc.ok, tc.method)
			}
		})
	}
}

func TestNoTrustedServerTrustsNothing(t *testing.T) {
	c, err := New(Config{Accept: []string{MethodDMARC, MethodDKIM}})
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Check(context.Background(), Mail{From: "ana@example.com", AuthResults: []string{"mx.example.org; dmarc=pass header.from=example.com"}}); v.Authenticated {
		t.Fatalf("authenticated with no trusted server: %+v", v)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"unknown method":    {Accept: []string{"spf"}},
		"arc":               {Accept: []string{"arc"}},
		"empty authserv-id": {TrustedAuthServIDs: []string{""}},
		"two words":         {TrustedAuthServIDs: []string{"mx.example.org mx2"}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestAligned(t *testing.T) {
	for _, tc := range []struct {
		d, from string
		ok      bool
	}{
		{"example.com", "example.com", true},
		{"Example.COM.", "example.com", true},
		{"mail.example.com", "example.com", true},
		{"example.com", "eu.example.com", true},
		{"example.com", "example.org", false},
		{"badexample.com", "example.com", false},
		{"com", "example.com", false},
		{"example.co.uk", "other.co.uk", false},
		{"a.example.co.uk", "b.example.co.uk", true},
		{"", "example.com", false},
	} {
		if got := Aligned(tc.d, tc.from); got != tc.ok {
			t.Errorf("Aligned(%q, %q) = %v", tc.d, tc.from, got)
		}
	}
}

// dns is a zone of TXT records: no real DNS can hold the test's keys.
type dns map[string]string

func (z dns) LookupTXT(_ context.Context, name string) ([]string, error) {
	if v, ok := z[name]; ok {
		return []string{v}, nil
	}
	return nil, errors.New("no such record: " + name)
}

const dkimMail = "From: Ana <ana@example.com>\r\nTo: helpdesk@example.test\r\nSubject: Re: [INC-000001] yes\r\n" +
	"Message-ID: <a1@example.com>\r\n\r\nYes, it works now.\r\n"

// sign signs mail with a key of its own for domain and publishes the key.
func sign(t *testing.T, zone dns, domain, selector string, signer crypto.Signer, mail string) string {
	t.Helper()
	var pub, algo string
	switch k := signer.Public().(type) {
	case *rsa.PublicKey:
		der, err := x509.MarshalPKIXPublicKey(k)
		if err != nil {
			t.Fatal(err)
		}
		pub, algo = base64.StdEncoding.EncodeToString(der), "rsa"
	case ed25519.PublicKey:
		pub, algo = base64.StdEncoding.EncodeToString(k), "ed25519"
	}
	zone[selector+"._domainkey."+domain] = "v=DKIM1; k=" + algo + "; p=" + pub
	var out bytes.Buffer
	if err := dkim.Sign(&out, strings.NewReader(mail), &dkim.SignOptions{Domain: domain, Selector: selector, Signer: signer}); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestVerifyDKIM(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	zone := dns{}
	c := newChecker(t, Config{VerifyDKIM: true, Resolver: zone})
	check := func(raw string) Verdict {
		return c.Check(context.Background(), Mail{From: "ana@example.com", Raw: []byte(raw)})
	}

	for name, raw := range map[string]string{
		"rsa":                 sign(t, zone, "example.com", "r1", rsaKey, dkimMail),
		"ed25519":             sign(t, zone, "example.com", "e1", edKey, dkimMail),
		"aligned subdomain":   sign(t, zone, "mail.example.com", "r1", rsaKey, dkimMail),
		"bad one, good other": sign(t, zone, "example.com", "e1", edKey, sign(t, zone, "mailer.test", "x", rsaKey, dkimMail)),
	} {
		if v := check(raw); !v.Authenticated || v.Method != MethodDKIM {
			t.Errorf("%s: %+v", name, v)
		}
	}

	good := sign(t, zone, "example.com", "r1", rsaKey, dkimMail)
	for name, raw := range map[string]string{
		"no signature":  dkimMail,
		"unaligned":     sign(t, zone, "mailer.test", "r1", rsaKey, dkimMail),
		"body changed":  strings.Replace(good, "Yes, it works now.", "No, it is broken.", 1),
		"From changed":  strings.Replace(good, "ana@example.com", "boss@example.com", 1),
		"unknown key":   strings.Replace(good, "s=r1", "s=gone", 1),
		"not even mail": "garbage",
	} {
		if v := check(raw); v.Authenticated || v.Reason == "" {
			t.Errorf("%s: %+v", name, v)
		}
	}

	off := newChecker(t, Config{Resolver: zone})
	if v := off.Check(context.Background(), Mail{From: "ana@example.com", Raw: []byte(good)}); v.Authenticated {
		t.Errorf("verified with verify_dkim off: %+v", v)
	}
	dmarcOnly := newChecker(t, Config{VerifyDKIM: true, Resolver: zone, Accept: []string{MethodDMARC}})
	if v := dmarcOnly.Check(context.Background(), Mail{From: "ana@example.com", Raw: []byte(good)}); v.Authenticated {
		t.Errorf("verified with dkim not accepted: %+v", v)
	}
}
