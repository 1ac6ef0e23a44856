package slack

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/slackserver"
)

func TestMentionInAChannelRegistersOnceAndAnswersInItsThread(t *testing.T) {
	w := newWorld(t)
	text := "<@" + slackserver.BotUserID + "> the printer on floor 3 is broken"
	m := w.srv.AddMessage(slackserver.Message{Channel: "CGENERAL", User: john, Text: text})
	// Slack sends both a message event and an app_mention for it.
	w.push("events_api", message("CGENERAL", "channel", john, text, m.TS, ""), 0)
	w.push("events_api", callback(map[string]any{"type": "app_mention", "channel": "CGENERAL", "user": john, "text": text, "ts": m.TS, "event_ts": m.TS}), 0)
	inc := w.onlyIncident()
	if inc.Description != "the printer on floor 3 is broken" || inc.Conversation != "CGENERAL/"+m.TS {
		t.Fatalf("incident = %q in %q", inc.Description, inc.Conversation)
	}
	w.drain()
	if r := w.botMessages("CGENERAL"); len(r) != 1 || r[0].ThreadTS != m.TS {
		t.Fatalf("answers = %+v", r)
	}
}

func TestRetriedEventRegistersOnce(t *testing.T) {
	w := newWorld(t)
	m := w.srv.AddMessage(slackserver.Message{Channel: john, User: john, Text: "my laptop will not boot"})
	ev := message(m.Channel, "im", john, m.Text, m.TS, "")
	w.push("events_api", ev, 0)
	w.push("events_api", ev, 1) // Slack's retry: same event_id
	w.push("events_api", ev, 2)
	w.onlyIncident()
	w.drain()
	if r := w.botMessages(john); len(r) != 1 {
		t.Fatalf("%d acknowledgments, want 1", len(r))
	}
	recs, _, err := w.store.Inbound(w.ctx, intake.ChannelSlack, 10, "")
	if err != nil || len(recs) != 1 || recs[0].Outcome != intake.OutcomeCreated {
		t.Fatalf("ledger = %+v, %v", recs, err)
	}
}

func TestThreadMessagesBecomeCommentsOnlyFromTheReporter(t *testing.T) {
	w := newWorld(t)
	ts, ev := w.dm(john, "Excel crashes when I open the budget")
	dm := ev["event"].(map[string]any)["channel"].(string)
	inc := w.onlyIncident()
	reply := w.srv.AddMessage(slackserver.Message{Channel: john, User: john, Text: "It also happens with <https://x.test/b.xlsx|the other file>", ThreadTS: ts})
	w.push("events_api", message(reply.Channel, "im", john, reply.Text, reply.TS, ts), 0)
	// Our own message in the thread, another bot's, and a colleague who
	// does not address the bot change nothing.
	own := message(reply.Channel, "im", slackserver.BotUserID, "I have registered...", "1700000099.000001", ts)
	own["event"].(map[string]any)["bot_id"] = slackserver.BotID
	w.push("events_api", own, 0)
	other := message(reply.Channel, "im", "UOTHERBOT", "beep", "1700000099.000002", ts)
	other["event"].(map[string]any)["bot_id"] = "BOTHER"
	w.push("events_api", other, 0)
	w.push("events_api", message("CGENERAL", "channel", nosy, "just chatting", "1700000099.000003", ""), 0)

	inc = w.incident(inc.ID)
	if len(inc.Comments) != 1 || inc.Comments[0].Text != "It also happens with the other file (https://x.test/b.xlsx)" || inc.Comments[0].Via != "slack" {
		t.Fatalf("comments = %+v", inc.Comments)
	}
	// An edit of the report is kept as a comment.
	edit := callback(map[string]any{"type": "message", "subtype": "message_changed", "channel": dm, "channel_type": "im",
		"message":          map[string]any{"type": "message", "user": john, "text": "Excel crashes when I open any file", "ts": ts},
		"previous_message": map[string]any{"type": "message", "user": john, "text": "Excel crashes when I open the budget", "ts": ts},
		"ts":               "1700000099.000004", "event_ts": "1700000099.000004"})
	w.push("events_api", edit, 0)
	if inc = w.incident(inc.ID); len(inc.Comments) != 2 || inc.Comments[1].Text != "(edited) Excel crashes when I open any file" {
		t.Fatalf("comments after the edit = %+v", inc.Comments)
	}
}

func TestFileShareNamesTheFiles(t *testing.T) {
	w := newWorld(t)
	ev := message(john, "im", john, "screen is flickering", "1700000098.000001", "")
	e := ev["event"].(map[string]any)
	e["subtype"] = "file_share"
	e["files"] = []any{map[string]any{"id": "F1", "name": "flicker.mp4"}}
	w.push("events_api", ev, 0)
	if inc := w.onlyIncident(); !strings.Contains(inc.Description, "[file: flicker.mp4]") {
		t.Fatalf("description = %q", inc.Description)
	}
}

