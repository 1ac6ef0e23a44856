package slackserver

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/slack-go/slack"
)

type obj = map[string]any

func errObj(code string) obj { return obj{"ok": false, "error": code} }

type method struct {
	appToken bool // apps.connections.open wants xapp-, everything else xoxb-
	fn       func(*Server, args) obj
}

var methods = map[string]method{
	"auth.test":             {fn: (*Server).authTest},
	"chat.postMessage":      {fn: (*Server).chatPostMessage},
	"chat.update":           {fn: (*Server).chatUpdate},
	"chat.postEphemeral":    {fn: (*Server).chatPostEphemeral},
	"users.info":            {fn: (*Server).usersInfo},
	"users.lookupByEmail":   {fn: (*Server).usersLookupByEmail},
	"views.open":            {fn: (*Server).viewsOpen},
	"conversations.open":    {fn: (*Server).conversationsOpen},
	"conversations.history": {fn: (*Server).conversationsHistory},
	"conversations.replies": {fn: (*Server).conversationsReplies},
	"apps.connections.open": {appToken: true, fn: (*Server).appsConnectionsOpen},
}

// args hides whether a call came form-encoded (most of slack-go, with JSON
// values such as blocks and metadata as strings) or as a JSON body (views.*,
// apps.connections.open).
type args struct {
	form url.Values
	js   map[string]json.RawMessage
}

func readArgs(r *http.Request) (args, error) {
	if err := r.ParseForm(); err != nil {
		return args{}, err
	}
	a := args{form: r.Form}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return a, err
		}
		if len(bytes.TrimSpace(body)) > 0 {
			return a, json.Unmarshal(body, &a.js)
		}
	}
	return a, nil
}

func (a args) has(k string) bool {
	_, ok := a.js[k]
	return ok || a.form.Has(k)
}

func (a args) str(k string) string {
	if raw, ok := a.js[k]; ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	return a.form.Get(k)
}

// raw returns a JSON-valued argument whether it arrived as a form string or
// as (a string inside) a JSON body.
func (a args) raw(k string) json.RawMessage {
	if raw, ok := a.js[k]; ok && !bytes.HasPrefix(raw, []byte(`"`)) {
		return raw
	}
	if v := a.str(k); v != "" {
		return json.RawMessage(v)
	}
	return nil
}

func (a args) flag(k string) bool {
	v := a.str(k)
	return v == "1" || v == "true"
}

func (a args) int(k string, def, most int) int {
	n, err := strconv.Atoi(a.str(k))
	if err != nil || n <= 0 || n > most {
		return def
	}
	return n
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/api/")
	a, err := readArgs(r)
	status, retryAfter, resp := s.call(name, r, a, err)
	if _, ok := resp["ok"]; !ok {
		resp["ok"] = true
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (s *Server) call(name string, r *http.Request, a args, argErr error) (status, retryAfter int, resp obj) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.notifyLocked()
	s.calls[name]++
	m, ok := methods[name]
	if !ok {
		return http.StatusOK, 0, errObj("unknown_method")
	}
	if argErr != nil {
		return http.StatusOK, 0, errObj("invalid_arguments")
	}
	// slack-go puts the token in the form body for form posts and in the
	// Authorization header for JSON posts; Slack accepts both.
	token := a.str("token")
	if h, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = h
	}
	prefix := "xoxb-"
	if m.appToken {
		prefix = "xapp-"
	}
	switch {
	case token == "":
		return http.StatusOK, 0, errObj("not_authed")
	case !strings.HasPrefix(token, prefix):
		return http.StatusOK, 0, errObj("invalid_auth")
	}
	if c := s.limits[name]; c.left > 0 {
		c.left--
		s.limits[name] = c
		return http.StatusTooManyRequests, c.retryAfter, errObj("ratelimited")
	}
	if c := s.fails[name]; c.left > 0 {
		c.left--
		s.fails[name] = c
		return http.StatusOK, 0, errObj(c.err)
	}
	return http.StatusOK, 0, m.fn(s, a)
}

func (s *Server) authTest(args) obj {
	return obj{
		"url":     "https://intakebot.slack.com/",
		"team":    "Intakebot",
		"user":    "intakebot",
		"team_id": TeamID,
		"user_id": BotUserID,
		"bot_id":  BotID,
	}
}

