package localmail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-message/mail"
)

// The state file is the user's alone, reads back as written, and is only
// removed by the server that wrote it.
func TestStateFile(t *testing.T) {
	m := start(t, Config{})
	path := filepath.Join(t.TempDir(), "run", "intakebot", "local.json")
	st := m.State("http://127.0.0.1:8080")
	if _, err := ReadState(path); !errors.Is(err, ErrNoState) || !strings.Contains(err.Error(), "intakebot serve") {
		t.Fatalf("no file: %v", err)
	}
	if err := WriteState(path, st); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v (%v), want 0600", info.Mode(), err)
	}
	got, err := ReadState(path)
	if err != nil || got.SMTPAddr != m.SMTPAddr() || got.IMAPAddr != m.IMAPAddr() || got.API != st.API ||
		got.Demo.Address != "demo@intakebot.local" || got.Demo.Password != m.Account(Demo).Password || got.PID != os.Getpid() {
		t.Fatalf("read back %+v (%v), wrote %+v", got, err, st)
	}
	// Another serve wrote its own file since: ours does not remove it.
	other := st
	other.API = "http://127.0.0.1:9090"
	if err := WriteState(path, other); err != nil {
		t.Fatal(err)
	}
	if err := RemoveState(path, st); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadState(path); err != nil {
		t.Fatalf("another server's state file removed: %v", err)
	}
	if err := RemoveState(path, other); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("own state file left: %v", err)
	}
	// Not a state file: a clear error, not a zero state.
	os.WriteFile(path, []byte("{}"), 0o600)
	if _, err := ReadState(path); err == nil || !strings.Contains(err.Error(), "not a local state file") {
		t.Fatalf("empty state file: %v", err)
	}
}

func TestStatePath(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for _, c := range []struct {
		path string
		env  map[string]string
		want string
	}{
		{"/x/state.json", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"}, "/x/state.json"},
		{"", map[string]string{"XDG_RUNTIME_DIR": "/run/user/1", "HOME": "/home/a"}, "/run/user/1/intakebot/local.json"},
		{"", map[string]string{"XDG_CACHE_HOME": "/c", "HOME": "/home/a"}, "/c/intakebot/local.json"},
		{"", map[string]string{"HOME": "/home/a"}, "/home/a/.cache/intakebot/local.json"},
	} {
		if got, err := StatePath(c.path, env(c.env)); err != nil || got != c.want {
			t.Errorf("StatePath(%q, %v) = %q, %v; want %q", c.path, c.env, got, err, c.want)
		}
	}
}

// A mail sent with Send, logged in, reaches the inbox Inbox reads, with
// its attachment intact; a wrong password is refused.
func TestSendAndInbox(t *testing.T) {
	m := start(t, Config{})
	ctx := context.Background()
	demo := m.Account(Demo)
	if _, err := Send(ctx, m.SMTPAddr(), Outgoing{From: Account{Address: demo.Address, Password: "wrong"}, To: demo.Address, Subject: "x"}); !isSMTPCode(err, 535) {
		t.Fatalf("wrong password: %v", err)
	}
	if mails, err := Inbox(ctx, m.IMAPAddr(), demo, 0); err != nil || len(mails) != 0 {
		t.Fatalf("empty inbox: %v %v", mails, err)
	}
	pdf := []byte("%PDF-1.4\x00\xff binary")
	for _, subject := range []string{"first", "second", "third"} {
		out := Outgoing{From: demo, To: demo.Address, Subject: subject,
			Body: "See https://desk.example.test/s/tok?answer=yes.\nOr https://desk.example.test/s/tok?answer=no\n"}
		if subject == "second" {
			out.Attachments = []File{{Name: "log file.pdf", Content: pdf}}
		}
		id, err := Send(ctx, m.SMTPAddr(), out)
		if err != nil || !strings.HasSuffix(id, "@intakebot.local") {
			t.Fatalf("send %s: %q %v", subject, id, err)
		}
	}
	mails, err := Inbox(ctx, m.IMAPAddr(), demo, 2)
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, ml := range mails {
		subjects = append(subjects, ml.Subject)
	}
	if !slices.Equal(subjects, []string{"third", "second"}) {
		t.Fatalf("newest two, newest first: %v", subjects)
	}
	want := []string{"https://desk.example.test/s/tok?answer=yes", "https://desk.example.test/s/tok?answer=no"}
	if !slices.Equal(mails[1].Links, want) || mails[1].ReplyTo != demo.Address || mails[1].From != demo.Address {
		t.Fatalf("mail read as %+v", mails[1])
	}
	// The attachment, as the bot's mail parser would see it.
	raw, err := Compose(Outgoing{From: demo, To: "helpdesk@intakebot.local", Subject: "s", Body: "b", Attachments: []File{{Name: "log file.pdf", Content: pdf}}})
	if err != nil {
		t.Fatal(err)
	}
	r, err := mail.CreateReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for {
		p, err := r.NextPart()
		if err != nil {
			break
		}
		if h, ok := p.Header.(*mail.AttachmentHeader); ok {
			name, _ := h.Filename()
			body, _ := io.ReadAll(p.Body)
			found = name == "log file.pdf" && bytes.Equal(body, pdf)
		}
	}
	if !found {
		t.Fatalf("attachment not found intact in:\n%s", raw)
	}
}

// A mail without Reply-To is answered to its sender; a mail that is not
// MIME is an error, not a crash.
func TestReadMail(t *testing.T) {
	m, err := ReadMail([]byte("From: Help desk <helpdesk@intakebot.local>\r\nReply-To: helpdesk+INC-000001.x@intakebot.local\r\nSubject: [INC-000001] hi\r\n\r\nno links here\r\n"))
	if err != nil || m.ReplyTo != "helpdesk+INC-000001.x@intakebot.local" || m.From != "Help desk <helpdesk@intakebot.local>" || len(m.Links) != 0 {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := ReadMail([]byte("Content-Type: multipart/mixed\r\n\r\nno boundary")); err == nil {
		t.Fatal("a broken multipart read without error")
	}
}
