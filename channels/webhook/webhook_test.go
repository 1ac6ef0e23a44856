package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakebot/intakebot/channels/webhook"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// listener is a webhook receiver: it checks each post's signature itself
// (HMAC-SHA256 over "timestamp.body", not through the package's Verify)
// and answers with the next of its codes.
type listener struct {
	t      *testing.T
	secret []byte
	mu     sync.Mutex
	codes  []int // answers, in turn; the last one stays
	posts  []webhook.Payload
	ids    []string // delivery ids
}

func (l *listener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ts := r.Header.Get(webhook.HeaderTimestamp)
	mac := hmac.New(sha256.New, l.secret)
	mac.Write([]byte(ts + "." + string(body)))
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := r.Header.Get(webhook.HeaderSignature); got != want || r.Method != http.MethodPost {
		l.t.Errorf("%s with signature %q, want %q", r.Method, got, want)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || sec <= 0 {
		l.t.Errorf("timestamp %q", ts)
	}
	var p webhook.Payload
	if err := json.Unmarshal(body, &p); err != nil {
		l.t.Errorf("body %s: %v", body, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	code := l.codes[0]
	if len(l.codes) > 1 {
		l.codes = l.codes[1:]
	}
	l.posts = append(l.posts, p)
	l.ids = append(l.ids, r.Header.Get(webhook.HeaderDelivery))
	w.WriteHeader(code)
	io.WriteString(w, http.StatusText(code))
}

func (l *listener) received() ([]webhook.Payload, []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]webhook.Payload(nil), l.posts...), append([]string(nil), l.ids...)
}

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
	store  *redisstore.Store
	engine *workflow.Engine
	clock  *clock
	d      *workflow.Dispatcher
}

// newFixture is a real store whose new incidents raise an alert for each
// hook, and the webhook route's dispatcher.
func newFixture(t *testing.T, hooks ...webhook.Hook) *fixture {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	c := &clock{t: time.Now().UTC()}
	var targets []redisstore.AlertTarget
	for _, h := range hooks {
		targets = append(targets, redisstore.AlertTarget{Route: intake.RouteWebhook, URL: h.URL, Alerts: intake.Alerts()})
	}
	store := redisstore.New(rdb, prefix, intake.RouteEmail).AlertAgents(targets)
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultGroup: "service-desk", DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium})
	if err != nil {
		t.Fatal(err)
	}
	m := workflow.NewMetrics(prometheus.NewRegistry())
	n := webhook.Notifier{Hooks: hooks, BaseURL: "https://hd.example.test/", Now: c.Now}
	d := workflow.NewDispatcher(store, store, intake.RouteWebhook, n, slog.New(slog.DiscardHandler), m, c.Now)
	d.Timeout = 5 * time.Second
	return &fixture{store: store, engine: workflow.NewEngine(store, rules, m, c.Now), clock: c, d: d}
}

func (f *fixture) register(t *testing.T) *intake.Incident {
	t.Helper()
	inc, err := f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: "The VPN does not connect",
		Reporter: intake.Reporter{Email: "ana@example.test"}})
	if err != nil {
		t.Fatal(err)
	}
	return inc
}

