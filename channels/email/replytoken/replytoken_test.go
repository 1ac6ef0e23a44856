package replytoken

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"testing"
)

var (
	oldKey = []byte("the key we used last year, 32+ bytes long")
	newKey = []byte("0123456789abcdef0123456789abcdef")
)

func newTokens(t testing.TB, keys ...[]byte) *Tokens {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{newKey}
	}
	tk, err := New(Config{Addresses: []string{"Help desk <helpdesk@example.test>", "soporte@example.test"}, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// oldFormat builds what the bot issued before per-recipient tokens: the
// same HMAC of the incident id in the reply address and the Message-IDs.
func oldFormat(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(m.Sum(nil))[:16])
}

func TestReplyAddressFormat(t *testing.T) {
	tk := newTokens(t)
	addr := tk.ReplyAddress("", "INC-000001", "Ana <Ana@Example.test>")
	local, domain, _ := strings.Cut(addr, "@")
	parts := strings.Split(strings.TrimPrefix(local, "helpdesk+"), ".")
	if !strings.HasPrefix(local, "helpdesk+INC-000001.") || domain != "example.test" || len(parts) != 3 ||
		parts[1] != KeyID(newKey) || len(parts[2]) != 16 || parts[2] != strings.ToLower(parts[2]) {
		t.Fatalf("ReplyAddress = %q, want helpdesk+INC-000001.<kid>.<16 lower-case base32>@example.test", addr)
	}
	if again := tk.ReplyAddress("", "INC-000001", "ana@example.test"); again != addr {
		t.Errorf("the recipient's case or display name changed the address: %q then %q", addr, again)
	}
	if other := tk.ReplyAddress("", "INC-000002", "ana@example.test"); other == addr {
		t.Error("two incidents share a reply address")
	}
	if other := tk.ReplyAddress("", "INC-000001", "carlos@example.test"); other == addr {
		t.Error("two recipients share a reply address")
	}
	if got := tk.ReplyAddress("Soporte <SOPORTE@example.test>", "INC-000001", "ana@example.test"); !strings.HasPrefix(got, "soporte+INC-000001.") {
		t.Errorf("on the second mailbox: %q", got)
	}
	for _, bad := range [][2]string{{"", "ana@example.test"}, {"INC-1", "ana@example.test"}, {"inc-000001", "ana@example.test"},
		{"INC-000001\r\nBcc: x", "ana@example.test"}, {"INC-000001", ""}, {"INC-000001", "not an address"}} {
		if got := tk.ReplyAddress("", bad[0], bad[1]); got != "" {
			t.Errorf("ReplyAddress(%q, %q) = %q, want empty", bad[0], bad[1], got)
		}
	}
}

func TestParseAndVerify(t *testing.T) {
	tk := newTokens(t)
	addr := tk.ReplyAddress("", "INC-000042", "ana@example.test")
	local, domain, _ := strings.Cut(addr, "@")
	token := local[strings.LastIndexByte(local, '.')+1:]
	flipped := []byte(token)
	flipped[0] = map[bool]byte{true: 'b', false: 'a'}[flipped[0] == 'a']
	other := newTokens(t, []byte("another key, also thirty-two bytes long"))
	kid := KeyID(newKey)

	for _, tc := range []struct {
		name, addr, rcpt string
		parsed, verified bool
	}{
		{"as made", addr, "ana@example.test", true, true},
		{"upper case", strings.ToUpper(addr), "ANA@EXAMPLE.TEST", true, true},
		{"with display name", `"Help desk" <` + addr + `>`, "Ana <ana@example.test>", true, true},
		{"surrounding space", "  " + addr + " ", "ana@example.test", true, true},
		{"another recipient", addr, "carlos@example.test", true, false},
		{"one token character changed", "helpdesk+INC-000042." + kid + "." + string(flipped) + "@" + domain, "ana@example.test", true, false},
		{"token of another incident", strings.Replace(addr, "INC-000042", "INC-000043", 1), "ana@example.test", true, false},
		{"token signed with another key", other.ReplyAddress("", "INC-000042", "ana@example.test"), "ana@example.test", true, false},
		{"unknown key id", "helpdesk+INC-000042.zzzz." + token + "@" + domain, "ana@example.test", true, false},
		{"token truncated", "helpdesk+INC-000042." + kid + "." + token[:15] + "@" + domain, "ana@example.test", false, false},
		{"token extended", "helpdesk+INC-000042." + kid + "." + token + "a@" + domain, "ana@example.test", false, false},
		{"no token", "helpdesk+INC-000042@" + domain, "ana@example.test", false, false},
		{"empty token", "helpdesk+INC-000042.@" + domain, "ana@example.test", false, false},
		{"other domain", local + "@evil.test", "ana@example.test", false, false},
		{"other local part", strings.Replace(addr, "helpdesk+", "sales+", 1), "ana@example.test", false, false},
		{"no plus", "helpdesk@" + domain, "ana@example.test", false, false},
		{"not an incident id", "helpdesk+INC-42." + kid + "." + token + "@" + domain, "ana@example.test", false, false},
		{"empty", "", "ana@example.test", false, false},
		{"garbage", "<<@@>>", "ana@example.test", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := tk.Parse(tc.addr)
			if ok != tc.parsed || (ok && r.Incident != "INC-000042" && r.Incident != "INC-000043") {
				t.Fatalf("Parse(%q) = %+v, %v; want ok=%v", tc.addr, r, ok, tc.parsed)
			}
			if got := tk.Verify(r, tc.rcpt); got != tc.verified {
				t.Errorf("Verify(%q, %q) = %v, want %v", tc.addr, tc.rcpt, got, tc.verified)
			}
		})
	}
}

