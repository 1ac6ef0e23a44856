package smtpout

import (
	"strings"
	"testing"
)

func newReplies(t testing.TB) *ReplyAddresses {
	t.Helper()
	r, err := NewReplyAddresses("Help desk <"+helpdesk+">", testKey())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReplyAddressFormat(t *testing.T) {
	r := newReplies(t)
	addr := r.ReplyAddress("INC-000001")
	local, domain, _ := strings.Cut(addr, "@")
	tag, ok := strings.CutPrefix(local, "helpdesk+INC-000001.")
	if !ok || domain != "example.test" || len(tag) != 16 || tag != strings.ToLower(tag) || strings.Contains(tag, "=") {
		t.Errorf("ReplyAddress = %q, want helpdesk+INC-000001.<16 lower-case base32>@example.test", addr)
	}
	if again := r.ReplyAddress("INC-000001"); again != addr {
		t.Errorf("ReplyAddress not deterministic: %q then %q", addr, again)
	}
	if other := r.ReplyAddress("INC-000002"); other == addr {
		t.Error("two incidents share a reply address")
	}
	for _, bad := range []string{"", "INC-1", "inc-000001", "INC-000001\r\nBcc: x"} {
		if got := r.ReplyAddress(bad); got != "" {
			t.Errorf("ReplyAddress(%q) = %q, want empty", bad, got)
		}
	}
}

func TestParseReplyAddress(t *testing.T) {
	r := newReplies(t)
	addr := r.ReplyAddress("INC-000042")
	local, domain, _ := strings.Cut(addr, "@")
	token := local[strings.LastIndexByte(local, '.')+1:]
	flipped := []byte(token)
	flipped[0] = map[bool]byte{true: 'b', false: 'a'}[flipped[0] == 'a']
	otherKey, err := NewReplyAddresses(helpdesk, []byte("another key, also thirty-two bytes long"))
	if err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name, addr string
		ok         bool
	}{
		{"as made", addr, true},
		{"upper case", strings.ToUpper(addr), true},
		{"lower case", strings.ToLower(addr), true},
		{"with display name", `"Help desk" <` + addr + `>`, true},
		{"in angle brackets", "<" + addr + ">", true},
		{"surrounding space", "  " + addr + " ", true},
		{"one token character changed", "helpdesk+INC-000042." + string(flipped) + "@" + domain, false},
		{"token of another incident", strings.Replace(addr, "INC-000042", "INC-000043", 1), false},
		{"token signed with another key", otherKey.ReplyAddress("INC-000042"), false},
		{"token truncated", "helpdesk+INC-000042." + token[:15] + "@" + domain, false},
		{"token extended", "helpdesk+INC-000042." + token + "a@" + domain, false},
		{"no token", "helpdesk+INC-000042@" + domain, false},
		{"empty token", "helpdesk+INC-000042.@" + domain, false},
		{"other domain", local + "@evil.test", false},
		{"other local part", strings.Replace(addr, "helpdesk+", "sales+", 1), false},
		{"no plus", "helpdesk@" + domain, false},
		{"not an incident id", "helpdesk+INC-42." + token + "@" + domain, false},
		{"empty", "", false},
		{"garbage", "<<@@>>", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := r.ParseReplyAddress(tc.addr)
			if ok != tc.ok || (ok && id != "INC-000042") || (!ok && id != "") {
				t.Errorf("ParseReplyAddress(%q) = %q, %v; want ok=%v", tc.addr, id, ok, tc.ok)
			}
		})
	}
}

// FuzzParseReplyAddress checks that no input panics, and that whatever is
// accepted names an incident whose own reply address is accepted too.
func FuzzParseReplyAddress(f *testing.F) {
	r := newReplies(f)
	f.Add(r.ReplyAddress("INC-000001"))
	f.Add("Help desk <" + r.ReplyAddress("INC-123456") + ">")
	f.Add("helpdesk+INC-000001.aaaaaaaaaaaaaaaa@example.test")
	f.Add("helpdesk+.@example.test")
	f.Add("")
	f.Fuzz(func(t *testing.T, addr string) {
		id, ok := r.ParseReplyAddress(addr)
		if !ok {
			return
		}
		if back, ok2 := r.ParseReplyAddress(r.ReplyAddress(id)); !ok2 || back != id {
			t.Errorf("accepted %q as %q, whose own address does not parse back", addr, id)
		}
	})
}
