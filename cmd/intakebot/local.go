package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Local mode: with no redis.url and no e-mail section, serve runs a mail
// server of its own in memory on loopback (IMAP and SMTP, the same
// go-imap and go-smtp servers the tests use), with a help-desk mailbox the
// bot watches and a demo user's mailbox, and points the e-mail channel at
// it. Anyone can then try the whole mail flow on one machine with any mail
// client or swaks, and the e-mail channel code runs unchanged.

// LocalConfig is the local: section.
type LocalConfig struct {
	IMAPListen string `yaml:"imap_listen"`
	SMTPListen string `yaml:"smtp_listen"`
	Domain     string `yaml:"domain"`
	// Poll is the help-desk mailbox's poll schedule (IDLE is used as well).
	Poll string `yaml:"poll"`
}

// The accounts of the local mail server, by local part.
const (
	localHelpdesk = "helpdesk"
	localDemo     = "demo"
)

// localAccount is one mailbox of the local mail server.
type localAccount struct {
	address, password string
	user              *imapmemserver.User
}

// localMail is the running local mail server.
type localMail struct {
	domain             string
	accounts           map[string]*localAccount // by local part
	imapAddr, smtpAddr string
	busy               []string // fixed addresses that were taken, so a free port was used
	imap               *imapserver.Server
	smtp               *smtp.Server
	serving            sync.WaitGroup // the two Serve loops
}

// localMode reports whether serve runs with nothing configured, which is
// when the local mail server stands in for the help desk's.
func localMode(cfg *Config) bool {
	return cfg.Redis.URL == "" && len(cfg.Email.Mailboxes) == 0 && cfg.Email.SMTP.Host == ""
}

// startLocal starts the local mail server in local mode and configures the
// e-mail channel to watch its help-desk INBOX and send through it. The
// returned stop shuts the server down (a no-op outside local mode).
func startLocal(cfg *Config, stdout io.Writer, log *slog.Logger) (stop func(), err error) {
	if !localMode(cfg) {
		return func() {}, nil
	}
	m, err := startLocalMail(cfg.Local, cfg.Email.MaxMessageBytes, log)
	if err != nil {
		return nil, fmt.Errorf("local mail server: %w", err)
	}
	if err := m.configure(&cfg.Email, cfg.Local.Poll); err != nil {
		m.close()
		return nil, err
	}
	m.printBanner(stdout)
	log.Info("local mail server", "imap", m.imapAddr, "smtp", m.smtpAddr, "domain", m.domain)
	return m.close, nil
}

// startLocalMail creates the accounts and starts IMAP and SMTP.
func startLocalMail(cfg LocalConfig, maxBytes int64, log *slog.Logger) (*localMail, error) {
	domain := strings.ToLower(strings.TrimSpace(cfg.Domain))
	if domain == "" || strings.ContainsAny(domain, "@ <>\t") {
		return nil, fmt.Errorf("local.domain %q is not a mail domain", cfg.Domain)
	}
	m := &localMail{domain: domain, accounts: map[string]*localAccount{}}
	mem := imapmemserver.New()
	for _, name := range []string{localHelpdesk, localDemo} {
		a, err := newLocalAccount(name + "@" + domain)
		if err != nil {
			return nil, err
		}
		m.accounts[name] = a
		mem.AddUser(a.user)
	}
	imapLn, err := m.listen("local.imap_listen", cfg.IMAPListen)
	if err != nil {
		return nil, err
	}
	smtpLn, err := m.listen("local.smtp_listen", cfg.SMTPListen)
	if err != nil {
		imapLn.Close()
		return nil, err
	}
	m.imapAddr, m.smtpAddr = imapLn.Addr().String(), smtpLn.Addr().String()
	m.imap = m.newIMAP(mem, log)
	m.smtp = m.newSMTP(maxBytes, log)
	m.serving.Add(2)
	go func() { defer m.serving.Done(); _ = m.imap.Serve(imapLn) }()
	go func() { defer m.serving.Done(); _ = m.smtp.Serve(smtpLn) }()
	return m, nil
}

