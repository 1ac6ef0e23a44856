package slackserver

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

func client(s *Server, token string) *slack.Client {
	return slack.New(token, slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken("xapp-test"))
}

func TestAuth(t *testing.T) {
	s := New(t)
	resp, err := client(s, "xoxb-test").AuthTest()
	if err != nil {
		t.Fatal(err)
	}
	if resp.UserID != BotUserID || resp.BotID != BotID || resp.TeamID != TeamID || resp.User != "intakebot" {
		t.Fatalf("auth.test = %+v", resp)
	}
	if _, err := client(s, "xoxp-user").AuthTest(); err == nil || err.Error() != "invalid_auth" {
		t.Fatalf("user token: err = %v, want invalid_auth", err)
	}
	if _, err := slack.New("", slack.OptionAPIURL(s.APIURL())).AuthTest(); err == nil || err.Error() != "not_authed" {
		t.Fatalf("no token: err = %v, want not_authed", err)
	}
	if _, _, err := slack.New("xoxb-test", slack.OptionAPIURL(s.APIURL())).StartSocketModeContext(context.Background()); err == nil || err.Error() != "not_authed" {
		t.Fatalf("apps.connections.open without app token: err = %v, want not_authed", err)
	}
	if _, err := client(s, "xoxb-test").GetBotInfo(slack.GetBotInfoParameters{Bot: BotID}); err == nil || err.Error() != "unknown_method" {
		t.Fatalf("unknown method: err = %v", err)
	}
	if got := s.Calls("bots.info"); got != 1 {
		t.Fatalf("Calls(bots.info) = %d", got)
	}
}

func TestPostUpdateReplies(t *testing.T) {
	s := New(t)
	s.AddUser(User{ID: "U1", Name: "ana", RealName: "Ana"})
	api := client(s, "xoxb-test")
	section := slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*ticket*", false, false), nil, nil)
	meta := slack.SlackMetadata{EventType: "intake_ticket", EventPayload: map[string]any{"ticket": "T-1"}}

	ch, ts, err := api.PostMessage("U1", slack.MsgOptionText("hola", false), slack.MsgOptionBlocks(section), slack.MsgOptionMetadata(meta))
	if err != nil {
		t.Fatal(err)
	}
	if ch != "DU1" || ts != "1700000000.000100" {
		t.Fatalf("posted to %s at %s", ch, ts)
	}
	_, replyTS, err := api.PostMessage(ch, slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts))
	if err != nil {
		t.Fatal(err)
	}
	if replyTS <= ts {
		t.Fatalf("ts not increasing: %s then %s", ts, replyTS)
	}
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionText("updated", false), slack.MsgOptionBlocks()); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := api.UpdateMessage(ch, "1.2", slack.MsgOptionText("x", false)); err == nil || err.Error() != "message_not_found" {
		t.Fatalf("update of missing message: err = %v", err)
	}

	msgs, _, _, err := api.GetConversationReplies(&slack.GetConversationRepliesParameters{ChannelID: ch, Timestamp: ts, IncludeAllMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Timestamp != ts || msgs[1].Timestamp != replyTS || msgs[1].ThreadTimestamp != ts {
		t.Fatalf("replies = %+v", msgs)
	}
	parent := msgs[0]
	if parent.Text != "updated" || len(parent.Blocks.BlockSet) != 0 || parent.User != BotUserID || parent.BotID != BotID || parent.ReplyCount != 1 {
		t.Fatalf("parent = %+v", parent.Msg)
	}
	if parent.Metadata.EventType != "intake_ticket" || parent.Metadata.EventPayload["ticket"] != "T-1" {
		t.Fatalf("metadata = %+v", parent.Metadata)
	}

	hist, err := api.GetConversationHistory(&slack.GetConversationHistoryParameters{ChannelID: ch})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Messages) != 1 || hist.Messages[0].Metadata.EventType != "" {
		t.Fatalf("history without metadata = %+v", hist.Messages)
	}

	stored := s.Messages("U1")
	if len(stored) != 2 || stored[0].Updated != 1 || stored[0].Blocks != nil || stored[0].Metadata.EventType != "intake_ticket" || stored[1].ThreadTS != ts {
		t.Fatalf("stored = %+v", stored)
	}
	if m, ok := s.Message("DU1", replyTS); !ok || m.Text != "reply" {
		t.Fatalf("Message = %+v, %v", m, ok)
	}
}