// content reads the blocks and metadata arguments, which slack-go sends as
// JSON strings inside the form; "[]" means no blocks.
func content(a args) (blocks json.RawMessage, md *slack.SlackMetadata, errCode string) {
	if raw := a.raw("blocks"); raw != nil {
		var list []json.RawMessage
		if json.Unmarshal(raw, &list) != nil {
			return nil, nil, "invalid_blocks"
		}
		if len(list) > 0 {
			blocks = raw
		}
	}
	if raw := a.raw("metadata"); raw != nil {
		md = new(slack.SlackMetadata)
		if json.Unmarshal(raw, md) != nil {
			return nil, nil, "invalid_metadata_format"
		}
		if md.EventType == "" {
			md = nil
		}
	}
	return blocks, md, ""
}

func (s *Server) chatPostMessage(a args) obj {
	ch := dmChannel(a.str("channel"))
	if ch == "" {
		return errObj("channel_not_found")
	}
	blocks, md, code := content(a)
	if code != "" {
		return errObj(code)
	}
	text := a.str("text")
	if text == "" && blocks == nil {
		return errObj("no_text")
	}
	m := &Message{Channel: ch, TS: s.nextTSLocked(), ThreadTS: a.str("thread_ts"),
		User: BotUserID, BotID: BotID, Text: text, Blocks: blocks, Metadata: md}
	s.channels[ch] = append(s.channels[ch], m)
	return obj{"channel": ch, "ts": m.TS, "message": s.wireLocked(m, true)}
}

// chatUpdate replaces only the fields sent, as Slack does.
func (s *Server) chatUpdate(a args) obj {
	ch, ts := a.str("channel"), a.str("ts")
	m := s.findLocked(ch, ts)
	if m == nil {
		return errObj("message_not_found")
	}
	if m.BotID != BotID {
		return errObj("cant_update_message")
	}
	blocks, md, code := content(a)
	if code != "" {
		return errObj(code)
	}
	if a.has("text") {
		m.Text = a.str("text")
	}
	if a.has("blocks") {
		m.Blocks = blocks
	}
	if a.has("metadata") {
		m.Metadata = md
	}
	m.Updated++
	return obj{"channel": ch, "ts": ts, "text": m.Text, "message": s.wireLocked(m, true)}
}

func (s *Server) chatPostEphemeral(a args) obj {
	e := Ephemeral{Channel: a.str("channel"), User: a.str("user"), ThreadTS: a.str("thread_ts"), Text: a.str("text")}
	if e.Channel == "" {
		return errObj("channel_not_found")
	}
	if e.User == "" {
		return errObj("user_not_found")
	}
	var code string
	if e.Blocks, _, code = content(a); code != "" {
		return errObj(code)
	}
	if e.Text == "" && e.Blocks == nil {
		return errObj("no_text")
	}
	e.TS = s.nextTSLocked()
	s.ephemerals = append(s.ephemerals, e)
	return obj{"message_ts": e.TS}
}

func wireUser(u User, withLocale bool) obj {
	tz := u.TZ
	if tz == "" {
		tz = "UTC"
	}
	profile := obj{"real_name": u.RealName, "real_name_normalized": u.RealName,
		"display_name": u.Name, "display_name_normalized": u.Name}
	if u.Email != "" {
		profile["email"] = u.Email
	}
	o := obj{"id": u.ID, "team_id": TeamID, "name": u.Name, "real_name": u.RealName,
		"deleted": false, "tz": tz, "is_bot": u.IsBot, "profile": profile}
	if withLocale && u.Locale != "" {
		o["locale"] = u.Locale
	}
	return o
}

func (s *Server) usersInfo(a args) obj {
	u, ok := s.users[a.str("user")]
	if !ok {
		return errObj("user_not_found")
	}
	return obj{"user": wireUser(u, a.flag("include_locale"))}
}

func (s *Server) usersLookupByEmail(a args) obj {
	for _, u := range s.users {
		if u.Email != "" && strings.EqualFold(u.Email, a.str("email")) {
			return obj{"user": wireUser(u, false)}
		}
	}
	return errObj("users_not_found")
}

// viewsOpen echoes the view back with the server-assigned fields slack-go's
// slack.View expects.
func (s *Server) viewsOpen(a args) obj {
	trigger, raw := a.str("trigger_id"), a.raw("view")
	var view map[string]json.RawMessage
	if trigger == "" || json.Unmarshal(raw, &view) != nil || view == nil {
		return errObj("invalid_arguments")
	}
	s.seq++
	id := fmt.Sprintf("V%08d", s.seq)
	set := func(k string, v any) { view[k], _ = json.Marshal(v) }
	set("id", id)
	set("team_id", TeamID)
	set("app_id", AppID)
	set("bot_id", BotID)
	set("app_installed_team_id", TeamID)
	set("root_view_id", id)
	set("hash", fmt.Sprintf("%d.h%06d", 1700000000, s.seq))
	set("state", obj{"values": obj{}})
	s.views = append(s.views, View{ID: id, TriggerID: trigger, View: raw})
	return obj{"view": view}
}

