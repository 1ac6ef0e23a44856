package web_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/email/replytoken"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/prometheus/client_golang/prometheus"
)

// An action sent with "public": true is a note to the reporter: kept with
// its flag and queued to them once; without it the action stays internal
// and nothing is queued. A public note obeys the validation lock, and a
// flag that is not a boolean is a clear 400.
func TestAPIPublicNote(t *testing.T) {
	a := newAPI(t)
	a.agent("alice", false)
	id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "vpn", "reporter": {"email": "eva@example.test"}}`, 201)["id"].(string)
	p := "/api/v1/incidents/" + id
	queued := func() int {
		t.Helper()
		return len(a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any))
	}
	before := queued() // the acknowledgment
	a.expect("alice", "POST", p+"/actions", `{"text": "INTERNAL: checked the gateway"}`, 201)
	if n := queued(); n != before {
		t.Fatalf("an internal action queued %d messages", n-before)
	}
	inc := a.expect("alice", "POST", p+"/actions", `{"text": "Please reconnect now.", "public": true}`, 201)
	actions := inc["actions"].([]any)
	if len(actions) != 2 || actions[0].(map[string]any)["public"] != nil || actions[1].(map[string]any)["public"] != true {
		t.Fatalf("actions %v: want the second one public", actions)
	}
	msgs := a.expect("alice", "GET", "/api/v1/outbox", "", 200)["messages"].([]any)
	if len(msgs) != before+1 {
		t.Fatalf("outbox %v: want the note queued once", msgs)
	}
	found := false
	for _, m := range msgs {
		if m := m.(map[string]any); m["kind"] == "note" && m["action"] == float64(2) && m["email"] == "eva@example.test" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no note for action 2 in %v", msgs)
	}
	out := a.expect("alice", "POST", p+"/actions", `{"text": "x", "public": "yes"}`, 400)
	if out["code"] != "invalid" {
		t.Fatalf("code %v", out["code"])
	}
	a.expect("alice", "POST", p+"/transitions", `{"to": "solution"}`, 200)
	a.expect("alice", "POST", p+"/transitions", `{"to": "validation"}`, 200)
	if out := a.expect("alice", "POST", p+"/actions", `{"text": "hello", "public": true}`, 409); out["code"] != "locked_in_validation" {
		t.Fatalf("code %v", out["code"])
	}
}

// A public note written through the API reaches the reporter's mailbox
// over real SMTP once, in their language, with its text; the internal
// actions around it never do, and draining again sends nothing more.
func TestPublicNoteIsMailedOnceAndActionsNever(t *testing.T) {
	for _, c := range []struct{ lang, subject, intro string }{
		{"en", "The printer jams", "has a message"},
		{"es", "La impresora se atasca", "tiene un"},
	} {
		t.Run(c.lang, func(t *testing.T) {
			a := newAPI(t)
			a.agent("alice", false)
			id := a.expect("alice", "POST", "/api/v1/incidents", `{"subject": "`+c.subject+`", "reporter": {"name": "Ana", "email": "ana@example.test", "language": "`+c.lang+`"}}`, 201)["id"].(string)
			p := "/api/v1/incidents/" + id + "/actions"
			a.expect("alice", "POST", p, `{"text": "INTERNAL: fuser unit ordered"}`, 201)
			a.expect("alice", "POST", p, `{"text": "Use the printer on floor 3 until Monday.", "public": true}`, 201)
			a.expect("alice", "POST", p, `{"text": "INTERNAL: vendor ticket 4711"}`, 201)

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
			d := workflow.NewDispatcher(a.store, a.store, intake.RouteEmail, smtpout.Notifier{Sender: sender, Render: smtpout.Renderer{Texts: texts}},
				slog.New(slog.DiscardHandler), workflow.NewMetrics(prometheus.NewRegistry()), time.Now)
			if sent, err := d.Drain(t.Context()); sent != 2 || err != nil {
				t.Fatalf("sent %d (%v), want 2 (acknowledgment, note)", sent, err)
			}
			if again, err := d.Drain(t.Context()); again != 0 || err != nil {
				t.Fatalf("a second drain sent %d (%v)", again, err)
			}
			notes := 0
			for _, raw := range be.received() {
				m := readable(t, raw)
				if strings.Contains(m, "INTERNAL") {
					t.Fatalf("an internal action was mailed:\n%s", m)
				}
				if strings.Contains(m, "Use the printer on floor 3 until Monday.") {
					notes++
					if !strings.Contains(m, c.intro) || !strings.Contains(raw, "Content-Language: "+c.lang) || !strings.Contains(raw, "ana@example.test") {
						t.Fatalf("note mail:\n%s", m)
					}
				}
			}
			if notes != 1 {
				t.Fatalf("the note reached the mailbox %d times, want once; mails:\n%s", notes, strings.Join(be.received(), "\n----\n"))
			}
		})
	}
}

// readable is a mail's headers and its decoded text parts.
func readable(t *testing.T, raw string) string {
	t.Helper()
	r, err := gomail.CreateReader(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return b.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.Header.(*gomail.InlineHeader); ok {
			body, _ := io.ReadAll(p.Body)
			b.Write(body)
			b.WriteString("\n")
		}
	}
}
