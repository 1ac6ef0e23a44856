package console_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web/console"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// clock is the sessions' clock, which a test moves on.
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

// fixture is a console as serve wires it, on a real Redis: the store with
// change notices on, the engine, the live hub draining the watch route.
type fixture struct {
	t      testing.TB
	rdb    redis.UniversalClient
	prefix string
	store  *redisstore.Store
	engine *workflow.Engine
	srv    *httptest.Server
	clock  *clock
	// deps are the console's, for a second bot on the same Redis.
	deps console.Deps
}

const password = "correct horse battery staple"

func newFixture(t testing.TB) *fixture { t.Helper(); return newFixtureWith(t, nil) }

// newFixtureWith lets configure change the console's deps; base is the
// console's own address, rdb and prefix its Redis.
func newFixtureWith(t testing.TB, configure func(d *console.Deps, base string, rdb redis.UniversalClient, prefix string)) *fixture {
	t.Helper()
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail).WatchChanges()
	rules, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultGroup: "service-desk",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
		Categories: []intake.Category{{Name: "network", Keywords: []string{"vpn", "wifi"}, Group: "networks",
			Labels: map[intake.Lang]string{intake.English: "Network", intake.Spanish: "Red"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := workflow.NewMetrics(prometheus.NewRegistry())
	engine := workflow.NewEngine(store, rules, m, time.Now).WithGrouper(store)
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	ix := kb.NewIndex(seed...)
	engine.UseKB(workflow.Suggestions{Index: ix, MinScore: kb.DefaultMinScore, Counter: store})
	pages, err := templates.LoadConsole(console.Funcs())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	hub := console.NewHub(rdb, prefix, log)
	drain := workflow.NewDispatcher(store, store, intake.RouteWatch, console.Both{Consoles: console.NewPublisher(rdb, prefix)}, log, m, time.Now)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := hub.Run(ctx, drain, 50*time.Millisecond); err != nil {
			t.Error(err)
		}
	}()
	select {
	case <-hub.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("the hub did not subscribe")
	}
	c := &clock{t: time.Now()}
	timers := workflow.Timers{SLA: map[intake.Priority]workflow.SLATarget{"P3": {Response: 4 * time.Hour, Resolution: 24 * time.Hour}}}
	deps := console.Deps{
		Engine: engine, Grouping: engine, Lister: store, Files: store, Agents: store, Admin: store, Pages: pages,
		Sessions: webui.NewSessions(rdb, prefix, time.Hour, 12*time.Hour, false, c.Now),
		Limiter:  webui.NewLimiter(rdb, prefix, 5, 15*time.Minute),
		Changes:  hub, Timers: timers, Labels: rules, Groups: []string{"service-desk", "networks"},
		KnownErrors: store, KEOps: workflow.NewKnownErrors(engine, store),
		Categories: []string{"network", "general"}, MinScore: kb.DefaultMinScore, KB: store, KBIndex: ix, Log: log, Now: time.Now,
	}
	// Listening before the console exists, so that the console can know
	// its own address (single sign-on's redirect URI).
	srv := httptest.NewUnstartedServer(nil)
	if configure != nil {
		configure(&deps, "http://"+srv.Listener.Addr().String(), rdb, prefix)
	}
	srv.Config.Handler = console.New(deps)
	srv.Start()
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		cancel()
		<-done
	})
	f := &fixture{t: t, rdb: rdb, prefix: prefix, store: store, engine: engine, srv: srv, clock: c, deps: deps}
	for _, a := range []struct {
		name  string
		admin bool
	}{{"alice", false}, {"bob", false}, {"root", true}} {
		if _, err := store.AddAgent(ctx, a.name, a.admin, time.Now()); err != nil {
			t.Fatal(err)
		}
		if err := store.SetPassword(ctx, a.name, password); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// kes are the known-error operations, as the console's deps have them.
func (f *fixture) kes() *workflow.KnownErrors { return workflow.NewKnownErrors(f.engine, f.store) }

// report registers an incident as a reporter would, by mail.
func (f *fixture) report(subject string) *intake.Incident {
	f.t.Helper()
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: subject,
		Description: "It stopped this morning.", Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test", Language: intake.Spanish}})
	if err != nil {
		f.t.Fatal(err)
	}
	return inc
}

// client is a browser without JavaScript: cookies, no redirects followed
// unless asked.
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
	req, err := http.NewRequest(method, c.f.srv.URL+path, body)
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

// csrf is the token of the first form on a page.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token on the page:\n%s", page)
	}
	return m[1]
}

// login signs in and returns the queue page.
func (c *client) login(name, pw string) (*http.Response, string) {
	c.f.t.Helper()
	_, page := c.do("GET", "/console/login", nil)
	return c.do("POST", "/console/login", url.Values{"csrf": {csrf(c.f.t, page)}, "name": {name}, "password": {pw}})
}
