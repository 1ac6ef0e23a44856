package main

import (
	"encoding/base64"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/internal/config"
)

// TestEmailSenderAuthConfig: the email.sender_auth keys and
// email.previous_reply_keys load with their defaults, and a bad value is
// refused at start with the key named.
func TestEmailSenderAuthConfig(t *testing.T) {
	c, _, err := config.Load("", config.Env(map[string]string{
		"INTAKEBOT_EMAIL_SENDER_AUTH_TRUSTED_AUTHSERV_IDS": "[mx.example.test]",
		"INTAKEBOT_EMAIL_PREVIOUS_REPLY_KEYS":              "[" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("o", 32))) + "]",
	}))
	if err != nil {
		t.Fatal(err)
	}
	sa := c.Email.SenderAuth
	if !slices.Equal(sa.TrustedAuthServIDs, []string{"mx.example.test"}) || !slices.Equal(sa.Accept, []string{"dmarc", "dkim"}) ||
		sa.VerifyDKIM || len(c.Email.PreviousReplyKeys) != 1 {
		t.Fatalf("email config %+v", c.Email)
	}

	base := func() config.Email {
		e := c.Email
		e.Mailboxes = []config.Mailbox{{Name: "helpdesk", Address: "helpdesk@example.test"}}
		e.SMTP.Host = "127.0.0.1"
		return e
	}
	for _, tc := range []struct {
		name, want string
		mod        func(*config.Email)
	}{
		{"unknown method", "email.sender_auth", func(e *config.Email) { e.SenderAuth.Accept = []string{"spf"} }},
		{"bad authserv-id", "email.sender_auth", func(e *config.Email) { e.SenderAuth.TrustedAuthServIDs = []string{"two words"} }},
		{"previous key not base64", "email.previous_reply_keys[0]", func(e *config.Email) { e.PreviousReplyKeys = []string{"%%%"} }},
		{"previous key too short", "previous_reply_keys", func(e *config.Email) { e.PreviousReplyKeys = []string{"c2hvcnQ="} }},
	} {
		e := base()
		tc.mod(&e)
		if _, err := newEmailChannel(e, config.Org{}, nil, nil, nil, nil, nil, nil, slog.New(slog.DiscardHandler)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error naming %s", tc.name, err, tc.want)
		}
	}
}