// newLocalAccount makes a mailbox with a random password: the server lives
// only as long as the process, so a password per start costs nothing.
func newLocalAccount(address string) (*localAccount, error) {
	password := rand.Text()[:16]
	a := &localAccount{address: address, password: password, user: imapmemserver.NewUser(address, password)}
	folders := []string{"INBOX", "Sent", "Trash"}
	if strings.HasPrefix(address, localHelpdesk+"@") {
		// Where the bot files what it handled.
		folders = []string{"INBOX", "Processed", "Quarantine"}
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
func (m *localMail) listen(key, addr string) (net.Listener, error) {
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

func (m *localMail) newIMAP(mem *imapmemserver.Server, log *slog.Logger) *imapserver.Server {
	return imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return localIMAPSession{SessionIMAP4rev2: mem.NewSession().(imapserver.SessionIMAP4rev2), domain: m.domain}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}, imap.CapIMAP4rev2: {}},
		Logger:       stdLogger{log.With("server", "local imap")},
		InsecureAuth: true, // loopback only, see listen
	})
}

func (m *localMail) newSMTP(maxBytes int64, log *slog.Logger) *smtp.Server {
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &localSMTPSession{m: m}, nil }))
	s.Domain = m.domain
	s.MaxMessageBytes = maxBytes
	s.MaxRecipients = 50
	s.AllowInsecureAuth = true // loopback only, see listen
	s.ReadTimeout, s.WriteTimeout = 5*time.Minute, time.Minute
	s.ErrorLog = stdLogger{log.With("server", "local smtp")}
	return s
}

// configure points the e-mail channel at the local server: the bot reads
// helpdesk's INBOX and sends as helpdesk.
func (m *localMail) configure(email *EmailConfig, poll string) error {
	hd := m.accounts[localHelpdesk]
	imapHost, imapPort, err := hostPort(m.imapAddr)
	if err != nil {
		return err
	}
	smtpHost, smtpPort, err := hostPort(m.smtpAddr)
	if err != nil {
		return err
	}
	mb := MailboxConfig{Name: localHelpdesk, Address: hd.address, Poll: poll,
		ProcessedFolder: "Processed", QuarantineFolder: "Quarantine"}
	mb.IMAP.Host, mb.IMAP.Port, mb.IMAP.TLS = imapHost, imapPort, "none"
	mb.IMAP.Username, mb.IMAP.Password, mb.IMAP.Folder = hd.address, hd.password, "INBOX"
	email.Mailboxes = []MailboxConfig{mb}
	email.SMTP.Host, email.SMTP.Port, email.SMTP.TLS = smtpHost, smtpPort, "none"
	email.SMTP.Username, email.SMTP.Password, email.SMTP.PasswordFile = hd.address, hd.password, ""
	if email.From == "" {
		email.From = "Help desk <" + hd.address + ">"
	}
	return nil
}

func hostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	port, err := strconv.Atoi(p)
	return host, port, err
}

// close stops both servers, dropping open connections, and waits for their
// accept loops.
func (m *localMail) close() {
	_ = m.imap.Close()
	_ = m.smtp.Close()
	m.serving.Wait()
}

// The banner's lines that say where the servers are and who may log in;
// the demo and the tests read them back with localBannerRe.
const (
	localIMAPLine = "  IMAP  %-21s no TLS, any IMAP client\n"
	localSMTPLine = "  SMTP  %-21s no TLS, AUTH PLAIN optional\n"
	localUserLine = "  user  %-28s password %s   %s\n"
)

// localBannerRe reads one line of the banner: IMAP or SMTP and an address,
// or user, an address and a password.
var localBannerRe = regexp.MustCompile(`^  (IMAP|SMTP|user)  (\S+)(?:\s+password (\S+))?`)

// localBanner is what the banner tells: where the mail servers listen and
// the accounts.
type localBanner struct {
	imapAddr, smtpAddr string
	helpdesk, demo     localUser
}

// localUser is an account of the local mail server as the banner shows it.
type localUser struct{ address, password string }

// read takes what a line of serve's output says, if it is a banner line.
func (b *localBanner) read(line string) {
	m := localBannerRe.FindStringSubmatch(line)
	switch {
	case m == nil:
	case m[1] == "IMAP":
		b.imapAddr = m[2]
	case m[1] == "SMTP":
		b.smtpAddr = m[2]
	case strings.HasPrefix(m[2], localHelpdesk+"@"):
		b.helpdesk = localUser{m[2], m[3]}
	case strings.HasPrefix(m[2], localDemo+"@"):
		b.demo = localUser{m[2], m[3]}
	}
}

// complete says whether the whole banner was read.
func (b *localBanner) complete() bool {
	return b.imapAddr != "" && b.smtpAddr != "" && b.helpdesk.password != "" && b.demo.password != ""
}