func TestUsersEphemeralsViews(t *testing.T) {
	s := New(t)
	s.AddUser(User{ID: "U1", Name: "ana", RealName: "Ana García", Email: "ana@example.com", Locale: "es-ES"})
	api := client(s, "xoxb-test")

	u, err := api.GetUserInfo("U1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Locale != "es-ES" || u.Profile.Email != "ana@example.com" || u.RealName != "Ana García" || u.IsBot {
		t.Fatalf("users.info = %+v", u)
	}
	if u, _ := api.GetUserInfo("U1", slack.GetUserInfoOptionIncludeLocale(false)); u.Locale != "" {
		t.Fatalf("locale without include_locale: %q", u.Locale)
	}
	if u, err := api.GetUserByEmail("ANA@example.com"); err != nil || u.ID != "U1" {
		t.Fatalf("lookupByEmail = %+v, %v", u, err)
	}
	if _, err := api.GetUserInfo("U404"); err == nil || err.Error() != "user_not_found" {
		t.Fatalf("unknown user: err = %v", err)
	}

	if _, err := api.PostEphemeral("C1", "U1", slack.MsgOptionText("only you", false)); err != nil {
		t.Fatal(err)
	}
	if e := s.Ephemerals(); len(e) != 1 || e[0].Channel != "C1" || e[0].User != "U1" || e[0].Text != "only you" {
		t.Fatalf("ephemerals = %+v", e)
	}

	modal := slack.ModalViewRequest{Type: slack.VTModal, CallbackID: "new_ticket",
		Title: slack.NewTextBlockObject(slack.PlainTextType, "Nuevo", false, false)}
	resp, err := api.OpenView("trig-1", modal)
	if err != nil {
		t.Fatal(err)
	}
	views := s.Views()
	if len(views) != 1 || views[0].TriggerID != "trig-1" || resp.View.ID != views[0].ID || resp.View.CallbackID != "new_ticket" {
		t.Fatalf("views.open = %+v, recorded %+v", resp.View, views)
	}
	if !strings.Contains(string(views[0].View), `"callback_id":"new_ticket"`) {
		t.Fatalf("recorded view = %s", views[0].View)
	}
}

func TestRateLimitAndFail(t *testing.T) {
	s := New(t)
	api := client(s, "xoxb-test")
	s.RateLimit("chat.postMessage", 1, 7)
	_, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Fatalf("err = %v, want RateLimitedError(7s)", err)
	}
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	s.Fail("chat.postMessage", 1, "fatal_error")
	if _, _, err := api.PostMessage("C1", slack.MsgOptionText("hi", false)); err == nil || err.Error() != "fatal_error" {
		t.Fatalf("err = %v, want fatal_error", err)
	}
	if got, msgs := s.Calls("chat.postMessage"), s.Messages("C1"); got != 3 || len(msgs) != 1 {
		t.Fatalf("calls = %d, messages = %d", got, len(msgs))
	}
}

// next returns the next client event of type typ, skipping others.
func next(t *testing.T, c *socketmode.Client, typ socketmode.EventType) socketmode.Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case evt := <-c.Events:
			if evt.Type == typ {
				return evt
			}
		case <-timeout:
			t.Fatalf("no %s event within 10s", typ)
		}
	}
}

func TestSocketMode(t *testing.T) {
	s := New(t)
	sm := socketmode.New(slack.New("xoxb-x", slack.OptionAPIURL(s.APIURL()), slack.OptionAppLevelToken("xapp-x")))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sm.RunContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("socketmode client did not stop")
		}
	})

	next(t, sm, socketmode.EventTypeHello)
	id := s.Push("events_api", map[string]any{
		"token": "x", "team_id": TeamID, "api_app_id": AppID, "type": "event_callback",
		"event_id": "Ev1", "event_time": 1700000000,
		"event": map[string]any{"type": "message", "channel_type": "im", "channel": "DU1",
			"user": "U1", "text": "necesito ayuda", "ts": "1700000001.000100"},
	}, 0)
	evt := next(t, sm, socketmode.EventTypeEventsAPI)
	inner, ok := evt.Data.(slackevents.EventsAPIEvent).InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || inner.ChannelType != "im" || inner.Text != "necesito ayuda" || evt.Request.EnvelopeID != id {
		t.Fatalf("event = %+v", evt)
	}
	if err := sm.Ack(*evt.Request); err != nil {
		t.Fatal(err)
	}
	if payload, err := s.Ack(id, 5*time.Second); err != nil || len(payload) != 0 {
		t.Fatalf("Ack = %s, %v", payload, err)
	}

	s.Disconnect()
	id = s.Push("slash_commands", map[string]any{"command": "/ticket", "text": "new", "user_id": "U1", "trigger_id": "trig"}, 1)
	evt = next(t, sm, socketmode.EventTypeSlashCommand)
	if cmd := evt.Data.(slack.SlashCommand); cmd.Command != "/ticket" || evt.Request.RetryAttempt != 1 || !evt.Request.AcceptsResponsePayload {
		t.Fatalf("slash command = %+v / %+v", cmd, evt.Request)
	}
	if err := sm.Ack(*evt.Request, map[string]any{"text": "ok"}); err != nil {
		t.Fatal(err)
	}
	payload, err := s.Ack(id, 5*time.Second)
	if err != nil || string(payload) != `{"text":"ok"}` {
		t.Fatalf("Ack = %s, %v", payload, err)
	}
	if s.Connections() != 2 || s.Calls("apps.connections.open") != 2 {
		t.Fatalf("connections = %d, opens = %d", s.Connections(), s.Calls("apps.connections.open"))
	}

	s.Push("interactive", map[string]any{"type": "block_actions", "trigger_id": "trig",
		"user": map[string]any{"id": "U1"}, "actions": []any{map[string]any{"type": "button", "block_id": "b1", "action_id": "close", "value": "T-1"}}}, 0)
	// slack-go files an action under BlockActions only when it has a block_id.
	evt = next(t, sm, socketmode.EventTypeInteractive)
	if cb := evt.Data.(slack.InteractionCallback); cb.Type != slack.InteractionTypeBlockActions || cb.ActionCallback.BlockActions[0].ActionID != "close" {
		t.Fatalf("interaction = %+v", cb)
	}
}
