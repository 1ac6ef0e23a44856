package slackserver

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// slack-go dials with "Origin: https://api.slack.com", which gorilla's default
// same-origin check would reject.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

type socket struct {
	conn *websocket.Conn
	wmu  sync.Mutex // gorilla allows only one concurrent data-frame writer
	done chan struct{}
	once sync.Once
}

func (c *socket) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.conn.WriteJSON(v)
}

// close sends a close frame when code != 0 so the client sees a clean
// server-side close rather than a reset.
func (c *socket) close(code int) {
	c.once.Do(func() {
		if code != 0 {
			_ = c.conn.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(code, "refresh_requested"), time.Now().Add(time.Second))
		}
		_ = c.conn.Close()
		close(c.done)
	})
}

// pingLoop feeds the client's dead-man timer: slack-go drops connections on
// which the server has not pinged within its ping interval.
func (c *socket) pingLoop() {
	t := time.NewTicker(pingInterval)
	defer t.Stop()
	for {
		if err := c.conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
			return
		}
		select {
		case <-c.done:
			return
		case <-t.C:
		}
	}
}

// hello is what Slack sends first on every Socket Mode connection.
var hello = map[string]any{
	"type":            "hello",
	"num_connections": 1,
	"debug_info":      map[string]any{"host": "local", "approximate_connection_time": 18060},
	"connection_info": map[string]any{"app_id": AppID},
}

// serveSocket accepts only single-use tickets from apps.connections.open, so
// Connections reflects real reconnects.
func (s *Server) serveSocket(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	valid := s.tickets[ticket]
	delete(s.tickets, ticket)
	s.mu.Unlock()
	if !valid {
		http.Error(w, "invalid or reused ticket", http.StatusUnauthorized)
		return
	}
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has already answered
	}
	c := &socket{conn: conn, done: make(chan struct{})}
	if c.write(hello) != nil {
		c.close(0)
		return
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.close(websocket.CloseGoingAway)
		return
	}
	s.socks = append(s.socks, c)
	s.connections++
	s.wg.Add(2)
	s.notifyLocked()
	s.mu.Unlock()

	go func() {
		defer s.wg.Done()
		c.pingLoop()
	}()
	defer s.wg.Done()
	defer s.drop(c)
	for {
		_, data, err := conn.ReadMessage() // gorilla's default ping handler answers client pings
		if err != nil {
			return
		}
		var ack struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if json.Unmarshal(data, &ack) != nil || ack.EnvelopeID == "" {
			continue
		}
		s.mu.Lock()
		s.acks[ack.EnvelopeID] = ack.Payload
		s.notifyLocked()
		s.mu.Unlock()
	}
}

func (s *Server) drop(c *socket) {
	c.close(0)
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.socks {
		if x == c {
			s.socks = append(s.socks[:i:i], s.socks[i+1:]...)
			s.notifyLocked()
			return
		}
	}
}

// Disconnect closes every Socket Mode connection from the server side, as
// Slack does when it rotates sockets; slack-go should reconnect by calling
// apps.connections.open again.
func (s *Server) Disconnect() {
	s.mu.Lock()
	socks := s.socks
	s.socks = nil
	s.notifyLocked()
	s.mu.Unlock()
	for _, c := range socks {
		c.close(websocket.CloseGoingAway)
	}
}

type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// Push delivers a Socket Mode envelope (events_api, slash_commands or
// interactive) to the most recently connected client, waiting up to 10s for
// one, and returns its envelope ID for Ack. payload is marshalled as JSON
// (pass a struct, a map or a json.RawMessage). It fails the test on error, so
// call it from the test goroutine.
func (s *Server) Push(envelopeType string, payload any, retryAttempt int) (envelopeID string) {
	s.t.Helper()
	body, err := json.Marshal(payload)
	if err != nil {
		s.t.Fatalf("slackserver: marshal %s payload: %v", envelopeType, err)
	}
	var c *socket
	if !s.WaitUntil(10*time.Second, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if n := len(s.socks); n > 0 {
			c = s.socks[n-1]
		}
		return c != nil
	}) {
		s.t.Fatalf("slackserver: no Socket Mode client connected within 10s")
	}
	s.mu.Lock()
	s.seq++
	envelopeID = fmt.Sprintf("env-%06d", s.seq)
	s.mu.Unlock()
	reason := ""
	if retryAttempt > 0 {
		reason = "timeout"
	}
	err = c.write(envelope{
		EnvelopeID: envelopeID,
		Type:       envelopeType,
		Payload:    body,
		// Slack only lets commands and interactions answer through the ack.
		AcceptsResponsePayload: envelopeType != "events_api",
		RetryAttempt:           retryAttempt,
		RetryReason:            reason,
	})
	if err != nil {
		s.t.Fatalf("slackserver: push %s: %v", envelopeType, err)
	}
	return envelopeID
}

// Ack waits for the client's acknowledgement of an envelope and returns the
// payload it carried (nil when the ack had none).
func (s *Server) Ack(envelopeID string, timeout time.Duration) (json.RawMessage, error) {
	var payload json.RawMessage
	acked := s.WaitUntil(timeout, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		var ok bool
		payload, ok = s.acks[envelopeID]
		return ok
	})
	if !acked {
		return nil, fmt.Errorf("slackserver: no ack for envelope %s within %v", envelopeID, timeout)
	}
	return payload, nil
}
