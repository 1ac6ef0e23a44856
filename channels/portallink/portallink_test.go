package portallink

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func tokenOf(t *testing.T, link, prefix string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	tok, ok := strings.CutPrefix(u.Path, prefix)
	if !ok || u.Scheme != "https" || u.Host != "desk.example" {
		t.Fatalf("link %s: want https://desk.example%s…", link, prefix)
	}
	return tok
}

func TestLinksCarryTheirPurposeAddressAndIncident(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	s, err := New(bytes.Repeat([]byte{7}, 32), "https://desk.example/", func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	in, err := s.SignInURL("ana@example.test")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Verify(tokenOf(t, in, "/portal/login/"))
	if err != nil || c.Purpose != SignIn || c.Email != "ana@example.test" || c.IncidentID != "" || !c.Expires.Equal(now.Add(SignInTTL)) || len(c.Nonce) != 32 {
		t.Fatalf("sign-in claims %+v, %v", c, err)
	}
	inc, err := s.Incident("INC-000042", "ana@example.test")
	if err != nil {
		t.Fatal(err)
	}
	c, err = s.Verify(tokenOf(t, inc, "/portal/i/"))
	if err != nil || c.Purpose != Incident || c.IncidentID != "INC-000042" || !c.Expires.Equal(now.Add(IncidentTTL)) {
		t.Fatalf("incident claims %+v, %v", c, err)
	}
	if s.PortalURL() != "https://desk.example/portal/" {
		t.Fatal(s.PortalURL())
	}
	// Two links for the same address differ (fresh nonces).
	again, _ := s.SignInURL("ana@example.test")
	if again == in {
		t.Fatal("two sign-in links are the same")
	}
}

func TestExpiredForgedAndOtherKeysAreRefused(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	s, _ := New(bytes.Repeat([]byte{7}, 32), "https://desk.example", clock)
	link, _ := s.SignInURL("ana@example.test")
	tok := tokenOf(t, link, "/portal/login/")

	now = now.Add(SignInTTL)
	if c, err := s.Verify(tok); !errors.Is(err, ErrExpired) || c.Email != "ana@example.test" {
		t.Fatalf("expired: %+v %v", c, err)
	}
	now = now.Add(-time.Minute)
	other, _ := New(bytes.Repeat([]byte{8}, 32), "https://desk.example", clock)
	if _, err := other.Verify(tok); !errors.Is(err, ErrInvalid) {
		t.Fatalf("another key's link: %v", err)
	}
	flipped := []byte(tok)
	flipped[20] ^= 1
	for _, bad := range []string{"", "x", tok + "A", string(flipped), tok[:len(tok)-1], "a/b", strings.Repeat("A", 2000)} {
		if _, err := s.Verify(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Verify(%.30q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestBadInputIsAnError(t *testing.T) {
	if _, err := New(make([]byte, 31), "https://x", nil); err == nil {
		t.Error("a short key was accepted")
	}
	s, _ := New(make([]byte, 32), "https://x", nil)
	for _, email := range []string{"", "not an address", "a@b\x00c", strings.Repeat("a", 250) + "@b.test"} {
		if _, err := s.SignInURL(email); err == nil {
			t.Errorf("SignInURL(%q) worked", email)
		}
	}
	if _, err := s.Incident("", "ana@example.test"); err == nil {
		t.Error("an incident link without an incident")
	}
}