// TestKeyRotation: the newest key signs, an older one still verifies, and
// a key that was dropped verifies nothing.
func TestKeyRotation(t *testing.T) {
	before := newTokens(t, oldKey)
	issued := before.ReplyAddress("", "INC-000007", "ana@example.test")
	oldMID, err := before.MessageID("INC-000007:validation:1", "example.test")
	if err != nil {
		t.Fatal(err)
	}

	after := newTokens(t, newKey, oldKey)
	r, ok := after.Parse(issued)
	if !ok || !after.Verify(r, "ana@example.test") {
		t.Fatalf("an address signed with the previous key no longer verifies: %q", issued)
	}
	if id, ok := after.ParseMessageID(oldMID); !ok || id != "INC-000007" {
		t.Fatalf("a Message-ID signed with the previous key no longer threads: %q", oldMID)
	}
	fresh := after.ReplyAddress("", "INC-000007", "ana@example.test")
	if fresh == issued || !strings.Contains(fresh, "."+KeyID(newKey)+".") {
		t.Fatalf("the newest key does not sign: %q", fresh)
	}
	dropped := newTokens(t, newKey)
	if r, ok := dropped.Parse(issued); ok && dropped.Verify(r, "ana@example.test") {
		t.Fatal("an address of a dropped key still verifies")
	}
	if KeyID(newKey) == KeyID(oldKey) {
		t.Fatal("two keys share an id")
	}
}

// TestLegacyAddressThreadsButProvesNothing: a reply address from before
// per-recipient tokens still names its incident, and verifies for nobody.
func TestLegacyAddressThreadsButProvesNothing(t *testing.T) {
	tk := newTokens(t, newKey, oldKey)
	for _, key := range [][]byte{newKey, oldKey} {
		legacy := "helpdesk+INC-000003." + oldFormat(key, "INC-000003") + "@example.test"
		r, ok := tk.Parse(legacy)
		if !ok || !r.Legacy || r.Incident != "INC-000003" {
			t.Fatalf("Parse(%q) = %+v, %v", legacy, r, ok)
		}
		if tk.Verify(r, "ana@example.test") {
			t.Fatal("a legacy address verified")
		}
		mid := "INC-000003.ack.1." + oldFormat(key, "INC-000003") + "@example.test"
		if id, ok := tk.ParseMessageID("<" + mid + ">"); !ok || id != "INC-000003" {
			t.Fatalf("an old Message-ID no longer threads: %q", mid)
		}
	}
	forged := "helpdesk+INC-000003." + oldFormat([]byte("a key we never had, thirty-two bytes"), "INC-000003") + "@example.test"
	if r, ok := tk.Parse(forged); ok {
		t.Fatalf("a legacy address with a forged token parsed: %+v", r)
	}
}

// TestMessageIDIsUselessForAnswering: nothing in a Message-ID we send can be
// turned into a reply address that verifies, in either format.
func TestMessageIDIsUselessForAnswering(t *testing.T) {
	tk := newTokens(t)
	mid, err := tk.MessageID("INC-000003:ack:1", "example.test")
	if err != nil {
		t.Fatal(err)
	}
	left, _, _ := strings.Cut(mid, "@")
	tok := left[strings.LastIndexByte(left, '.')+1:]
	real := tk.ReplyAddress("", "INC-000003", "ana@example.test")
	if strings.Contains(real, tok) {
		t.Fatalf("the Message-ID %q shares its token with the reply address %q", mid, real)
	}
	for _, rebuilt := range []string{
		"helpdesk+INC-000003." + tok + "@example.test",
		"helpdesk+INC-000003." + KeyID(newKey) + "." + tok + "@example.test",
	} {
		if r, ok := tk.Parse(rebuilt); ok && (r.Legacy || tk.Verify(r, "ana@example.test")) {
			t.Errorf("a reply address rebuilt from the Message-ID counts: %q", rebuilt)
		}
	}
}

