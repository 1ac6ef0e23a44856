package portal_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/channels/portallink"
	"github.com/intakebot/intakebot/channels/web/portal"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/localmail"
	"github.com/intakebot/intakebot/internal/poll"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// clock is the links' and sessions' clock, which a test moves on.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is the portal as serve wires it, on a real Redis, mailing its
// sign-in links through a real SMTP server (local mode's) whose mailbox a
// test reads over IMAP.
type fixture struct {
	t      testing.TB
	rdb    redis.UniversalClient
	prefix string
	store  *redisstore.Store
	engine *workflow.Engine
	mail   *localmail.Server
	srv    *httptest.Server
	clock  *clock
	signer *portallink.Signer
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail)
	rules, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultGroup: "service-desk",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
		Categories: []intake.Category{{Name: "printing", Keywords: []string{"printer", "impresora"}, Group: "service-desk",
			Labels: map[intake.Lang]string{intake.English: "Printing", intake.Spanish: "Impresión"}}},
		CIs: []intake.ConfigItem{
			{Name: "printers", Labels: map[intake.Lang]string{intake.English: "Printers", intake.Spanish: "Impresoras"}},
			{Name: "vpn", Labels: map[intake.Lang]string{intake.English: "VPN access", intake.Spanish: "Acceso VPN"}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
	// The seed knowledge base, in the index the engine suggests from and
	// in the store the portal reads articles from, as serve loads it; an
	// internal article besides, which a reporter must never read.
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	seed = append(seed, internalArticle)
	for _, a := range seed {
		if _, err := store.PutArticle(context.Background(), a, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	engine.UseKB(workflow.Suggestions{Index: kb.NewIndex(seed...), MinScore: kb.DefaultMinScore, Counter: store})
	log := slog.New(slog.DiscardHandler)
	m, err := localmail.Start(localmail.Config{IMAPListen: "127.0.0.1:0", SMTPListen: "127.0.0.1:0", Domain: "desk.test"}, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	hd := m.Account(localmail.Helpdesk)
	host, port, _ := net.SplitHostPort(m.SMTPAddr())
	p, _ := strconv.Atoi(port)
	tokens, err := replytoken.New(replytoken.Config{Addresses: []string{hd.Address}, Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := smtpout.New(smtpout.Config{Host: host, Port: p, TLS: mailtls.None, Username: hd.Address, Password: hd.Password,
		From: "Help desk <" + hd.Address + ">", Tokens: tokens, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	texts, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	pages, err := templates.LoadPortal(templates.Files(), portal.Funcs())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Now()}
	f := &fixture{t: t, rdb: rdb, prefix: prefix, store: store, engine: engine, mail: m, clock: c}
	// The server's address is known only once it listens: the signer
	// is made for it before the handler is set.
	srv := httptest.NewUnstartedServer(nil)
	srv.Start()
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close() })
	f.srv = srv
	f.signer, err = portallink.New([]byte("an example portal key of 32 bytes!"), srv.URL, c.Now)
	if err != nil {
		t.Fatal(err)
	}
	sessions := webui.NewSessions(rdb, prefix, time.Hour, 12*time.Hour, false, c.Now)
	sessions.Path, sessions.Cookie, sessions.Space = "/portal/", "intakebot_portal", "portal"
	srv.Config.Handler = portal.New(portal.Deps{
		Engine: engine, Lister: store, Files: store, Articles: store, Links: store, Pages: pages, Signer: f.signer,
		Mailer:    smtpout.SignInMailer{Sender: sender, Render: smtpout.Renderer{Texts: texts}},
		Sessions:  sessions,
		MailLimit: webui.NewLimiter(rdb, prefix, 3, 15*time.Minute),
		AddrLimit: webui.NewLimiter(rdb, prefix, 50, 15*time.Minute),
		Services:  []string{"printers", "vpn"}, Labels: rules, Log: log, Now: c.Now,
	})
	return f
}

// demo is the local mail server's user: the reporter of these tests.
func (f *fixture) demo() localmail.Account { return f.mail.Account(localmail.Demo) }

// report registers an incident by mail, as the reporter would.
func (f *fixture) report(email, subject string, lang intake.Lang) *intake.Incident {
	f.t.Helper()
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: subject,
		Description: "It stopped this morning.", Reporter: intake.Reporter{Name: "Demo", Email: email, Language: lang}})
	if err != nil {
		f.t.Fatal(err)
	}
	return inc
}

var bob = intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "console"}

// solve takes the incident to validation as an agent would, the note
// saying what was done.
func (f *fixture) solve(id, note string) {
	f.t.Helper()
	ctx := context.Background()
	if inc, _ := f.engine.Get(ctx, id); inc.Owner == "" {
		if _, err := f.engine.Assign(ctx, id, bob, "bob", ""); err != nil {
			f.t.Fatal(err)
		}
	}
	if _, err := f.engine.Move(ctx, id, bob, intake.Solution, ""); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.engine.Move(ctx, id, bob, intake.Validation, note); err != nil {
		f.t.Fatal(err)
	}
}

// publicNote adds an action marked "tell the reporter", as an agent does
// in the console.
func (f *fixture) publicNote(id, text string) {
	f.t.Helper()
	if _, err := f.engine.AddPublicNote(context.Background(), id, bob, text); err != nil {
		f.t.Fatal(err)
	}
}

// signInLink waits for the newest sign-in mail in the demo user's mailbox
// (over IMAP) after n earlier ones, and returns it with its link.
func (f *fixture) signInLink(earlier int) (localmail.Mail, string) {
	f.t.Helper()
	var mail localmail.Mail
	var link string
	poll.Until(f.t, fmt.Sprintf("sign-in mail number %d in %s's mailbox", earlier+1, f.demo().Address), 15*time.Second, func() bool {
		mails, err := localmail.Inbox(context.Background(), f.mail.IMAPAddr(), f.demo(), 0)
		if err != nil {
			f.t.Fatal(err)
		}
		var found []localmail.Mail
		for _, m := range mails {
			if l := signInURL(m); l != "" {
				found = append(found, m)
			}
		}
		if len(found) <= earlier {
			return false
		}
		mail, link = found[0], signInURL(found[0])
		return true
	})
	return mail, link
}

// signInURL is the sign-in link of a mail, or "".
func signInURL(m localmail.Mail) string {
	for _, l := range m.Links {
		if strings.Contains(l, "/portal/login/") {
			return l
		}
	}
	return ""
}

// client is a browser without JavaScript.
type client struct {
	f  *fixture
	hc *http.Client
}

func (f *fixture) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (c *client) do(method, path string, form url.Values, header ...string) (*http.Response, string) {
	c.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	if !strings.HasPrefix(path, "http") {
		path = c.f.srv.URL + path
	}
	req, err := http.NewRequest(method, path, body)
	if err != nil {
		c.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

// askLink asks for a sign-in link for email on the sign-in page.
func (c *client) askLink(email string) (*http.Response, string) {
	c.f.t.Helper()
	_, page := c.do("GET", "/portal/login", nil)
	return c.do("POST", "/portal/login", url.Values{"csrf": {csrf(c.f.t, page)}, "email": {email}})
}

// useLink follows a sign-in link and presses Continue.
func (c *client) useLink(link string) (*http.Response, string) {
	c.f.t.Helper()
	resp, page := c.do("GET", link, nil)
	if resp.StatusCode != 200 {
		return resp, page
	}
	return c.do("POST", link, url.Values{"csrf": {csrf(c.f.t, page)}})
}

func localmailInbox(f *fixture) ([]localmail.Mail, error) {
	return localmail.Inbox(context.Background(), f.mail.IMAPAddr(), f.demo(), 0)
}

// pngBytes is a 1x1 PNG.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

// upload posts the incident page's file form.
func (c *client) upload(path, token, name string, content []byte) (*http.Response, string) {
	c.f.t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	w.WriteField("csrf", token)
	w.WriteField("op", "file")
	fw, _ := w.CreateFormFile("file", name)
	fw.Write(content)
	w.Close()
	req, _ := http.NewRequest("POST", c.f.srv.URL+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}
