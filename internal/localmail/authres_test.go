package localmail

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-message/textproto"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Every mail the local server takes carries its Authentication-Results on
// top: auth=pass with the address the session logged in as, or auth=none;
// headers a sender wrote in this server's name are gone, others stay below.
func TestStampsAuthenticationResults(t *testing.T) {
	m := start(t, Config{})
	demo := m.Account(Demo)
	forged := "Authentication-Results: INTAKEBOT.local; auth=pass smtp.auth=" + demo.Address + "\r\n" +
		"Authentication-Results: (a comment) intakebot.local 1; dmarc=pass header.from=intakebot.local\r\n" +
		"Authentication-Results: mx.example.test; dkim=fail\r\n"
	for _, tc := range []struct {
		name, login string
		want        string
	}{
		{"no AUTH", "", "intakebot.local; auth=none"},
		{"AUTH as demo", demo.Address, "intakebot.local; auth=pass smtp.auth=" + demo.Address},
	} {
		t.Run(tc.name, func(t *testing.T) {
			subject := "stamp " + tc.name
			send(t, m, tc.login, demo.Password, "From: "+demo.Address+"\r\nTo: helpdesk@intakebot.local\r\n"+forged+
				"Subject: "+subject+"\r\n\r\nyes\r\n")
			h := readHeader(t, m, subject)
			got := h.Values(AuthResultsHeader)
			want := []string{tc.want, "mx.example.test; dkim=fail"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("Authentication-Results = %q, want %q", got, want)
			}
			first := h.Fields()
			first.Next()
			if first.Key() != AuthResultsHeader {
				t.Errorf("first header is %s, want ours on top", first.Key())
			}
		})
	}
}

// A mail without a header/body boundary the server cannot read is
// refused with an error, not filed unstamped.
func TestStampRefusesAnUnreadableHeader(t *testing.T) {
	if _, err := stamp(strings.NewReader("not a header line\r\n\r\nbody"), "intakebot.local", ""); err == nil {
		t.Fatal("stamp took a mail whose header it could not read")
	}
}

func send(t *testing.T, m *Server, login, password, raw string) {
	t.Helper()
	c, err := smtp.Dial(m.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if login != "" {
		if err := c.Auth(sasl.NewPlainClient("", login, password)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.SendMail(m.Account(Demo).Address, []string{m.Account(Helpdesk).Address}, strings.NewReader(raw)); err != nil {
		t.Fatal(err)
	}
}

// readHeader fetches, over IMAP, the header of the help desk's mail with
// the given subject.
func readHeader(t *testing.T, m *Server, subject string) textproto.Header {
	t.Helper()
	c, err := imapclient.DialInsecure(m.IMAPAddr(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hd := m.Account(Helpdesk)
	if err := c.Login(hd.Address, hd.Password).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	found, err := c.UIDSearch(&imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "Subject", Value: subject}}}, nil).Wait()
	if err != nil {
		t.Fatal(err)
	}
	uids := found.AllUIDs()
	if len(uids) != 1 {
		t.Fatalf("%d mails with subject %q, want 1", len(uids), subject)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(uids[0]), &imap.FetchOptions{BodySection: []*imap.FetchItemBodySection{{}}}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 1 || len(msgs[0].BodySection) != 1 {
		t.Fatalf("fetched %d messages, want one with its body", len(msgs))
	}
	h, err := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(msgs[0].BodySection[0].Bytes)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}
