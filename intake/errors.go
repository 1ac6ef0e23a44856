package intake

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Limits on what people may write, so that one oversized note cannot bloat
// an incident that every list and page reads. Channels clip to them.
const (
	MaxTextBytes = 64 << 10
	MaxNameBytes = 200
)

// Clip cuts s to at most n bytes, on a character boundary: channels clip
// what people send to the limits above rather than lose it.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Error kinds shared by every layer, so that the HTTP API, Slack and email
// paths answer a refused operation the same way without importing each other.
// Wrap them with fmt.Errorf("%w: ...") to add detail.
var (
	ErrNotFound  = errors.New("not found")
	ErrInvalid   = errors.New("invalid")
	ErrConflict  = errors.New("conflict")
	ErrForbidden = errors.New("forbidden")
	// ErrUndeliverable is a delivery that can never succeed (the recipient
	// does not exist): retrying it is pointless.
	ErrUndeliverable = errors.New("undeliverable")
	// ErrUnavailable is a store (Redis) that cannot answer now: down,
	// unreachable, loading its data or failing over. Nothing was refused;
	// the same request may work in a moment, so the API answers 503 with
	// Retry-After rather than 500.
	ErrUnavailable = errors.New("unavailable")
)

// RetryLater is a channel's answer when it refuses more for a while
// (Slack's HTTP 429 with Retry-After): the message, and the rest of what
// waits for that channel, go out after that long; waiting is not a failure.
type RetryLater struct {
	After time.Duration
	Err   error
}

func (e *RetryLater) Error() string { return fmt.Sprintf("retry after %s: %v", e.After, e.Err) }
func (e *RetryLater) Unwrap() error { return e.Err }
