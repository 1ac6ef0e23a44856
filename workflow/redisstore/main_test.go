package redisstore_test

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// clock is a test clock that advances only when told.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type fixture struct {
	rules  *intake.Rules
	rdb    redis.UniversalClient
	prefix string // the store's key prefix, the test's own
	store  *redisstore.Store
	engine *workflow.Engine
	clock  *clock
	texts  *templates.Set
	m      *workflow.Metrics
}

func rules(t testing.TB) *intake.Rules {
	r, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultGroup: "service-desk",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
		Categories: []intake.Category{
			{Name: "email", Keywords: []string{"email", "correo", "outlook"}, Group: "messaging",
				Labels: map[intake.Lang]string{intake.English: "E-mail", intake.Spanish: "Correo electrónico"}},
			{Name: "network", Keywords: []string{"vpn", "red", "wifi"}, Group: "networks"},
		},
		CIs:             []intake.ConfigItem{{Name: "exchange", Aliases: []string{"outlook", "correo"}}},
		ImpactKeywords:  map[intake.Level][]string{intake.High: {"everyone", "todos"}},
		UrgencyKeywords: map[intake.Level][]string{intake.High: {"urgent", "urgente", "caído"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newFixture(t testing.TB) *fixture {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	return newFixtureOn(t, rdb, prefix)
}

func newFixtureOn(t testing.TB, rdb redis.UniversalClient, prefix string) *fixture {
	texts, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	m := workflow.NewMetrics(prometheus.NewRegistry())
	r := rules(t)
	return &fixture{rdb: rdb, prefix: prefix, store: store, engine: workflow.NewEngine(store, r, m, c.Now), clock: c, texts: texts, m: m, rules: r}
}

func (f *fixture) dispatcher(ch intake.Route, n workflow.Notifier) *workflow.Dispatcher {
	return workflow.NewDispatcher(f.store, f.store, ch, n, slog.New(slog.DiscardHandler), f.m, f.clock.Now)
}

// recorder is a notifier that keeps what it was asked to deliver; the real
// channels (email, Slack) come with their own issues and tests.
type recorder struct {
	mu    sync.Mutex
	sent  []intake.Outgoing
	incs  []*intake.Incident // the incident each message was delivered with
	fail  error
	calls int // every Deliver, failed or not
}

func (r *recorder) Deliver(_ context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		return r.fail
	}
	r.sent = append(r.sent, msg)
	r.incs = append(r.incs, inc)
	return nil
}

// mails writes the mail of each message sent, as the e-mail channel does.
func (r *recorder) mails(t *testing.T, f *fixture) []smtpout.Mail {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []smtpout.Mail
	for i, msg := range r.sent {
		m, err := smtpout.Renderer{Texts: f.texts, Labels: f.rules}.Render(msg, r.incs[i])
		if err != nil {
			t.Fatalf("%s: %v", msg.ID, err)
		}
		out = append(out, m)
	}
	return out
}

var (
	alice    = intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	bob      = intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "api"}
	root     = intake.Actor{Kind: intake.ActorAgent, Name: "root", Admin: true, Via: "api"}
	byPhone  = intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "phone"}
	reporter = intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email"}
)
