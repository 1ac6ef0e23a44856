// Package localmail is the mail server of intakebot's local mode: IMAP and
// SMTP in memory on loopback (go-imap's and go-smtp's servers, the ones the
// tests use), with a help-desk mailbox the bot watches and a demo user's
// mailbox. Anyone can then try the whole mail flow on one machine with any
// mail client or swaks, and the e-mail channel code runs unchanged.
package localmail

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/intakebot/intakebot/internal/imapidle"
)

// The accounts, by local part.
const (
	Helpdesk = "helpdesk" // the bot reads this INBOX and sends as it
	Demo     = "demo"     // a user
)

// Folders of the help-desk mailbox where the bot files what it handled.
const (
	ProcessedFolder  = "Processed"
	QuarantineFolder = "Quarantine"
)

// Config says where the servers listen and for which domain.
type Config struct {
	// IMAPListen and SMTPListen must be loopback addresses: the servers
	// speak without TLS. A taken port is replaced by a free one.
	IMAPListen, SMTPListen string
	Domain                 string
	MaxMessageBytes        int64 // SMTP's limit; 0: go-smtp's default
	// Keys name IMAPListen and SMTPListen in errors (configuration keys).
	IMAPKey, SMTPKey string
}

// Account is one mailbox of the server.
type Account struct {
	Address  string `json:"address"`
	Password string `json:"password"`
	user     *imapmemserver.User
}

// Server is the running local mail server.
type Server struct {
	domain             string
	accounts           map[string]*Account // by local part
	imapAddr, smtpAddr string
	busy               []string // fixed addresses that were taken, so a free port was used
	imap               *imapserver.Server
	smtp               *smtp.Server
	listeners          []net.Listener
	serving            sync.WaitGroup // the two Serve loops
}

// Start creates the accounts and starts IMAP and SMTP.
func Start(cfg Config, log *slog.Logger) (*Server, error) {
	imapKey, smtpKey := cmp.Or(cfg.IMAPKey, "imap"), cmp.Or(cfg.SMTPKey, "smtp")
	domain := strings.ToLower(strings.TrimSpace(cfg.Domain))
	if domain == "" || strings.ContainsAny(domain, "@ <>\t") {
		return nil, fmt.Errorf("local mail domain %q is not a mail domain", cfg.Domain)
	}
	m := &Server{domain: domain, accounts: map[string]*Account{}}
	mem := imapmemserver.New()
	for _, name := range []string{Helpdesk, Demo} {
		a, err := newAccount(name + "@" + domain)
		if err != nil {
			return nil, err
		}
		m.accounts[name] = a
		mem.AddUser(a.user)
	}
	imapLn, err := m.listen(imapKey, cfg.IMAPListen)
	if err != nil {
		return nil, err
	}
	smtpLn, err := m.listen(smtpKey, cfg.SMTPListen)
	if err != nil {
		imapLn.Close()
		return nil, err
	}
	m.listeners = []net.Listener{imapLn, smtpLn}
	m.imapAddr, m.smtpAddr = imapLn.Addr().String(), smtpLn.Addr().String()
	m.imap = m.newIMAP(mem, log)
	m.smtp = m.newSMTP(cfg.MaxMessageBytes, log)
	m.serving.Add(2)
	go func() { defer m.serving.Done(); _ = m.imap.Serve(imapLn) }()
	go func() { defer m.serving.Done(); _ = m.smtp.Serve(smtpLn) }()
	return m, nil
}

// newAccount makes a mailbox with a random password: the server lives only
// as long as the process, so a password per start costs nothing.
func newAccount(address string) (*Account, error) {
	password := rand.Text()[:16]
	a := &Account{Address: address, Password: password, user: imapmemserver.NewUser(address, password)}
	folders := []string{"INBOX", "Sent", "Trash"}
	if strings.HasPrefix(address, Helpdesk+"@") {
		folders = []string{"INBOX", ProcessedFolder, QuarantineFolder}
	}
	for _, f := range folders {
		if err := a.user.Create(f, nil); err != nil {
			return nil, err
		}
		_ = a.user.Subscribe(f)
	}
	return a, nil
}

// listen listens on addr, which must be on loopback: the servers speak
// without TLS. When a fixed port is taken (another intakebot, a real mail
// server) a free port is used instead, and the banner says so: trying
// intakebot should not fail on a port clash.
func (m *Server) listen(key, addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", key, addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%s %q: the local mail server speaks without TLS, so it listens on loopback only", key, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil && port != "0" && errors.Is(err, syscall.EADDRINUSE) {
		m.busy = append(m.busy, addr)
		ln, err = net.Listen("tcp", net.JoinHostPort(host, "0"))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return ln, nil
}

func (m *Server) newIMAP(mem *imapmemserver.Server, log *slog.Logger) *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return imapSession{Session: imapidle.Session{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2)}, domain: m.domain}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger:       stdLogger{log.With("server", "local imap")},
		InsecureAuth: true, // loopback only, see listen
	})
}

func (m *Server) newSMTP(maxBytes int64, log *slog.Logger) *smtp.Server {
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &smtpSession{m: m}, nil }))
	s.Domain = m.domain
	if maxBytes > 0 {
		s.MaxMessageBytes = maxBytes
	}
	s.MaxRecipients = 50
	s.AllowInsecureAuth = true // loopback only, see listen
	s.ReadTimeout, s.WriteTimeout = 5*time.Minute, time.Minute
	s.ErrorLog = stdLogger{log.With("server", "local smtp")}
	return s
}

// Domain is the mail domain of the accounts.
func (m *Server) Domain() string { return m.domain }

