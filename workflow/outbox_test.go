package workflow

import (
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
)

// TestEveryNoticeRendersInEveryLanguage fails when a message the workflow
// sends has no template in one of the languages.
func TestEveryNoticeRendersInEveryLanguage(t *testing.T) {
	texts, err := templates.Load()
	if err != nil {
		t.Fatal(err)
	}
	inc := &intake.Incident{ID: "INC-000007", Subject: "VPN", Category: "network", Priority: "P2", Reporter: intake.Reporter{Name: "Eva"},
		MailIDs: []string{"root@x", "last@x"}}
	for _, lang := range intake.Langs() {
		for _, kind := range intake.Notices() {
			q := intake.Notice{ID: "INC-000007:" + string(kind) + ":3", Incident: inc.ID, Kind: kind, Lang: lang,
				Route: intake.RouteEmail, Email: "eva@example.test", CreatedAt: time.Now(), Attempts: 1}
			msg, err := Renderer{Texts: texts}.Render(q, inc)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			if !strings.Contains(msg.Subject, "[INC-000007]") || !strings.Contains(msg.Text, "Eva") || msg.InReplyTo != "last@x" || msg.Lang != lang {
				t.Errorf("%s/%s: %+v", lang, kind, msg)
			}
		}
	}
}
