package intake

import "errors"

// Limits on what people may write, so that one oversized note cannot bloat
// an incident that every list and page reads. Channels clip to them.
const (
	MaxTextBytes = 64 << 10
	MaxNameBytes = 200
)

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
)
