package web_test

import (
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/prometheus/client_golang/prometheus"
)

// sink is a real SMTP server (go-smtp) that keeps the mails it accepts.
type sink struct {
	mu    sync.Mutex
	mails []string
}

func (s *sink) NewSession(*smtp.Conn) (smtp.Session, error) { return &sinkSession{s: s}, nil }

func (s *sink) received() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mails...)
}

type sinkSession struct{ s *sink }

func (*sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (x *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	x.s.mails = append(x.s.mails, string(data))
	return nil
}
func (*sinkSession) Reset()        {}
func (*sinkSession) Logout() error { return nil }

// startSink serves a sink on a loopback port and returns its port.
func startSink(t *testing.T) (*sink, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	be := &sink{}
	srv := smtp.NewServer(be)
	srv.Domain = "sink.example.test"
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return be, ln.Addr().(*net.TCPAddr).Port
}

// The README's walk: an agent records the reporter's answers by phone
// right after asking, before the outbox's turn. The questions queued for
// those answers are dropped, not mailed, and GET /api/v1/outbox shows
// them dropped with the reason; what is still news (the acknowledgment,
// the closing) goes out once.
func TestAnsweredQuestionsAreDroppedNotMailed(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	inc := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "The printer jams", "reporter": {"name": "Ana", "email": "ana@example.test"}}`, 201)
	id := inc["id"].(string)
	p := "/api/v1/incidents/" + id
	a.expect("alice", "POST", p+"/transitions", `{"to": "solution"}`, 200)
	a.expect("alice", "POST", p+"/transitions", `{"to": "validation"}`, 200)
	a.expect("alice", "POST", p+"/survey", `{"step": "validation", "answer": "yes"}`, 200)
	a.expect("alice", "POST", p+"/survey", `{"step": "satisfaction", "rating": 5}`, 200)
	a.expect("alice", "POST", p+"/transitions", `{"to": "closed"}`, 200)

	be, port := startSink(t)
	tokens, err := replytoken.New(replytoken.Config{Addresses: []string{"helpdesk@example.test"}, Keys: [][]byte{[]byte("0123456789abcdef0123456789abcdef")}})
	if err != nil {
		t.Fatal(err)
	}
	sender, err := smtpout.New(smtpout.Config{Host: "127.0.0.1", Port: port, TLS: mailtls.None, From: "helpdesk@example.test",
		Tokens: tokens, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	texts, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	n := smtpout.Notifier{Sender: sender, Render: smtpout.Renderer{Texts: texts}}
	reg := prometheus.NewRegistry()
	d := workflow.NewDispatcher(a.store, a.store, intake.RouteEmail, n, slog.New(slog.DiscardHandler),
		workflow.NewMetrics(reg), time.Now)
	sent, err := d.Drain(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	mails := be.received()
	if sent != 2 || len(mails) != 2 {
		t.Fatalf("sent %d, the server got %d mails, want 2 (ack, closed)", sent, len(mails))
	}
	for _, m := range mails {
		if strings.Contains(m, "YES or NO") || strings.Contains(m, "from 1") {
			t.Fatalf("an answered question was mailed:\n%s", m)
		}
	}

	dropped := map[string]string{}
	for _, raw := range a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any) {
		m := raw.(map[string]any)
		if m["incident"] != id {
			continue
		}
		if m["dropped"] != true || m["drop_reason"] == nil || m["dropped_at"] == nil || m["due_at"] != nil {
			t.Fatalf("outbox entry %v: want only dropped questions, each with its reason and time", m)
		}
		dropped[m["kind"].(string)] = m["drop_reason"].(string)
	}
	if len(dropped) != 2 || !strings.Contains(dropped["validation"], "no longer open") || !strings.Contains(dropped["satisfaction"], "no longer open") {
		t.Fatalf("dropped = %v, want validation and satisfaction", dropped)
	}
	if got := counterSum(t, reg, "intakebot_outbox_dropped_total"); got != 2 {
		t.Fatalf("intakebot_outbox_dropped_total = %v, want 2", got)
	}
	// Dropped is final: nothing more goes out.
	if again, err := d.Drain(t.Context()); again != 0 || err != nil || len(be.received()) != 2 {
		t.Fatalf("a second drain sent %d (%v)", again, err)
	}
}

// counterSum adds a counter's values over all its labels.
func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() == name {
			for _, m := range f.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
