package surveylink_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/surveylink"
)

// clock is a test clock that moves only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)} }

var testKey = []byte("0123456789abcdef0123456789abcdef")

func newSigner(t testing.TB, c *clock) *surveylink.Signer {
	t.Helper()
	s, err := surveylink.NewSigner(testKey, 0, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSignVerifyRoundTrip(t *testing.T) {
	c := newClock()
	s := newSigner(t, c)
	for _, step := range []string{surveylink.StepValidation, surveylink.StepSatisfaction} {
		tok, err := s.Sign("INC-000123", step, 7)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(tok, "+/=%") || len(tok) > 120 {
			t.Fatalf("token %q is not compact base64url", tok)
		}
		got, err := s.Verify(tok)
		if err != nil {
			t.Fatal(err)
		}
		if got.IncidentID != "INC-000123" || got.Step != step || !got.IssuedAt.Equal(c.Now()) ||
			!got.Expires.Equal(c.Now().Add(surveylink.DefaultTTL)) || len(got.Nonce) != 32 || got.Round != 7 {
			t.Fatalf("claims %+v", got)
		}
	}
	a, _ := s.Sign("INC-000123", surveylink.StepValidation, 7)
	b, _ := s.Sign("INC-000123", surveylink.StepValidation, 7)
	ca, _ := s.Verify(a)
	cb, _ := s.Verify(b)
	if a == b || ca.Nonce == cb.Nonce {
		t.Fatal("two links for the same question share a nonce")
	}
}

func TestExpiry(t *testing.T) {
	c := newClock()
	s, err := surveylink.NewSigner(testKey, time.Hour, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := s.Sign("INC-000001", surveylink.StepSatisfaction, 7)
	c.Add(time.Hour - time.Second)
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("a second before expiry: %v", err)
	}
	c.Add(time.Second)
	got, err := s.Verify(tok)
	if !errors.Is(err, surveylink.ErrExpired) {
		t.Fatalf("at expiry: %v, want ErrExpired", err)
	}
	// Authentic but stale: the claims come back so the page can be worded
	// in the reporter's language.
	if got.IncidentID != "INC-000001" || got.Step != surveylink.StepSatisfaction {
		t.Fatalf("expired claims %+v", got)
	}
}

func TestForgedAndMalformedTokens(t *testing.T) {
	c := newClock()
	s := newSigner(t, c)
	tok, _ := s.Sign("INC-000123", surveylink.StepValidation, 7)
	other, _ := surveylink.NewSigner([]byte(strings.Repeat("k", 32)), 0, c.Now)
	otherTok, _ := other.Sign("INC-000123", surveylink.StepValidation, 7)

	bad := map[string]string{
		"empty":         "",
		"garbage":       "hello",
		"padding":       tok + "==",
		"std alphabet":  strings.NewReplacer("-", "+", "_", "/").Replace(tok) + "+/",
		"truncated":     tok[:len(tok)-1],
		"extended":      tok + "A",
		"other key":     otherTok,
		"huge":          strings.Repeat("A", 1<<20),
		"header only":   base64.RawURLEncoding.EncodeToString(make([]byte, 40)),
		"path in token": tok[:10] + "/" + tok[11:],
		// The base64 decoder skips line breaks; a link must not.
		"CR inside": tok[:20] + "\r" + tok[20:],
		"LF at end": tok + "\n",
		"space":     tok[:20] + " " + tok[20:],
	}
	// Every single-character change anywhere in the token is a forgery.
	for i := range tok {
		repl := byte('A')
		if tok[i] == 'A' {
			repl = 'B'
		}
		bad[fmt.Sprintf("char %d changed", i)] = tok[:i] + string(repl) + tok[i+1:]
	}
	for name, b := range bad {
		got, err := s.Verify(b)
		if !errors.Is(err, surveylink.ErrInvalidToken) || got != (surveylink.Claims{}) {
			t.Errorf("%s: %+v %v, want ErrInvalidToken and no claims", name, got, err)
		}
	}
}

// TestTokenBindsIncidentAndStep edits the signed fields of a real token
// and re-encodes it: the MAC no longer matches.
func TestTokenBindsIncidentAndStep(t *testing.T) {
	s := newSigner(t, newClock())
	tok, _ := s.Sign("INC-000123", surveylink.StepValidation, 7)
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) string {
		b := append([]byte(nil), raw...)
		return base64.RawURLEncoding.EncodeToString(f(b))
	}
	for name, forged := range map[string]string{
		"other incident": edit(func(b []byte) []byte { return []byte(strings.Replace(string(b), "INC-000123", "INC-000124", 1)) }),
		"other step":     edit(func(b []byte) []byte { b[1] = 's'; return b }),
		"later expiry":   edit(func(b []byte) []byte { b[10]++; return b }),
	} {
		if _, err := s.Verify(forged); !errors.Is(err, surveylink.ErrInvalidToken) {
			t.Errorf("%s: %v, want ErrInvalidToken", name, err)
		}
	}
}

func TestSignerInputs(t *testing.T) {
	if _, err := surveylink.NewSigner(testKey[:31], 0, nil); err == nil {
		t.Fatal("a 31-byte key was accepted")
	}
	s, err := surveylink.NewSigner(testKey, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, step string }{
		{"INC-000001", "review"}, {"", surveylink.StepValidation}, {strings.Repeat("9", 65), surveylink.StepValidation},
		{"INC 1", surveylink.StepValidation}, {"INC/1", surveylink.StepValidation}, {"INC-ñ", surveylink.StepValidation},
	} {
		if _, err := s.Sign(c.id, c.step, 7); err == nil {
			t.Errorf("Sign(%q, %q) succeeded", c.id, c.step)
		}
	}
	// A link answers one numbered round: there is no round 0.
	for _, round := range []int64{0, -1} {
		if _, err := s.Sign("INC-000001", surveylink.StepValidation, round); err == nil {
			t.Errorf("Sign with round %d succeeded", round)
		}
	}
	// The signer keeps its own copy of the key.
	key := append([]byte(nil), testKey...)
	s, _ = surveylink.NewSigner(key, 0, nil)
	tok, _ := s.Sign("INC-000001", surveylink.StepValidation, 7)
	key[0] ^= 1
	if _, err := s.Verify(tok); err != nil {
		t.Fatalf("changing the caller's buffer changed the key: %v", err)
	}
}

func TestURL(t *testing.T) {
	for _, base := range []string{"https://help.example.test", "https://help.example.test/"} {
		if got := surveylink.URL(base, "abc-_1"); got != "https://help.example.test/s/abc-_1" {
			t.Errorf("URL(%q) = %q", base, got)
		}
	}
}

// FuzzVerify checks that Verify never panics, returns only its typed
// errors, and accepts nothing but genuine tokens. Fuzzing runs in several
// processes, each minting its own seed tokens (fresh nonces), so "genuine"
// is stated without a list: an accepted token names a seeded incident and
// step with the signer's own times, and is in canonical encoding, since a
// fuzzer can neither find a MAC nor a second spelling of a real token. Its
// round is the seeds' 7, or none: the corpus (testdata/fuzz) keeps a
// genuine roundless token from before links carried a round, minted with
// the same key and clock, which a mutation may restore to its canonical
// spelling.
func FuzzVerify(f *testing.F) {
	c := newClock()
	s := newSigner(f, c)
	ids := map[string]bool{"INC-000001": true, "INC-123456789": true}
	for id := range ids {
		for _, step := range []string{surveylink.StepValidation, surveylink.StepSatisfaction} {
			tok, err := s.Sign(id, step, 7)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(tok)
			f.Add(tok[:len(tok)-2])
			f.Add(tok + "A")
		}
	}
	for _, seed := range []string{"", "A", "====", "\x00\xff", strings.Repeat("_", 200)} {
		f.Add(seed)
	}
	// A token reaches Verify from a link in a mail, and mail mangles links:
	// quoted-printable soft breaks, a closing bracket or full stop taken
	// into the link, percent-encoding, a line break where a client wrapped.
	tok, err := s.Sign("INC-000001", surveylink.StepSatisfaction, 7)
	if err != nil {
		f.Fatal(err)
	}
	half := len(tok) / 2
	for _, mangled := range []string{
		tok[:half] + "=\r\n" + tok[half:], tok[:half] + "\r\n" + tok[half:], tok[:half] + "\n" + tok[half:],
		tok + ">", tok + ".", tok + ")", " " + tok, tok + "\r\n", "<" + tok + ">",
		url.PathEscape(tok + "="), strings.ToUpper(tok), strings.ReplaceAll(tok, "_", "/"), strings.ReplaceAll(tok, "-", "+"),
	} {
		f.Add(mangled)
	}
	// Another deployment's key mints the same claims under the same clock:
	// those tokens must never pass, so they are seeded and checked by name.
	other, err := surveylink.NewSigner([]byte("fedcba9876543210fedcba9876543210"), 0, c.Now)
	if err != nil {
		f.Fatal(err)
	}
	foreign := map[string]bool{}
	for id := range ids {
		tok, err := other.Sign(id, surveylink.StepValidation, 7)
		if err != nil {
			f.Fatal(err)
		}
		foreign[tok] = true
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		got, err := s.Verify(tok)
		switch {
		case err == nil && foreign[tok]:
			t.Fatalf("accepted a token signed with another key: %q", tok)
		case err == nil:
			raw, derr := base64.RawURLEncoding.DecodeString(tok)
			if derr != nil || base64.RawURLEncoding.EncodeToString(raw) != tok || !ids[got.IncidentID] ||
				!got.IssuedAt.Equal(c.Now()) || !got.Expires.Equal(c.Now().Add(surveylink.DefaultTTL)) || (got.Round != 7 && got.Round != 0) {
				t.Fatalf("accepted a token we never issued: %q -> %+v", tok, got)
			}
		case errors.Is(err, surveylink.ErrInvalidToken):
			if got != (surveylink.Claims{}) {
				t.Fatalf("claims %+v with an invalid token", got)
			}
		case errors.Is(err, surveylink.ErrExpired):
			t.Fatalf("expired under a clock that does not move: %q", tok)
		default:
			t.Fatalf("untyped error %v", err)
		}
	})
}

// A link signed before links carried a round (version 1) is still
// authentic: it verifies with round 0, which answers no round, so that its
// page can say the question was replaced rather than call it forged.
func TestRoundlessLinkVerifiesWithRoundZero(t *testing.T) {
	c := newClock()
	s := newSigner(t, c)
	tok := surveylink.RoundlessToken(testKey, "INC-000123", surveylink.StepValidation, c.Now(), c.Now().Add(time.Hour))
	got, err := s.Verify(tok)
	if err != nil || got.IncidentID != "INC-000123" || got.Step != surveylink.StepValidation || got.Round != 0 {
		t.Fatalf("claims %+v, err %v", got, err)
	}
	// Signed with another key, it is forged like any other.
	forged := surveylink.RoundlessToken([]byte("fedcba9876543210fedcba9876543210"), "INC-000123", surveylink.StepValidation, c.Now(), c.Now().Add(time.Hour))
	if _, err := s.Verify(forged); !errors.Is(err, surveylink.ErrInvalidToken) {
		t.Fatalf("a round-less token under another key: %v", err)
	}
}
