package kb

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// KEStatus says whether a known error still happens.
type KEStatus string

// The statuses of a known error.
const (
	// KEOpen: the root cause is still there; the workaround is the answer.
	KEOpen KEStatus = "open"
	// KEFixed: the cause was removed. A fixed known error is kept (its
	// incidents point at it) but no longer suggested.
	KEFixed KEStatus = "fixed"
)

// Valid reports whether s is open or fixed.
func (s KEStatus) Valid() bool { return s == KEOpen || s == KEFixed }

// KnownErrorPrefix starts every known error's id. The KB index holds
// articles and known errors together; an id with this prefix is a known
// error (articles' ids are lowercase, so they never clash).
const KnownErrorPrefix = "KE-"

// KnownError is a problem whose cause is known and that has a workaround,
// so that agents answer its incidents at once instead of diagnosing them
// again. It is written in one language (Lang); it is indexed in that one.
type KnownError struct {
	ID         string      `json:"id"`
	Lang       intake.Lang `json:"lang"`
	Symptom    string      `json:"symptom"`
	RootCause  string      `json:"root_cause,omitempty"`
	Workaround string      `json:"workaround"`
	CIs        []string    `json:"cis,omitempty"`
	Status     KEStatus    `json:"status"`
	// Incidents are the incidents linked to it, in order of their ids.
	// The store keeps them apart from the rest (a set per known error),
	// so a link never rewrites the document; it fills this on read.
	Incidents []string `json:"incidents,omitempty"`
	// From is the incident it was made from, if any.
	From    string    `json:"from,omitempty"`
	Author  string    `json:"author,omitempty"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// Version counts the saved revisions; the store sets it.
	Version int `json:"version"`
}

// FormatKEID renders known error number n as KE-000001.
func FormatKEID(n int64) string { return fmt.Sprintf("%s%06d", KnownErrorPrefix, n) }

// ParseKEID checks that id is a known error's id like KE-000001.
func ParseKEID(id string) error {
	digits, ok := strings.CutPrefix(id, KnownErrorPrefix)
	n, err := strconv.ParseInt(digits, 10, 64)
	if !ok || len(digits) < 6 || err != nil || n <= 0 || FormatKEID(n) != id {
		return fmt.Errorf("%w: %q is not a known error id like KE-000001", intake.ErrInvalid, id)
	}
	return nil
}

// IsKnownError reports whether an id from the index is a known error's.
func IsKnownError(id string) bool { return strings.HasPrefix(id, KnownErrorPrefix) }

// ErrInvalidKnownError is wrapped by every validation error of a known error.
var ErrInvalidKnownError = errors.New("invalid known error")

// Validate reports the first thing that makes k unusable, or nil. The id is
// not checked: the store allocates it.
func (k KnownError) Validate() error {
	switch {
	case strings.TrimSpace(k.Symptom) == "":
		return fmt.Errorf("%w: the symptom is required", ErrInvalidKnownError)
	case strings.TrimSpace(k.Workaround) == "":
		return fmt.Errorf("%w: the workaround is required", ErrInvalidKnownError)
	case !k.Lang.Valid():
		return fmt.Errorf("%w: language %q is not en or es", ErrInvalidKnownError, k.Lang)
	case !k.Status.Valid():
		return fmt.Errorf("%w: status %q is not open or fixed", ErrInvalidKnownError, k.Status)
	}
	for _, s := range []string{k.Symptom, k.RootCause, k.Workaround} {
		if len(s) > intake.MaxTextBytes {
			return fmt.Errorf("%w: a text is longer than %d bytes", ErrInvalidKnownError, intake.MaxTextBytes)
		}
	}
	return nil
}

// Suggestible reports whether k belongs in the index: a fixed known error
// answers no new incident.
func (k KnownError) Suggestible() bool { return k.Status != KEFixed }

// Document is k as the index holds it: an internal article (agents only,
// never shown to a reporter) whose title is the symptom, the words a
// reporter would use, and whose body is the cause and the workaround.
func (k KnownError) Document() Article {
	return Article{ID: k.ID, Audience: Internal, CIs: k.CIs, Created: k.Created, Updated: k.Updated,
		Texts: map[intake.Lang]Text{k.Lang: {Title: k.Symptom, Body: k.RootCause + "\n\n" + k.Workaround}}}
}

// PutKnownError puts k into the index, or takes it out when it is fixed.
func (ix *Index) PutKnownError(k KnownError) {
	if k.Suggestible() {
		ix.Put(k.Document())
		return
	}
	ix.Delete(k.ID)
}
