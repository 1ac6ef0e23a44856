package mailtls

import "testing"

func TestValid(t *testing.T) {
	for m, want := range map[Mode]bool{
		"": true, Implicit: true, StartTLS: true, None: true,
		"ssl": false, "STARTTLS": false, "tls": false,
	} {
		if got := m.Valid(); got != want {
			t.Errorf("Mode(%q).Valid() = %v, want %v", m, got, want)
		}
	}
}

func TestInClear(t *testing.T) {
	for _, tc := range []struct {
		mode Mode
		host string
		want bool
	}{
		{None, "imap.example.test", true},
		{None, "192.0.2.1", true},
		{None, "", true},
		{None, "localhost", false},
		{None, "LocalHost", false},
		{None, "127.0.0.1", false},
		{None, "127.8.9.10", false},
		{None, "::1", false},
		{None, "[::1]", false},
		{Implicit, "imap.example.test", false},
		{StartTLS, "imap.example.test", false},
		{"", "imap.example.test", false},
	} {
		if got := tc.mode.InClear(tc.host); got != tc.want {
			t.Errorf("Mode(%q).InClear(%q) = %v, want %v", tc.mode, tc.host, got, tc.want)
		}
	}
}
