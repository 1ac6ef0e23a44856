// Package apiclient talks to a running intakebot's HTTP API as an agent:
// it is what the agent CLI (intakebot incidents, inbound) and the demo use.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client calls the API with an agent's token.
type Client struct {
	base, token string
	http        *http.Client
}

// New returns a client of the API at base (http://host:port) that
// authenticates with token. No call waits longer than 30 seconds.
func New(base, token string) *Client {
	return &Client{base: strings.TrimRight(base, "/"), token: token, http: &http.Client{Timeout: 30 * time.Second}}
}

// Base is the API's base URL.
func (c *Client) Base() string { return c.base }

// Error is an error answer of the API.
type Error struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"error"`
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

// maxAnswer bounds what is read of one answer.
const maxAnswer = 64 << 20

// Do sends body (as JSON, when not nil) to path and decodes the answer into
// out. An answer of 300 or above is an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(raw, e) != nil || e.Msg == "" {
			e.Code, e.Msg = http.StatusText(resp.StatusCode), strings.TrimSpace(string(raw))
		}
		return e
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}
