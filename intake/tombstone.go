package intake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Tombstone is what stays of an incident once retention has exported it to
// an archive file and removed it from the store: enough to answer "it was
// archived, in this file" and to thread a reply to it into a new incident
// linked to it.
type Tombstone struct {
	ID string `json:"id"`
	// Archive is the name of the file (in retention.dir) that holds it.
	Archive  string    `json:"archive"`
	ClosedAt time.Time `json:"closed_at"`
	// ReporterHash is ReporterHash of the reporter's address: it tells
	// whether a reply comes from the reporter without keeping the address.
	ReporterHash string `json:"reporter_hash,omitempty"`
}

// ReporterHash hides an address, case-insensitively. 64 bits: telling the
// reporter from someone else needs no more (finding another address with
// the same hash takes about 2^64 tries), and each tombstone keeps one.
func ReporterHash(address string) string {
	a := strings.ToLower(strings.TrimSpace(address))
	if a == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(a))
	return hex.EncodeToString(sum[:8])
}

// ArchivedError is the answer for an incident that was archived. It is also
// ErrNotFound, so a caller that knows nothing of archives treats it as gone.
type ArchivedError struct{ Tombstone Tombstone }

func (e *ArchivedError) Error() string {
	return fmt.Sprintf("incident %s was archived to %s", e.Tombstone.ID, e.Tombstone.Archive)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *ArchivedError) Is(target error) bool { return target == ErrNotFound }

// Stub is the archived incident as threading sees it: closed, so a reply to
// it opens a new incident linked to it.
func (t Tombstone) Stub() *Incident {
	closed := t.ClosedAt
	return &Incident{ID: t.ID, State: Closed, ClosedAt: &closed, reporterHash: t.ReporterHash}
}

// IsReporter tells whether address is the incident's reporter's, for an
// archived incident's stub as well.
func (inc *Incident) IsReporter(address string) bool {
	if inc.Reporter.Email != "" {
		return strings.EqualFold(inc.Reporter.Email, address)
	}
	return inc.reporterHash != "" && inc.reporterHash == ReporterHash(address)
}
