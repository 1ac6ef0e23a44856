// Package webhook posts agent alerts as signed JSON to the URLs of
// notify.webhooks (Teams, Mattermost or Rocket.Chat bridges, a pager).
// It is the notifier of the outbox's webhook route: the dispatcher retries
// a failed post with backoff and dead-letters it like every outgoing
// message.
//
// The signature scheme: each POST carries
//
//	X-Intakebot-Timestamp: UNIX seconds when this attempt was sent
//	X-Intakebot-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + BODY))
//	X-Intakebot-Delivery:  the alert's id, the same on every retry
//
// A receiver recomputes the MAC over the exact body it read, compares in
// constant time, refuses a timestamp older than a few minutes (a replay)
// and ignores a delivery id it has seen (a retry of a post it took). Verify
// does all but the last.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// The headers of a post.
const (
	HeaderSignature = "X-Intakebot-Signature"
	HeaderTimestamp = "X-Intakebot-Timestamp"
	HeaderDelivery  = "X-Intakebot-Delivery"
)

// Hook is one listener: where to post and the secret that signs it.
type Hook struct {
	URL    string
	Secret []byte
}

// Notifier posts the webhook route's alerts. It has the method set of
// workflow.Notifier.
type Notifier struct {
	// Hooks are the configured listeners; an alert names its hook by URL.
	Hooks []Hook
	// BaseURL is web.base_url, for the console link of the incident.
	BaseURL string
	// Client sends the posts; nil: a client that follows no redirect.
	// The dispatcher's context bounds each post (outbox.delivery_timeout).
	Client *http.Client
	Now    func() time.Time
}

// Payload is the JSON body of a post.
type Payload struct {
	// ID identifies the alert; a retry carries the same (see the header).
	ID       string       `json:"id"`
	Event    intake.Alert `json:"event"`
	Incident Incident     `json:"incident"`
	// URL opens the incident in the agent console.
	URL string `json:"url,omitempty"`
}

// Incident is the incident as a post shows it, as it is when posted.
type Incident struct {
	ID       string          `json:"id"`
	Subject  string          `json:"subject"`
	State    intake.State    `json:"state"`
	Priority intake.Priority `json:"priority"`
	Category string          `json:"category,omitempty"`
	Group    string          `json:"group,omitempty"`
	Level    int             `json:"level,omitempty"`
	Owner    string          `json:"owner,omitempty"`
	Channel  intake.Channel  `json:"channel,omitempty"`
	SLA      string          `json:"sla,omitempty"` // warning or breached
}

// Sign is the signature header's value for a body sent at timestamp ts
// (UNIX seconds, as in the timestamp header).
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a received post's signature and that its timestamp lies
// within tolerance of now; a receiver written in Go may use it.
func Verify(secret []byte, signature, ts string, body []byte, now time.Time, tolerance time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("webhook: timestamp %q is not UNIX seconds", ts)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("webhook: timestamp is %s away from now (at most %s): a replay?", d.Round(time.Second), tolerance)
	}
	if !hmac.Equal([]byte(signature), []byte(Sign(secret, ts, body))) {
		return errors.New("webhook: the signature does not match the body")
	}
	return nil
}

// Deliver posts the alert to its hook. A 2xx answer delivers it; 408, 429,
// any other non-2xx answer and a network error are retried; any other 4xx
// means the hook will never take it (wrong URL, refused): dead letter.
func (n Notifier) Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	if msg.Kind != intake.NoticeAgentAlert || inc == nil {
		return fmt.Errorf("webhook: %s: %w: not an agent alert about an incident", msg.ID, intake.ErrUndeliverable)
	}
	var hook *Hook
	for i := range n.Hooks {
		if n.Hooks[i].URL == msg.Target {
			hook = &n.Hooks[i]
		}
	}
	if hook == nil {
		return fmt.Errorf("webhook: %s: %w: %s is no longer among notify.webhooks", msg.ID, intake.ErrUndeliverable, intake.RedactURL(msg.Target))
	}
	body, err := json.Marshal(n.payload(msg, inc))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %s: %w: %v", msg.ID, intake.ErrUndeliverable, withoutURL(err))
	}
	ts := strconv.FormatInt(n.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "intakebot")
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, Sign(hook.Secret, ts, body))
	req.Header.Set(HeaderDelivery, msg.ID)
	resp, err := n.client().Do(req)
	if err != nil {
		return fmt.Errorf("webhook: post %s to %s: %w", msg.ID, intake.RedactURL(hook.URL), withoutURL(err))
	}
	defer resp.Body.Close()
	// A little of the answer says why, in the outbox listing.
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return fmt.Errorf("webhook: post %s: %w: %s %s", msg.ID, intake.ErrUndeliverable, resp.Status, clean(snippet))
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		// A listener that says when to come back is asked then, like Slack;
		// without a usable Retry-After the usual backoff applies.
		err := fmt.Errorf("webhook: post %s: %s %s", msg.ID, resp.Status, clean(snippet))
		if after, ok := retryAfter(resp.Header.Get("Retry-After"), n.Now()); ok {
			return &intake.RetryLater{After: after, Err: err}
		}
		return err
	default:
		return fmt.Errorf("webhook: post %s: %s %s", msg.ID, resp.Status, clean(snippet))
	}
}

// maxRetryAfter bounds how long a listener's Retry-After holds the
// webhook route: an hour's wait asked by mistake must not silence alerts.
const maxRetryAfter = 10 * time.Minute

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(h string, now time.Time) (time.Duration, bool) {
	var d time.Duration
	if secs, err := strconv.Atoi(strings.TrimSpace(h)); err == nil {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(h); err == nil {
		d = at.Sub(now)
	} else {
		return 0, false
	}
	if d <= 0 {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

func (n Notifier) payload(msg intake.Outgoing, inc *intake.Incident) Payload {
	p := Payload{ID: msg.ID, Event: msg.Alert, Incident: Incident{
		ID: inc.ID, Subject: inc.Subject, State: inc.State, Priority: inc.Priority, Category: inc.Category,
		Group: inc.Group, Level: inc.Level, Owner: inc.Owner, Channel: inc.Channel, SLA: inc.SLAStatus(),
	}}
	if n.BaseURL != "" {
		p.URL = ConsoleURL(n.BaseURL, inc.ID)
	}
	return p
}

// ConsoleURL is the incident's page in the agent console.
func ConsoleURL(baseURL, id string) string {
	return strings.TrimRight(baseURL, "/") + "/console/incidents/" + id
}

func (n Notifier) client() *http.Client {
	if n.Client != nil {
		return n.Client
	}
	// A redirect is not followed: a POST turned into a GET elsewhere is
	// no delivery, and the answer shows in the outbox listing.
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// withoutURL drops the URL net/http quotes in its errors: a hook's URL is
// often its credential, and the error is kept as the notice's last error
// (listed to every agent) and logged. The cause (timeout, refused) stays.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

// clean keeps an answer's text on one line.
func clean(b []byte) string {
	return strings.Join(strings.Fields(strings.ToValidUTF8(string(b), "?")), " ")
}
