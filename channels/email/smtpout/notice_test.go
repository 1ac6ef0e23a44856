package smtpout

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
)

func loadTexts(t *testing.T) *templates.Set {
	t.Helper()
	texts, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	return texts
}

// TestEveryNoticeRendersInEveryLanguage fails when a message the workflow
// can send has no mail in some language.
func TestEveryNoticeRendersInEveryLanguage(t *testing.T) {
	texts := loadTexts(t)
	inc := &intake.Incident{ID: "INC-000007", Subject: "VPN", Category: "network", Priority: "P2", Reporter: intake.Reporter{Name: "Eva"},
		MailIDs: []string{"root@x", "last@x"}, Actions: []intake.Action{{Author: "bob", Text: "Fixed.", Public: true}}}
	for _, lang := range intake.Langs() {
		for _, kind := range intake.Notices() {
			q := intake.Notice{ID: "INC-000007:" + string(kind) + ":3", Incident: inc.ID, Kind: kind, Lang: lang,
				Route: intake.RouteEmail, Email: "eva@example.test", CreatedAt: time.Now(), Attempts: 1, Action: 1}
			msg, err := Renderer{Texts: texts}.Render(q.Outgoing(inc), inc)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			if !strings.Contains(msg.Subject, "[INC-000007]") || !strings.Contains(msg.Text, "Eva") || msg.InReplyTo != "last@x" || msg.Lang != lang {
				t.Errorf("%s/%s: %+v", lang, kind, msg)
			}
		}
	}
}

// The e-mail channel writes its own mail: from the mailbox the reporter
// wrote to, threaded under their mails, in their language, with a survey
// link signed at delivery for the question it asks.
func TestNotifierWritesAndSendsTheMail(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, func(c *Config) { c.Also = []string{"Soporte <soporte@example.test>"} })
	signer, err := surveylink.NewSigner(testKey(), 0, clock)
	if err != nil {
		t.Fatal(err)
	}
	n := Notifier{Sender: s, Render: Renderer{Texts: loadTexts(t), Links: surveylink.Linker{Signer: signer, BaseURL: "https://hd.example.test/"}}}
	entered := clock().Add(-time.Hour)
	inc := &intake.Incident{ID: "INC-000009", Subject: "La VPN no conecta", State: intake.Validation, Priority: "P3",
		Mailbox: "soporte@example.test", MailIDs: []string{"a@client.test", "b@client.test"},
		EnteredAt: map[intake.State]time.Time{intake.Validation: entered}, Round: 3}
	inc.Reporter = intake.Reporter{Name: "José Núñez", Email: "jose@example.test", Language: intake.Spanish}
	q := intake.Notice{ID: "INC-000009:validation:4", Incident: inc.ID, Kind: intake.NoticeValidation, Route: intake.RouteEmail,
		Lang: intake.Spanish, Email: "jose@example.test", Attempts: 1, Round: 3}
	msg := q.Outgoing(inc)
	if msg.Round != 3 {
		t.Fatalf("round %d, want 3", msg.Round)
	}
	if err := n.Deliver(t.Context(), msg, inc); err != nil {
		t.Fatal(err)
	}
	m := parseMail(t, only(t, ts.be).Data)
	if from, _ := m.header.AddressList("From"); len(from) != 1 || from[0].Address != "soporte@example.test" {
		t.Errorf("From = %v", from)
	}
	if to, _ := m.header.AddressList("To"); len(to) != 1 || to[0].Name != "José Núñez" {
		t.Errorf("To = %v", to)
	}
	if got := m.header.Get("In-Reply-To"); got != "<b@client.test>" {
		t.Errorf("In-Reply-To = %q", got)
	}
	if subj, _ := m.header.Subject(); !strings.Contains(subj, "[INC-000009]") || m.header.Get("Content-Language") != "es" {
		t.Errorf("Subject = %q, Content-Language = %q", subj, m.header.Get("Content-Language"))
	}
	i := strings.Index(m.plain, "https://hd.example.test/s/")
	if i < 0 {
		t.Fatalf("no survey link in:\n%s", m.plain)
	}
	token, _, _ := strings.Cut(strings.Fields(m.plain[i+len("https://hd.example.test/s/"):])[0], "?")
	if c, err := signer.Verify(token); err != nil || c.IncidentID != inc.ID || c.Step != intake.SurveyValidation || c.Round != 3 {
		t.Fatalf("the link does not verify or is not for round 3: %+v %v", c, err)
	}
}

// A notice the channel cannot write is an error, never an empty mail.
func TestNotifierRefusesWhatItCannotWrite(t *testing.T) {
	// Nothing listens on the discard port: whatever reached the network
	// would fail there, not with the errors below.
	s, err := New(Config{Host: "127.0.0.1", Port: 9, TLS: mailtls.None, From: helpdesk, Tokens: testTokens(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n := Notifier{Sender: s, Render: Renderer{Texts: loadTexts(t)}}
	inc := &intake.Incident{ID: "INC-000010", Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test"}}
	msg := intake.Outgoing{ID: "INC-000010:nonsense:1", IncidentID: inc.ID, Kind: "nonsense", Route: intake.RouteEmail,
		Lang: intake.English, Email: "ana@example.test", Attempt: 1}
	if err := n.Deliver(t.Context(), msg, inc); err == nil || !strings.Contains(err.Error(), `no template "nonsense"`) {
		t.Errorf("unknown notice: %v", err)
	}
	msg.Kind = intake.NoticeAck
	if err := n.Deliver(t.Context(), msg, nil); !errors.Is(err, ErrPermanent) || !strings.Contains(err.Error(), "no incident") {
		t.Errorf("no incident: %v, want ErrPermanent", err)
	}
}