// printBanner tells the person who started serve how to use the mail server.
func (m *localMail) printBanner(w io.Writer) {
	hd, demo := m.accounts[localHelpdesk], m.accounts[localDemo]
	fmt.Fprintf(w, "Local mail server (in memory, nothing survives a restart) for the domain %s:\n", m.domain)
	fmt.Fprintf(w, localIMAPLine, m.imapAddr)
	fmt.Fprintf(w, localSMTPLine, m.smtpAddr)
	for _, busy := range m.busy {
		fmt.Fprintf(w, "  (%s was taken, so a free port is used)\n", busy)
	}
	fmt.Fprintf(w, localUserLine, hd.address, hd.password, "the help desk: intakebot reads this INBOX")
	fmt.Fprintf(w, localUserLine, demo.address, demo.password, "a user: write to the help desk from here, read the answers here")
	fmt.Fprintf(w, `Try it: send a report as the demo user,
  swaks --server %s --from %s --to %s \
    --header 'Subject: VPN down' --body 'The VPN is down'
then read %s's INBOX with any IMAP client (%s, user and password above) and
answer the questions by replying, or with the links in the mails.
`, m.smtpAddr, demo.address, hd.address, demo.address, m.imapAddr)
	fmt.Fprintln(w)
}

// account finds the mailbox an envelope recipient is delivered to. The
// bot's Reply-To is helpdesk+INC-000001.token@domain, so a "+tag" is
// dropped, as real mail servers do.
func (m *localMail) account(rcpt string) (*localAccount, error) {
	at := strings.LastIndexByte(rcpt, '@')
	if at < 0 || !strings.EqualFold(rcpt[at+1:], m.domain) {
		return nil, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
			Message: fmt.Sprintf("Relaying denied: this local mail server only delivers to @%s addresses", m.domain)}
	}
	local, _, _ := strings.Cut(strings.ToLower(rcpt[:at]), "+")
	a := m.accounts[local]
	if a == nil {
		return nil, &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1},
			Message: fmt.Sprintf("No such mailbox: %s (there are %s@%s and %s@%s)", rcpt, localHelpdesk, m.domain, localDemo, m.domain)}
	}
	return a, nil
}

// login checks an SMTP AUTH PLAIN login.
func (m *localMail) login(username, password string) error {
	for _, a := range m.accounts {
		if strings.EqualFold(username, a.address) && password == a.password {
			return nil
		}
	}
	return smtp.ErrAuthFailed
}

// localSMTPSession is one SMTP conversation. Any local client may send;
// AUTH is offered but not required.
type localSMTPSession struct {
	m  *localMail
	to []*localAccount
}

func (s *localSMTPSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *localSMTPSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error { return s.m.login(username, password) }), nil
}

func (s *localSMTPSession) Mail(string, *smtp.MailOptions) error { s.to = nil; return nil }

func (s *localSMTPSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	a, err := s.m.account(to)
	if err != nil {
		return err
	}
	if !slices.Contains(s.to, a) {
		s.to = append(s.to, a)
	}
	return nil
}

// Data files the mail into each recipient's INBOX.
func (s *localSMTPSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, a := range s.to {
		if _, err := a.user.Append("INBOX", bytes.NewReader(raw), &imap.AppendOptions{Time: time.Now()}); err != nil {
			return fmt.Errorf("deliver to %s: %w", a.address, err)
		}
	}
	return nil
}

func (s *localSMTPSession) Reset()        { s.to = nil }
func (s *localSMTPSession) Logout() error { return nil }

// localIMAPSession is imapmemserver's session with two changes: a user may
// log in as "demo" as well as "demo@domain", and IDLE notices a message
// delivered just before it started (imapmemserver's own misses it until
// the next change, the bug cyrus-imapd fixed as #3668), so the bot sees
// new mail at once.
type localIMAPSession struct {
	imapserver.SessionIMAP4rev2
	domain string
}

func (s localIMAPSession) Login(username, password string) error {
	username = strings.ToLower(username)
	if !strings.Contains(username, "@") {
		username += "@" + s.domain
	}
	return s.SessionIMAP4rev2.Login(username, password)
}

func (s localIMAPSession) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

// stdLogger lets the mail servers log through slog.
type stdLogger struct{ log *slog.Logger }

func (l stdLogger) Printf(format string, v ...any) {
	l.log.Warn(strings.TrimSpace(fmt.Sprintf(format, v...)))
}
func (l stdLogger) Println(v ...any) { l.log.Warn(strings.TrimSpace(fmt.Sprintln(v...))) }
