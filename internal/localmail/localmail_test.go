package localmail

import (
	"errors"
	"log/slog"
	"net"
	netsmtp "net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	cfg.IMAPListen, cfg.SMTPListen = cmpDefault(cfg.IMAPListen), cmpDefault(cfg.SMTPListen)
	if cfg.Domain == "" {
		cfg.Domain = "intakebot.local"
	}
	m, err := Start(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	return m
}

func cmpDefault(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

// The SMTP server delivers to its own accounts only, with clear refusals,
// and checks AUTH PLAIN when a client uses it.
func TestSMTPRefusals(t *testing.T) {
	m := start(t, Config{})
	demo := m.Account(Demo)
	c, err := smtp.Dial(m.SMTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", demo.Address, "wrong")); !isSMTPCode(err, 535) {
		t.Errorf("AUTH with a wrong password: %v", err)
	}
	if err := c.Auth(sasl.NewPlainClient("", demo.Address, demo.Password)); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.Mail(demo.Address, nil); err != nil {
		t.Fatal(err)
	}
	for rcpt, want := range map[string]smtp.EnhancedCode{
		"nobody@intakebot.local": {5, 1, 1},
		"ana@example.test":       {5, 7, 1},
	} {
		var se *smtp.SMTPError
		if err := c.Rcpt(rcpt, nil); !errors.As(err, &se) || se.Code != 550 || se.EnhancedCode != want {
			t.Errorf("RCPT %s: %v, want 550 %v", rcpt, err, want)
		}
	}
	// Subaddresses reach the account: the bot's Reply-To is helpdesk+TOKEN.
	if err := c.Rcpt("Helpdesk+INC-000001.x@IntakeBot.local", nil); err != nil {
		t.Errorf("RCPT to a subaddress: %v", err)
	}
	if err := c.Quit(); err != nil {
		t.Error(err)
	}
}

func isSMTPCode(err error, code int) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code == code
}

// A taken port does not stop the server: it takes a free one and says so.
func TestTakesAFreePortWhenItsPortIsTaken(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	m := start(t, Config{SMTPListen: busy.Addr().String()})
	var out strings.Builder
	m.PrintBanner(&out)
	if m.SMTPAddr() == busy.Addr().String() || !strings.Contains(out.String(), busy.Addr().String()+" was taken") {
		t.Fatalf("SMTP on %s with %s taken:\n%s", m.SMTPAddr(), busy.Addr(), out.String())
	}
	if err := netsmtp.SendMail(m.SMTPAddr(), nil, "demo@intakebot.local", []string{"demo@intakebot.local"}, []byte("Subject: hi\r\n\r\nhi\r\n")); err != nil {
		t.Fatal(err)
	}
}

// The banner printed is the banner read back.
func TestBannerReadsBack(t *testing.T) {
	m := start(t, Config{})
	var out strings.Builder
	m.PrintBanner(&out)
	var b Banner
	for line := range strings.Lines(out.String()) {
		b.Read(strings.TrimRight(line, "\n"))
	}
	if !b.Complete() || b.IMAPAddr != m.IMAPAddr() || b.SMTPAddr != m.SMTPAddr() ||
		b.Helpdesk != (Account{Address: "helpdesk@intakebot.local", Password: m.Account(Helpdesk).Password}) ||
		b.Demo.Password != m.Account(Demo).Password {
		t.Fatalf("banner read as %+v:\n%s", b, out.String())
	}
}

func TestListensOnLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", "192.0.2.1:1143", "nonsense"} {
		m, err := Start(Config{IMAPListen: addr, SMTPListen: "127.0.0.1:0", Domain: "intakebot.local", IMAPKey: "local.imap_listen"}, slog.New(slog.DiscardHandler))
		if err == nil {
			m.Close()
			t.Errorf("%s accepted", addr)
		} else if !strings.Contains(err.Error(), "local.imap_listen") {
			t.Errorf("%s: %v does not name the key", addr, err)
		}
	}
	if _, err := Start(Config{IMAPListen: "127.0.0.1:0", SMTPListen: "127.0.0.1:0", Domain: "not a domain"}, slog.New(slog.DiscardHandler)); err == nil {
		t.Error("a domain with a space accepted")
	}
}

// Close right after Start returns, even before the servers' accept loops
// ran: serve closes the server this way when a later start-up step fails,
// and this used to hang it for good.
func TestCloseRightAfterStart(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range 50 {
			m, err := Start(Config{IMAPListen: "127.0.0.1:0", SMTPListen: "127.0.0.1:0", Domain: "intakebot.local"}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Error(err)
				return
			}
			m.Close()
		}
	}()
	select {
	case <-done:
	case <-time.After(time.Minute): // a guard against a hang, not a timing assertion
		t.Fatal("Close did not return")
	}
}