// IMAPAddr and SMTPAddr are where the servers listen.
func (m *Server) IMAPAddr() string { return m.imapAddr }

// SMTPAddr is where SMTP listens.
func (m *Server) SMTPAddr() string { return m.smtpAddr }

// Account returns the account of a local part (Helpdesk or Demo).
func (m *Server) Account(local string) Account { return *m.accounts[local] }

// Close stops both servers, dropping open connections, and waits for their
// accept loops. It closes the listeners itself: a server closed before its
// Serve loop registered the listener would otherwise never stop accepting,
// and a start-up failure right after Start would hang.
func (m *Server) Close() {
	_ = m.imap.Close()
	_ = m.smtp.Close()
	for _, ln := range m.listeners {
		_ = ln.Close()
	}
	m.serving.Wait()
}

// The banner's lines that say where the servers are and who may log in;
// Banner.Read reads them back.
const (
	imapLine = "  IMAP  %-21s no TLS, any IMAP client\n"
	smtpLine = "  SMTP  %-21s no TLS, AUTH PLAIN optional\n"
	userLine = "  user  %-28s password %s   %s\n"
)

// PrintBanner tells the person who started serve how to use the server.
func (m *Server) PrintBanner(w io.Writer) {
	hd, demo := m.accounts[Helpdesk], m.accounts[Demo]
	fmt.Fprintf(w, "Local mail server (in memory, nothing survives a restart) for the domain %s:\n", m.domain)
	fmt.Fprintf(w, imapLine, m.imapAddr)
	fmt.Fprintf(w, smtpLine, m.smtpAddr)
	for _, busy := range m.busy {
		fmt.Fprintf(w, "  (%s was taken, so a free port is used)\n", busy)
	}
	fmt.Fprintf(w, userLine, hd.Address, hd.Password, "the help desk: intakebot reads this INBOX")
	fmt.Fprintf(w, userLine, demo.Address, demo.Password, "a user: write to the help desk from here, read the answers here")
	fmt.Fprintf(w, `Try it: in another terminal, send a report as the demo user,
  intakebot local send --subject 'VPN down' --body 'The VPN is down'
then read the help desk's answers, with their links and reply address,
  intakebot local inbox
and answer the questions by replying (local send --to REPLY-ADDRESS) or with
the links. Any mail client works too, e.g.
  swaks --server %s --from %s --to %s \
    --header 'Subject: VPN down' --body 'The VPN is down'
and %s's INBOX read over IMAP (%s, user and password above).
`, m.smtpAddr, demo.Address, hd.Address, demo.Address, m.imapAddr)
	fmt.Fprintln(w)
}

// account finds the mailbox an envelope recipient is delivered to. The
// bot's Reply-To is helpdesk+INC-000001.token@domain, so a "+tag" is
// dropped, as real mail servers do.
func (m *Server) account(rcpt string) (*Account, error) {
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 || !strings.EqualFold(rcpt[at+1:], m.domain) {
		return nil, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("Relaying denied: this local mail server only delivers to @%s addresses", m.domain)}
	}
	local, _, _ := strings.Cut(strings.ToLower(rcpt[:at]), "+")
	a := m.accounts[local]
	if a == nil {
		return nil, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: fmt.Sprintf("No such mailbox: %s (there are %s@%s and %s@%s)", rcpt, Helpdesk, m.domain, Demo, m.domain)}
	}
	return a, nil
}

// login checks an SMTP AUTH PLAIN login and returns the account's address.
func (m *Server) login(username, password string) (string, error) {
	for _, a := range m.accounts {
		if strings.EqualFold(username, a.Address) && subtle.ConstantTimeCompare([]byte(password), []byte(a.Password)) == 1 {
			return a.Address, nil
		}
	}
	return "", smtp.ErrAuthFailed
}

// smtpSession is one SMTP conversation. Any local client may send; AUTH is
// offered but not required, and Data records which it was.
type smtpSession struct {
	m      *Server
	to     []*Account
	authed string // the address the session authenticated as, if any
}

func (s *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		addr, err := s.m.login(username, password)
		if err == nil {
			s.authed = addr
		}
		return err
	}), nil
}

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { s.to = nil; return nil }

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	a, err := s.m.account(to)
	if err != nil {
		return err
	}
	if !slices.Contains(s.to, a) {
		s.to = append(s.to, a)
	}
	return nil
}

// Data files the mail into each recipient's INBOX, stamped with what this
// server knows of its sender (see stamp).
func (s *smtpSession) Data(r io.Reader) error {
	raw, err := stamp(r, s.m.domain, s.authed)
	if err != nil {
		return err
	}
	for _, a := range s.to {
		if _, err := a.user.Append("INBOX", bytes.NewReader(raw), &imap.AppendOptions{Time: time.Now()}); err != nil {
			return fmt.Errorf("deliver to %s: %w", a.Address, err)
		}
	}
	return nil
}

func (s *smtpSession) Reset()        { s.to = nil }
func (s *smtpSession) Logout() error { return nil }

// imapSession is imapmemserver's session with IDLE fixed (imapidle) and
// one more change: a user may log in as "demo" as well as "demo@domain".
type imapSession struct {
	imapidle.Session
	domain string
}

func (s imapSession) Login(username, password string) error {
	username = strings.ToLower(username)
	if !strings.Contains(username, "@") {
		username += "@" + s.domain
	}
	return s.Session.Login(username, password)
}

// stdLogger lets the mail servers log through slog.
type stdLogger struct{ log *slog.Logger }

func (l stdLogger) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (l stdLogger) Println(v ...any) { l.log.Warn(strings.TrimSpace(fmt.Sprintln(v...))) }