func TestMessageID(t *testing.T) {
	tk := newTokens(t)
	for _, tc := range []struct {
		id, domain, prefix string
		ok                 bool
	}{
		{"INC-000001:ack:1", "example.test", "INC-000001.ack.1.", true},
		{"INC-123456:satisfaction:2", "mail.example.test", "INC-123456.satisfaction.2.", true},
		{"", "example.test", "", false},
		{"INC-000001::ack", "example.test", "", false}, // would hold ".."
		{"INC-000001:a>b", "example.test", "", false},
		{"INC-000001:ack:1\r\nBcc: x", "example.test", "", false},
		{"INC-000001:ack:1", "", "", false},
		{"nope:ack:1", "example.test", "", false},
	} {
		got, err := tk.MessageID(tc.id, tc.domain)
		if (err == nil) != tc.ok || !strings.HasPrefix(got, tc.prefix) || (tc.ok && !strings.HasSuffix(got, "@"+tc.domain)) {
			t.Errorf("MessageID(%q, %q) = %q, %v; want %q... ok=%v", tc.id, tc.domain, got, err, tc.prefix, tc.ok)
		}
		if !tc.ok {
			continue
		}
		if again, _ := tk.MessageID(tc.id, tc.domain); again != got {
			t.Errorf("MessageID not deterministic: %q then %q", got, again)
		}
		if id, ok := tk.ParseMessageID("<" + got + ">"); !ok || id != strings.Split(tc.id, ":")[0] {
			t.Errorf("ParseMessageID(%q) = %q, %v", got, id, ok)
		}
	}
	good, _ := tk.MessageID("INC-000001:ack:1", "example.test")
	tok := strings.Split(strings.Split(good, "@")[0], ".")[3]
	for _, forged := range []string{"INC-000001.ack.1@example.test", "INC-000001.ack.1.aaaaaaaaaaaaaaaa@example.test",
		"INC-000002.ack.1." + tok + "@example.test", "INC-000001.validation.1." + tok + "@example.test",
		"CAF123@mail.gmail.test", "", "@", ".@", "INC-000001.@x"} {
		if id, ok := tk.ParseMessageID(forged); ok {
			t.Errorf("forged %q accepted as %s", forged, id)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]Config{
		"no key":          {Addresses: []string{"helpdesk@example.test"}},
		"short key":       {Addresses: []string{"helpdesk@example.test"}, Keys: [][]byte{newKey, []byte("short")}},
		"no address":      {Keys: [][]byte{newKey}},
		"bad address":     {Addresses: []string{"not an address"}, Keys: [][]byte{newKey}},
		"quoted local":    {Addresses: []string{`"help desk"@example.test`}, Keys: [][]byte{newKey}},
		"plus in address": {Addresses: []string{"help+desk@example.test"}, Keys: [][]byte{newKey}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzParse checks that no input panics, that whatever verifies for a
// recipient is exactly the address we would issue to them (modulo case and
// display name), and that a legacy address never verifies.
func FuzzParse(f *testing.F) {
	tk := newTokens(f, newKey, oldKey)
	f.Add(tk.ReplyAddress("", "INC-000001", "ana@example.test"), "ana@example.test")
	f.Add("Help desk <"+tk.ReplyAddress("soporte@example.test", "INC-123456", "bob@example.test")+">", "Bob <bob@example.test>")
	f.Add("helpdesk+INC-000001."+oldFormat(newKey, "INC-000001")+"@example.test", "ana@example.test")
	f.Add("helpdesk+INC-000001.abcd.aaaaaaaaaaaaaaaa@example.test", "ana@example.test")
	f.Add("helpdesk+.@example.test", "")
	f.Add("=?utf-8?q?Help?= <helpdesk+inc-000001.x.y@EXAMPLE.test>", "\"a b\"@example.test")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, addr, rcpt string) {
		r, ok := tk.Parse(addr)
		if !ok {
			if tk.Verify(r, rcpt) {
				t.Fatalf("an unparsed address verified: %q", addr)
			}
			return
		}
		if _, err := tk.MessageID(r.Incident+":ack:1", "example.test"); err != nil {
			t.Fatalf("Parse(%q) named %q, not an incident id", addr, r.Incident)
		}
		if !tk.Verify(r, rcpt) {
			return
		}
		if r.Legacy {
			t.Fatalf("a legacy address verified: %q", addr)
		}
		issued := tk.ReplyAddress("", r.Incident, rcpt)
		other := tk.ReplyAddress("soporte@example.test", r.Incident, rcpt)
		a := Normalize(addr)
		// Only the newest key issues; an old key's address differs by its
		// key id and token, so compare what the newest key would say for it.
		if r.kid == KeyID(newKey) && !strings.EqualFold(a, issued) && !strings.EqualFold(a, other) {
			t.Fatalf("%q verified for %q, but we issue %q", addr, rcpt, issued)
		}
	})
}

// FuzzParseMessageID checks that no input panics, and that whatever is
// accepted is a Message-ID we would make for that incident.
func FuzzParseMessageID(f *testing.F) {
	tk := newTokens(f)
	mid, _ := tk.MessageID("INC-000001:ack:1", "example.test")
	f.Add("<" + mid + ">")
	f.Add("INC-000001.ack.1." + oldFormat(newKey, "INC-000001") + "@example.test")
	f.Add("<CAF=abc123+x@mail.gmail.test>")
	f.Add("<@>")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, ok := tk.ParseMessageID(s)
		if !ok {
			return
		}
		if _, err := tk.MessageID(id+":ack:1", "example.test"); err != nil {
			t.Fatalf("ParseMessageID(%q) named %q, not an incident id", s, id)
		}
	})
}