func (f *fixture) alert(t *testing.T) intake.Notice {
	t.Helper()
	list, err := f.store.Outbox(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range list {
		if q.Route == intake.RouteWebhook {
			return q
		}
	}
	return intake.Notice{}
}

func TestPostIsSignedAndRetriedAfterA500(t *testing.T) {
	l := &listener{t: t, secret: []byte("s3cret-s3cret"), codes: []int{500, 204}}
	srv := httptest.NewServer(l)
	defer srv.Close()
	f := newFixture(t, webhook.Hook{URL: srv.URL + "/hook", Secret: l.secret})
	inc := f.register(t)
	ctx := context.Background()

	if n, err := f.d.Drain(ctx); n != 0 || err != nil {
		t.Fatalf("first drain against a 500: %d %v", n, err)
	}
	q := f.alert(t)
	if q.Attempts != 1 || q.Dead || !strings.Contains(q.LastError, "500") {
		t.Fatalf("after the 500: %+v", q)
	}
	f.clock.Add(workflow.Backoff(1))
	if n, err := f.d.Drain(ctx); n != 1 || err != nil {
		t.Fatalf("retry: %d %v", n, err)
	}
	if q := f.alert(t); q.ID != "" {
		t.Fatalf("still queued after the 204: %+v", q)
	}
	posts, ids := l.received()
	if len(posts) != 2 || ids[0] != ids[1] || posts[0].ID != ids[0] {
		t.Fatalf("posts %+v ids %q: want the same delivery twice", posts, ids)
	}
	p := posts[1]
	if p.Event != intake.AlertNew || p.Incident.ID != inc.ID || p.Incident.Subject != inc.Subject ||
		p.URL != "https://hd.example.test/console/incidents/"+inc.ID {
		t.Fatalf("payload %+v", p)
	}
	// The history says the agents were alerted, and about what.
	got, err := f.engine.Get(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if h := got.History[len(got.History)-1]; h.Event != "alerted" || h.Note != "new" || h.Via != "webhook" {
		t.Fatalf("last history entry %+v", h)
	}
	// Nothing more goes out: the alert was delivered once.
	f.clock.Add(time.Hour)
	if n, _ := f.d.Drain(ctx); n != 0 {
		t.Fatal("delivered again")
	}
}

func TestA400DeadLettersAtOnceButA429IsRetried(t *testing.T) {
	refuse := &listener{t: t, secret: []byte("one"), codes: []int{400}}
	busy := &listener{t: t, secret: []byte("two"), codes: []int{429}}
	srvRefuse, srvBusy := httptest.NewServer(refuse), httptest.NewServer(busy)
	defer srvRefuse.Close()
	defer srvBusy.Close()
	f := newFixture(t, webhook.Hook{URL: srvRefuse.URL, Secret: refuse.secret}, webhook.Hook{URL: srvBusy.URL, Secret: busy.secret})
	f.register(t)
	if _, err := f.d.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	list, err := f.store.Outbox(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	byTarget := map[string]intake.Notice{}
	for _, q := range list {
		byTarget[q.Target] = q
	}
	if q := byTarget[srvRefuse.URL]; !q.Dead || q.Attempts != 1 || !strings.Contains(q.LastError, "400") {
		t.Errorf("the 400's alert: %+v", q)
	}
	if q := byTarget[srvBusy.URL]; q.Dead || q.Attempts != 1 || !strings.Contains(q.LastError, "429") {
		t.Errorf("the 429's alert: %+v", q)
	}
}

// A listener that never answers is cut at the dispatcher's timeout
// (outbox.delivery_timeout) and retried later, not waited for.
func TestHungListenerIsCutAtTheDeliveryTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handler
	f := newFixture(t, webhook.Hook{URL: srv.URL, Secret: []byte("x")})
	f.d.Timeout = 200 * time.Millisecond
	f.register(t)
	if n, err := f.d.Drain(context.Background()); n != 0 || err != nil {
		t.Fatalf("drain: %d %v", n, err)
	}
	if q := f.alert(t); q.Dead || q.Attempts != 1 || !strings.Contains(q.LastError, "deadline") {
		t.Fatalf("after the timeout: %+v", q)
	}
}

// A hook removed from the configuration dead-letters its alerts.
func TestAlertForAnUnknownHookIsUndeliverable(t *testing.T) {
	n := webhook.Notifier{Now: time.Now}
	err := n.Deliver(context.Background(), intake.Outgoing{ID: "INC-000001:agent_alert:1:0", Kind: intake.NoticeAgentAlert, Target: "https://gone.example.test"},
		&intake.Incident{ID: "INC-000001"})
	if err == nil || !strings.Contains(err.Error(), "no longer") {
		t.Fatalf("err %v", err)
	}
}

func TestVerify(t *testing.T) {
	secret, body := []byte("k"), []byte(`{"id":"x"}`)
	now := time.Unix(1_800_000_000, 0)
	ts := strconv.FormatInt(now.Unix(), 10)
	sig := webhook.Sign(secret, ts, body)
	if err := webhook.Verify(secret, sig, ts, body, now.Add(time.Minute), 5*time.Minute); err != nil {
		t.Fatalf("a good post: %v", err)
	}
	for name, err := range map[string]error{
		"other body":   webhook.Verify(secret, sig, ts, []byte(`{"id":"y"}`), now, 5*time.Minute),
		"other secret": webhook.Verify([]byte("j"), sig, ts, body, now, 5*time.Minute),
		"replayed":     webhook.Verify(secret, sig, ts, body, now.Add(time.Hour), 5*time.Minute),
		"bad time":     webhook.Verify(secret, sig, "soon", body, now, 5*time.Minute),
		// The timestamp is in the MAC: a fresh one on an old body fails.
		"new time": webhook.Verify(secret, sig, strconv.FormatInt(now.Unix()+60, 10), body, now, 5*time.Minute),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// A hook's URL is often its credential: no delivery error (kept as the
// notice's last_error, listed to agents, logged) quotes its path or query.
func TestDeliveryErrorsDoNotQuoteTheHookURL(t *testing.T) {
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close() // nobody listens there now: the post fails to connect
	secretURL := closed.URL + "/services/s3cr3tT0ken?key=k3y"
	inc := &intake.Incident{ID: "INC-000001"}
	msg := intake.Outgoing{ID: "INC-000001:agent_alert:1:0", Kind: intake.NoticeAgentAlert, Target: secretURL}
	for name, n := range map[string]webhook.Notifier{
		"refused connection": {Now: time.Now, Hooks: []webhook.Hook{{URL: secretURL, Secret: []byte("k")}}},
		"hook removed":       {Now: time.Now},
	} {
		err := n.Deliver(context.Background(), msg, inc)
		if err == nil {
			t.Fatalf("%s: delivered", name)
		}
		if strings.Contains(err.Error(), "s3cr3tT0ken") || strings.Contains(err.Error(), "k3y") {
			t.Errorf("%s: the error quotes the hook's URL: %v", name, err)
		}
	}
}

// A listener that answers 429 with Retry-After is asked again after that
// long, not before and not as a failed attempt; one without the header,
// or with one of hours, gets the usual backoff or at most ten minutes.
func TestA429WithRetryAfterHoldsTheRoute(t *testing.T) {
	for _, c := range []struct {
		header string
		want   time.Duration // 0: the usual backoff (an attempt counted)
	}{{"30", 30 * time.Second}, {"86400", 10 * time.Minute}, {"", 0}, {"soon", 0}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if c.header != "" {
				w.Header().Set("Retry-After", c.header)
			}
			w.WriteHeader(http.StatusTooManyRequests)
		}))
		f := newFixture(t, webhook.Hook{URL: srv.URL, Secret: []byte("x")})
		f.register(t)
		if _, err := f.d.Drain(context.Background()); err != nil {
			t.Fatal(err)
		}
		srv.Close()
		q := f.alert(t)
		if q.Dead || !strings.Contains(q.LastError, "429") {
			t.Fatalf("Retry-After %q: %+v", c.header, q)
		}
		if c.want == 0 {
			if q.Attempts != 1 {
				t.Errorf("Retry-After %q: %d attempts, want 1 (the usual backoff)", c.header, q.Attempts)
			}
			continue
		}
		if got := q.DueAt.Sub(f.clock.Now()); q.Attempts != 0 || got < c.want-time.Second || got > c.want+time.Second {
			t.Errorf("Retry-After %q: due in %s after %d attempts, want %s and none", c.header, got, q.Attempts, c.want)
		}
	}
}