func TestSlashCommandOpensTheFormInTheUsersLanguage(t *testing.T) {
	w := newWorld(t)
	ack := w.push("slash_commands", map[string]any{"command": "/incident", "text": "la impresora no imprime", "user_id": ana,
		"channel_id": "CGENERAL", "trigger_id": "trig-slash"}, 0)
	if len(ack) != 0 && string(ack) != "null" {
		t.Fatalf("ack payload = %s, want none", ack)
	}
	views := w.srv.Views()
	if len(views) != 1 || views[0].TriggerID != "trig-slash" {
		t.Fatalf("views = %+v", views)
	}
	if v := string(views[0].View); !strings.Contains(v, "Comunicar una incidencia") || !strings.Contains(v, "la impresora no imprime") {
		t.Fatalf("form = %s", v)
	}
	// An empty description is refused in the form itself.
	submit := func(desc string) json.RawMessage {
		return w.push("interactive", map[string]any{"type": "view_submission", "user": map[string]any{"id": ana},
			"view": map[string]any{"id": "V123", "callback_id": viewReport, "private_metadata": "es",
				"state": map[string]any{"values": map[string]any{
					"description": map[string]any{"description": map[string]any{"type": "plain_text_input", "value": desc}},
					"ci":          map[string]any{"ci": map[string]any{"type": "plain_text_input", "value": "impresora planta 2"}},
					"urgency":     map[string]any{"urgency": map[string]any{"type": "static_select", "selected_option": map[string]any{"value": "high"}}},
				}}}}, 0)
	}
	if ack := submit("  "); !strings.Contains(string(ack), "Describa el problema") {
		t.Fatalf("empty form ack = %s", ack)
	}
	submit("la impresora no imprime")
	submit("la impresora no imprime") // a double submit
	inc := w.onlyIncident()
	if inc.Urgency != intake.High || inc.Reporter.Language != intake.Spanish || inc.CI != "impresora planta 2" {
		t.Fatalf("incident = %+v", inc)
	}
	w.drain()
	// No thread to answer in: the acknowledgment opens a DM thread, and a
	// reply there is a comment.
	acks := w.botMessages(ana)
	if len(acks) != 1 || acks[0].ThreadTS != "" || !strings.Contains(acks[0].Text, inc.ID) {
		t.Fatalf("DM acknowledgment = %+v", acks)
	}
	reply := w.srv.AddMessage(slackserver.Message{Channel: ana, User: ana, Text: "sale en blanco", ThreadTS: acks[0].TS})
	w.push("events_api", message(reply.Channel, "im", ana, reply.Text, reply.TS, acks[0].TS), 0)
	if inc = w.incident(inc.ID); len(inc.Comments) != 1 {
		t.Fatalf("comments = %+v", inc.Comments)
	}
}

func TestShortcutRegistersTheMessageForItsAuthor(t *testing.T) {
	w := newWorld(t)
	m := w.srv.AddMessage(slackserver.Message{Channel: "CGENERAL", User: ana, Text: "¿alguien más sin wifi?"})
	payload := map[string]any{"type": "message_action", "callback_id": ShortcutCreate, "trigger_id": "t1",
		"user": map[string]any{"id": alice}, "channel": map[string]any{"id": "CGENERAL"},
		"message": map[string]any{"type": "message", "user": ana, "text": m.Text, "ts": m.TS}}
	w.push("interactive", payload, 0)
	w.push("interactive", payload, 0) // used twice on the same message
	inc := w.onlyIncident()
	if inc.Reporter.SlackID != ana || inc.RegisteredBy != "alice" || inc.Conversation != "CGENERAL/"+m.TS {
		t.Fatalf("incident = %+v", inc)
	}
}

func TestUsersInfoFailureDoesNotLoseTheReport(t *testing.T) {
	w := newWorld(t)
	w.srv.Fail("users.info", 1, "fatal_error")
	w.dm("UNEW", "no puedo entrar en la intranet")
	inc := w.onlyIncident()
	if inc.Reporter.SlackID != "UNEW" || inc.Reporter.Name != "UNEW" || inc.Reporter.Language != intake.Spanish {
		t.Fatalf("reporter = %+v", inc.Reporter)
	}
}

func TestBadPayloadsAreAcknowledgedAndChangeNothing(t *testing.T) {
	w := newWorld(t)
	w.push("events_api", map[string]any{"type": "event_callback", "event": "not an object"}, 0)
	w.push("interactive", map[string]any{"type": "block_actions", "actions": []any{}}, 0)
	w.push("interactive", map[string]any{"type": "block_actions", "user": map[string]any{"id": ana},
		"actions": []any{map[string]any{"action_id": actionYes, "block_id": "b", "value": "INC-999999"}}}, 0)
	w.push("interactive", map[string]any{"type": "block_actions", "user": map[string]any{"id": ana},
		"actions": []any{map[string]any{"action_id": actionYes, "block_id": "b", "value": "not-an-id"}}}, 0)
	w.push("slash_commands", map[string]any{"command": "/incident"}, 0)
	page, err := w.store.List(w.ctx, intake.ListFilter{Limit: 10})
	if err != nil || len(page.Incidents) != 0 {
		t.Fatalf("incidents = %d, %v", len(page.Incidents), err)
	}
	if w.srv.Connections() != 1 {
		t.Fatalf("the bad payloads cost the connection: %d connections", w.srv.Connections())
	}
}

// The socket drops and comes back: events keep flowing.
func TestReconnectsAfterTheSocketDrops(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "first problem")
	w.srv.Disconnect()
	if !w.srv.WaitUntil(10*time.Second, func() bool { return w.srv.Connections() >= 2 }) {
		t.Fatal("no reconnect")
	}
	w.dm(john, "second problem")
	page, err := w.store.List(w.ctx, intake.ListFilter{Limit: 10})
	if err != nil || len(page.Incidents) != 2 {
		t.Fatalf("incidents = %d, %v", len(page.Incidents), err)
	}
}
