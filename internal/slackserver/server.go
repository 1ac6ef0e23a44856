// Package slackserver is a local Slack peer for tests. It answers the Web API
// methods our Slack channel calls and speaks Socket Mode over a real WebSocket,
// so tests drive the production code through slack-go's own client and wire
// formats instead of through mocks of our interfaces.
package slackserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
)

// Identity of the bot installation the server pretends to be, so tests can
// assert on the IDs the channel learns from auth.test and sees in messages.
const (
	BotUserID = "UBOT"
	BotID     = "BBOT"
	TeamID    = "T0TEAM"
	AppID     = "A0APP"
)

// pingInterval keeps slack-go's dead-man timer (30s by default, checked on a
// ticker) fed, and stays short enough for clients that shrink it with
// socketmode.OptionPingInterval.
const pingInterval = time.Second

// User is a workspace member that users.info and users.lookupByEmail can find.
type User struct {
	ID       string
	Name     string
	RealName string
	Email    string
	Locale   string // e.g. "es-ES"; only returned when include_locale=true, like Slack
	TZ       string // IANA zone; "UTC" when empty
	IsBot    bool
}

// Message is a message as the server stores it, so tests can assert on what
// the bot posted (and on later chat.update edits) without decoding wire JSON.
type Message struct {
	Channel  string
	TS       string
	ThreadTS string // empty for top-level messages
	User     string
	BotID    string
	Text     string
	Blocks   json.RawMessage // nil when the message has no blocks
	Metadata *slack.SlackMetadata
	Updated  int // times chat.update changed it
}

// Ephemeral records a chat.postEphemeral call; ephemerals never appear in history.
type Ephemeral struct {
	Channel  string
	User     string
	TS       string
	ThreadTS string
	Text     string
	Blocks   json.RawMessage
}

// View records a views.open call with the view exactly as the client sent it.
type View struct {
	ID        string
	TriggerID string
	View      json.RawMessage
}

type countdown struct {
	left       int
	retryAfter int
	err        string
}

// Server is a running fake Slack workspace; all methods are safe for
// concurrent use.
type Server struct {
	t   testing.TB
	srv *httptest.Server
	wg  sync.WaitGroup // socket goroutines, so cleanup leaves nothing running

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every state change; see WaitUntil
	closed      bool
	seq         int
	users       map[string]User
	channels    map[string][]*Message
	ephemerals  []Ephemeral
	views       []View
	calls       map[string]int
	limits      map[string]countdown
	fails       map[string]countdown
	tickets     map[string]bool
	socks       []*socket
	connections int
	acks        map[string]json.RawMessage
}

// New starts a server on 127.0.0.1 that shuts down (sockets included) when
// the test ends. The bot itself is a known user.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		t:        t,
		changed:  make(chan struct{}),
		users:    map[string]User{},
		channels: map[string][]*Message{},
		calls:    map[string]int{},
		limits:   map[string]countdown{},
		fails:    map[string]countdown{},
		tickets:  map[string]bool{},
		acks:     map[string]json.RawMessage{},
	}
	s.users[BotUserID] = User{ID: BotUserID, Name: "intakebot", RealName: "Intakebot", IsBot: true}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.serveAPI)
	mux.HandleFunc("/socket", s.serveSocket)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.close)
	return s
}

func (s *Server) close() {
	s.srv.Close() // hijacked sockets are not tracked by httptest, so close them below
	s.mu.Lock()
	s.closed = true
	socks := s.socks
	s.socks = nil
	s.mu.Unlock()
	for _, c := range socks {
		c.close(websocket.CloseGoingAway)
	}
	s.wg.Wait()
}

// APIURL is the value for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.srv.URL + "/api/" }

// AddUser makes a user visible to users.info and users.lookupByEmail.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.notifyLocked()
}

// AddMessage stores a message written by someone else (typically a user whose
// message event a test is about to Push), so history and replies include it.
// A user ID as channel means that user's DM; an empty TS is assigned.
func (s *Server) AddMessage(m Message) Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	m.Channel = dmChannel(m.Channel)
	if m.TS == "" {
		m.TS = s.nextTSLocked()
	}
	s.channels[m.Channel] = append(s.channels[m.Channel], &m)
	s.notifyLocked()
	return m
}

// Messages returns a channel's messages (top level and replies) in post order,
// with chat.update edits applied. A user ID means that user's DM.
func (s *Server) Messages(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[dmChannel(channel)] {
		out = append(out, *m)
	}
	return out
}

// Message looks up one message by channel and ts.
func (s *Server) Message(channel, ts string) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.findLocked(dmChannel(channel), ts); m != nil {
		return *m, true
	}
	return Message{}, false
}

// Ephemerals returns chat.postEphemeral calls in order.
func (s *Server) Ephemerals() []Ephemeral {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ephemerals)
}

// Views returns views.open calls in order.
func (s *Server) Views() []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.views)
}

// Calls counts calls of a Web API method, including rejected and unknown ones,
// so tests can assert on retries and on work the bot should not do.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// RateLimit makes the next `times` calls of method answer HTTP 429 with
// Retry-After: retryAfter seconds, which slack-go turns into *slack.RateLimitedError.
func (s *Server) RateLimit(method string, times, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.limits[method] = countdown{left: times, retryAfter: retryAfter}
}

// Fail makes the next `times` calls of method answer {"ok":false,"error":slackError}.
func (s *Server) Fail(method string, times int, slackError string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fails[method] = countdown{left: times, err: slackError}
}

// Connections counts Socket Mode WebSockets accepted so far (apps.connections.open
// calls are in Calls), so tests can see that the client reconnected.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connections
}

// WaitUntil re-evaluates cond after every change to the server's state (API
// call, connection, ack) until it is true or timeout passes, so tests can wait
// for the bot's asynchronous reactions without sleeping. cond may call any
// Server method.
func (s *Server) WaitUntil(timeout time.Duration, cond func() bool) bool {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ch := s.changed // taken before cond so no change is missed
		s.mu.Unlock()
		if cond() {
			return true
		}
		select {
		case <-ch:
		case <-timer.C:
			return cond()
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// nextTSLocked returns Slack-style timestamps that sort as strings too.
func (s *Server) nextTSLocked() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", 1700000000+s.seq/10000, s.seq%10000*100)
}

func (s *Server) findLocked(channel, ts string) *Message {
	for _, m := range s.channels[channel] {
		if m.TS == ts {
			return m
		}
	}
	return nil
}

// dmChannel maps a user ID to its DM channel, as chat.postMessage does.
func dmChannel(id string) string {
	if strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W") {
		return "D" + id
	}
	return id
}
