// Package apiclient talks to a running intakebot's HTTP API as an agent:
// it is what the agent CLI (intakebot incidents, inbound) and the demo use.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
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
	Status int    `json:"status"`
	Code   string `json:"code"`
	Msg    string `json:"error"`
	// State and Allowed come with a move the service model refused: where
	// the incident is and where it may go from there.
	State   string   `json:"state,omitempty"`
	Allowed []string `json:"allowed,omitempty"`
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
	raw, _, err := c.send(ctx, method, path, rd)
	if err != nil || out == nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// File is a file the API served (an attachment).
type File struct {
	Name    string // the name it was sent with (Content-Disposition)
	Content []byte
	Header  http.Header
}

// Download GETs a file at path.
func (c *Client) Download(ctx context.Context, path string) (*File, error) {
	raw, h, err := c.send(ctx, "GET", path, nil)
	if err != nil {
		return nil, err
	}
	f := &File{Content: raw, Header: h}
	if _, params, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil {
		f.Name = params["filename"]
	}
	return f, nil
}

// send makes one call and returns the answer's body and header; an answer
// of 300 or above is an *Error.
func (c *Client) send(ctx context.Context, method, path string, body io.Reader) ([]byte, http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode >= 300 {
		e := &Error{}
		if json.Unmarshal(raw, e) != nil || e.Msg == "" {
			e = &Error{Code: http.StatusText(resp.StatusCode), Msg: strings.TrimSpace(string(raw))}
		}
		e.Status = resp.StatusCode
		return nil, nil, e
	}
	return raw, resp.Header, nil
}