func (s *Server) conversationsOpen(a args) obj {
	users := a.str("users")
	if users == "" || strings.Contains(users, ",") {
		return errObj("invalid_arguments") // group DMs are not modelled
	}
	return obj{"channel": obj{"id": dmChannel(users)}, "no_op": false, "already_open": false}
}

// conversationsHistory is newest first and, like Slack, leaves thread replies out.
func (s *Server) conversationsHistory(a args) obj {
	ch := a.str("channel")
	if ch == "" {
		return errObj("channel_not_found")
	}
	limit := a.int("limit", 100, 1000)
	msgs, more := []wireMessage{}, false
	all := s.channels[ch]
	for i := len(all) - 1; i >= 0; i-- {
		if m := all[i]; m.ThreadTS == "" || m.ThreadTS == m.TS {
			if len(msgs) == limit {
				more = true
				break
			}
			msgs = append(msgs, s.wireLocked(m, a.flag("include_all_metadata")))
		}
	}
	return obj{"messages": msgs, "has_more": more, "pin_count": 0,
		"response_metadata": obj{"next_cursor": ""}}
}

// conversationsReplies returns the parent then its replies; for a reply's ts
// Slack returns just that reply.
func (s *Server) conversationsReplies(a args) obj {
	ch, ts := a.str("channel"), a.str("ts")
	parent := s.findLocked(ch, ts)
	if parent == nil {
		return errObj("thread_not_found")
	}
	meta := a.flag("include_all_metadata")
	msgs := []wireMessage{s.wireLocked(parent, meta)}
	if parent.ThreadTS == "" || parent.ThreadTS == parent.TS {
		for _, m := range s.channels[ch] {
			if m.ThreadTS == ts && m.TS != ts {
				msgs = append(msgs, s.wireLocked(m, meta))
			}
		}
	}
	limit := a.int("limit", 1000, 1000)
	more := len(msgs) > limit
	if more {
		msgs = msgs[:limit]
	}
	return obj{"messages": msgs, "has_more": more, "response_metadata": obj{"next_cursor": ""}}
}

func (s *Server) appsConnectionsOpen(args) obj {
	s.seq++
	ticket := fmt.Sprintf("ticket-%d", s.seq)
	s.tickets[ticket] = true
	return obj{"url": "ws" + strings.TrimPrefix(s.srv.URL, "http") + "/socket?ticket=" + ticket + "&app_id=" + AppID}
}

// wireMessage is a message as Slack serialises it in API responses.
type wireMessage struct {
	Type         string               `json:"type"`
	User         string               `json:"user,omitempty"`
	BotID        string               `json:"bot_id,omitempty"`
	AppID        string               `json:"app_id,omitempty"`
	Team         string               `json:"team"`
	Text         string               `json:"text"`
	TS           string               `json:"ts"`
	ThreadTS     string               `json:"thread_ts,omitempty"`
	ReplyCount   int                  `json:"reply_count,omitempty"`
	LatestReply  string               `json:"latest_reply,omitempty"`
	ParentUserID string               `json:"parent_user_id,omitempty"`
	Blocks       json.RawMessage      `json:"blocks,omitempty"`
	Metadata     *slack.SlackMetadata `json:"metadata,omitempty"`
}

// wireLocked adds the thread bookkeeping Slack computes: a parent with replies
// carries thread_ts = ts, reply_count and latest_reply; a reply names its
// parent's author.
func (s *Server) wireLocked(m *Message, withMetadata bool) wireMessage {
	w := wireMessage{Type: "message", User: m.User, BotID: m.BotID, Team: TeamID,
		Text: m.Text, TS: m.TS, ThreadTS: m.ThreadTS, Blocks: m.Blocks}
	if m.BotID != "" {
		w.AppID = AppID
	}
	if withMetadata {
		w.Metadata = m.Metadata
	}
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		if p := s.findLocked(m.Channel, m.ThreadTS); p != nil {
			w.ParentUserID = p.User
		}
		return w
	}
	for _, r := range s.channels[m.Channel] {
		if r.ThreadTS == m.TS && r.TS != m.TS {
			w.ThreadTS, w.ReplyCount, w.LatestReply = m.TS, w.ReplyCount+1, r.TS
		}
	}
	return w
}
