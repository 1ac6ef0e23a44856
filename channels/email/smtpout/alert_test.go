package smtpout

import (
	"context"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// The alert test runs the real outbox (Redis) into the real SMTP server.
func TestMain(m *testing.M) { os.Exit(redistest.Main(m)) }

// A new incident of the networks group mails its alert once to each
// listener: in English to the desk, in Spanish to the networks group,
// each with the console link; a second drain sends nothing.
func TestAgentAlertMailIsSentOnceInEachListenersLanguage(t *testing.T) {
	ctx := context.Background()
	rdb, prefix := redistest.New(t, redisstore.Connect)
	store := redisstore.New(rdb, prefix, intake.RouteEmail).AlertAgents([]redisstore.AlertTarget{
		{Route: intake.RouteAgentMail, Email: "desk@example.test", Lang: intake.English, Alerts: intake.Alerts()},
		{Route: intake.RouteAgentMail, Email: "redes@example.test", Lang: intake.Spanish, Alerts: intake.Alerts(), Groups: []string{"networks"}},
		{Route: intake.RouteAgentMail, Email: "mail-team@example.test", Lang: intake.English, Alerts: intake.Alerts(), Groups: []string{"messaging"}},
	})
	rules, err := intake.NewRules(intake.RulesConfig{DefaultLanguage: intake.English, DefaultCategory: "general",
		DefaultGroup: "service-desk", DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
		Categories: []intake.Category{{Name: "network", Keywords: []string{"vpn"}, Group: "networks"}}})
	if err != nil {
		t.Fatal(err)
	}
	m := workflow.NewMetrics(prometheus.NewRegistry())
	engine := workflow.NewEngine(store, rules, m, time.Now)
	inc, err := engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "La VPN no conecta",
		Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test"}})
	if err != nil {
		t.Fatal(err)
	}

	ts := startServer(t, &backend{}, serverOpts{})
	n := Notifier{Sender: newSender(t, ts, nil), Render: Renderer{Texts: loadTexts(t), Org: goldenOrg,
		ConsoleURL: func(id string) string { return "https://hd.example.test/console/incidents/" + id }}}
	d := workflow.NewDispatcher(store, store, intake.RouteAgentMail, n, slog.New(slog.DiscardHandler), m, time.Now)
	for range 2 {
		if _, err := d.Drain(ctx); err != nil {
			t.Fatal(err)
		}
	}
	got := ts.be.messages()
	var to []string
	for _, r := range got {
		to = append(to, r.To...)
	}
	slices.Sort(to)
	if !slices.Equal(to, []string{"desk@example.test", "redes@example.test"}) {
		t.Fatalf("mailed %v, want each of desk and redes once", to)
	}
	link := "https://hd.example.test/console/incidents/" + inc.ID
	for _, r := range got {
		mail := parseMail(t, r.Data)
		subject, _ := mail.header.Subject()
		want, lang := "New incident", "en"
		if r.To[0] == "redes@example.test" {
			want, lang = "Nueva incidencia", "es"
		}
		if !strings.Contains(subject, "["+inc.ID+"] "+want) || mail.header.Get("Content-Language") != lang ||
			!strings.Contains(mail.plain, link) || !strings.Contains(mail.html, link) {
			t.Errorf("mail to %s: subject %q, language %q:\n%s", r.To[0], subject, mail.header.Get("Content-Language"), mail.plain)
		}
		// To an agent, not threaded under the reporter's mail.
		if mail.header.Get("In-Reply-To") != "" {
			t.Errorf("mail to %s is threaded under the reporter's", r.To[0])
		}
	}
}
