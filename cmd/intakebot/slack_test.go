package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/slackserver"
)

// serve with a Slack section connects over Socket Mode, registers a DM
// and answers it in its thread, and shows the incident in triage.
func TestServeRunsTheSlackChannel(t *testing.T) {
	slack := slackserver.New(t)
	slack.AddUser(slackserver.User{ID: "UANA", Name: "ana", RealName: "Ana García", Email: "ana@example.test", Locale: "es-ES"})
	s := startServe(t, map[string]string{
		"INTAKEBOT_SLACK_BOT_TOKEN": "xoxb-test", "INTAKEBOT_SLACK_APP_TOKEN": "xapp-test",
		"INTAKEBOT_SLACK_API_URL": slack.APIURL(), "INTAKEBOT_SLACK_TRIAGE_CHANNEL": "CTRIAGE",
		"INTAKEBOT_SLACK_AGENTS": "{UALICE: alice}", "INTAKEBOT_OUTBOX_POLL": "@every 1s",
	})
	m := slack.AddMessage(slackserver.Message{Channel: "UANA", User: "UANA", Text: "No me funciona el correo desde esta mañana"})
	id := slack.Push("events_api", map[string]any{"type": "event_callback", "event_id": "Ev1", "event": map[string]any{
		"type": "message", "channel": m.Channel, "channel_type": "im", "user": "UANA", "text": m.Text, "ts": m.TS}}, 0)
	if _, err := slack.Ack(id, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	answered := func() bool {
		for _, msg := range slack.Messages(m.Channel) {
			if msg.BotID != "" && msg.ThreadTS == m.TS && strings.Contains(msg.Text, "He registrado su incidencia *INC-000001*") {
				return len(slack.Messages("CTRIAGE")) == 1
			}
		}
		return false
	}
	if !slack.WaitUntil(20*time.Second, answered) {
		t.Fatalf("no Spanish answer in the thread and triage card; DM: %+v, triage: %+v", slack.Messages(m.Channel), slack.Messages("CTRIAGE"))
	}
	// The portal is on (local mode): the acknowledgment in ana's DM has
	// her "Ver en el portal" button, and following it opens her incident.
	var link string
	for _, msg := range slack.Messages(m.Channel) {
		if u := regexp.MustCompile(`"url":"([^"]+/portal/i/[^"]+)"`).FindStringSubmatch(string(msg.Blocks)); msg.BotID != "" && u != nil {
			link = u[1]
		}
	}
	if link == "" || !strings.HasPrefix(link, strings.TrimSuffix(s.url, "/")+"/portal/i/") {
		t.Fatalf("no portal button to %s in the DM: %+v", s.url, slack.Messages(m.Channel))
	}
	jar, _ := cookiejar.New(nil)
	page, err := (&http.Client{Jar: jar}).Get(link)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(page.Body)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.HasSuffix(page.Request.URL.Path, "/portal/incidents/INC-000001") || !strings.Contains(string(body), "No me funciona el correo") {
		t.Fatalf("the portal button opened %s (%d), not ana's incident:\n%s", page.Request.URL, page.StatusCode, body)
	}
	out, err := cli(map[string]string{"INTAKEBOT_URL": s.url, "INTAKEBOT_TOKEN": s.token}, "incidents", "show", "--json", "INC-000001")
	if err != nil {
		t.Fatal(err)
	}
	var inc struct {
		Channel  string `json:"channel"`
		Reporter struct {
			SlackID string `json:"slack_id"`
		} `json:"reporter"`
	}
	if err := json.Unmarshal([]byte(out), &inc); err != nil || inc.Channel != "slack" || inc.Reporter.SlackID != "UANA" {
		t.Fatalf("incident = %s (%v)", out, err)
	}
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	health, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(health), `"slack"`) {
		t.Fatalf("/readyz does not show the slack connection: %s", health)
	}
}
