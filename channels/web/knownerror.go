package web

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// KnownErrorStore keeps the known errors.
type KnownErrorStore interface {
	CreateKnownError(ctx context.Context, key string, k kb.KnownError, now time.Time) (kb.KnownError, error)
	UpdateKnownError(ctx context.Context, k kb.KnownError, now time.Time) (kb.KnownError, error)
	DeleteKnownError(ctx context.Context, id string) error
	KnownError(ctx context.Context, id string) (kb.KnownError, error)
	KnownErrors(ctx context.Context) ([]kb.KnownError, error)
}

// KnownErrorOps links incidents to known errors (workflow.KnownErrors).
type KnownErrorOps interface {
	Link(ctx context.Context, id string, by intake.Actor, keID, note string) (intake.Changed, error)
	Unlink(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error)
	ApplyWorkaround(ctx context.Context, id string, by intake.Actor, keID string) (intake.Changed, error)
	FromIncident(ctx context.Context, id string, by intake.Actor, rootCause, workaround string) (kb.KnownError, error)
}

// KnownErrorDeps is what the known-error endpoints need. With no Store
// they are not served.
type KnownErrorDeps struct {
	Store KnownErrorStore
	Ops   KnownErrorOps
	// Index is the KB's in-memory index (KBDeps.Index); the API updates
	// it at once after its own writes, as it does for articles.
	Index *kb.Index
	Now   func() time.Time
}

// knownErrorRoutes registers /api/v1/known-errors and the incident's
// known-error endpoints: any agent reads, links and applies workarounds
// (the service model decides when); admins and editors write known errors.
func (s *Server) knownErrorRoutes() {
	if s.d.KnownErrors.Store == nil {
		return
	}
	s.route("GET /api/v1/known-errors", s.agent(s.keList))
	s.route("POST /api/v1/known-errors", s.agent(s.kbEditor(s.keCreate)))
	s.route("GET /api/v1/known-errors/{id}", s.agent(s.keGet))
	s.route("PUT /api/v1/known-errors/{id}", s.agent(s.kbEditor(s.keUpdate)))
	s.route("DELETE /api/v1/known-errors/{id}", s.agent(s.kbEditor(s.keDelete)))
	s.route("PUT /api/v1/incidents/{id}/known-error", s.agent(s.keLink))
	s.route("DELETE /api/v1/incidents/{id}/known-error", s.agent(s.keUnlink))
	s.route("POST /api/v1/incidents/{id}/workaround", s.agent(s.keApply))
}

// knownErrorBody is what a client may set. FromIncident makes the known
// error from that incident (its words are the symptom) and links it.
type knownErrorBody struct {
	Lang         intake.Lang `json:"lang"`
	Symptom      string      `json:"symptom"`
	RootCause    string      `json:"root_cause"`
	Workaround   string      `json:"workaround"`
	CIs          []string    `json:"cis"`
	Status       kb.KEStatus `json:"status"`
	Version      int         `json:"version"`
	FromIncident string      `json:"from_incident"`
}

func (b knownErrorBody) knownError(by intake.Actor) kb.KnownError {
	k := kb.KnownError{Lang: b.Lang, Symptom: strings.TrimSpace(b.Symptom), RootCause: strings.TrimSpace(b.RootCause),
		Workaround: strings.TrimSpace(b.Workaround), CIs: b.CIs, Status: b.Status, Version: b.Version, Author: by.Name}
	if k.Status == "" {
		k.Status = kb.KEOpen
	}
	return k
}

// keListItem is a known error with the count the list shows.
type keListItem struct {
	kb.KnownError
	Touched int `json:"touched"`
}

func (s *Server) keList(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	list, err := s.d.KnownErrors.Store.KnownErrors(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	status := kb.KEStatus(r.URL.Query().Get("status"))
	if status != "" && !status.Valid() {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("status %q is not open or fixed", status))
		return
	}
	out := []keListItem{}
	for _, k := range list {
		if status == "" || k.Status == status {
			out = append(out, keListItem{k, len(k.Incidents)})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"known_errors": out})
}

func (s *Server) keCreate(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b knownErrorBody
	if !s.decode(w, r, &b) {
		return
	}
	var k kb.KnownError
	var err error
	if b.FromIncident != "" {
		k, err = s.d.KnownErrors.Ops.FromIncident(r.Context(), b.FromIncident, by, b.RootCause, b.Workaround)
	} else {
		k, err = s.d.KnownErrors.Store.CreateKnownError(r.Context(), by.Ref, b.knownError(by), s.d.KnownErrors.Now())
	}
	if k.ID != "" {
		s.d.KnownErrors.Index.PutKnownError(k)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, k)
}

func (s *Server) keGet(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	k, err := s.d.KnownErrors.Store.KnownError(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, k)
}

func (s *Server) keUpdate(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b knownErrorBody
	if !s.decode(w, r, &b) {
		return
	}
	k := b.knownError(by)
	k.ID = r.PathValue("id")
	k, err := s.d.KnownErrors.Store.UpdateKnownError(r.Context(), k, s.d.KnownErrors.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.KnownErrors.Index.PutKnownError(k)
	writeJSON(w, http.StatusOK, k)
}

func (s *Server) keDelete(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	id := r.PathValue("id")
	if err := s.d.KnownErrors.Store.DeleteKnownError(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.KnownErrors.Index.Delete(id)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": id})
}

func (s *Server) keLink(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		KnownError string `json:"known_error"`
		Note       string `json:"note"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	if b.KnownError == "" {
		writeError(w, http.StatusBadRequest, "invalid", `"known_error" (an id like KE-000001) is required`)
		return
	}
	s.changed(w, r, http.StatusOK)(s.d.KnownErrors.Ops.Link(r.Context(), r.PathValue("id"), by, b.KnownError, b.Note))
}

func (s *Server) keUnlink(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	s.changed(w, r, http.StatusOK)(s.d.KnownErrors.Ops.Unlink(r.Context(), r.PathValue("id"), by, r.URL.Query().Get("note")))
}

// keApply applies a known error's workaround; without one named, the
// incident's linked known error's.
func (s *Server) keApply(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		KnownError string `json:"known_error"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	if b.KnownError == "" {
		inc, err := s.d.Incidents.Get(r.Context(), id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if b.KnownError = inc.KnownError; b.KnownError == "" {
			writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf(`%s is linked to no known error: name one in "known_error"`, id))
			return
		}
	}
	s.changed(w, r, http.StatusCreated)(s.d.KnownErrors.Ops.ApplyWorkaround(r.Context(), id, by, b.KnownError))
}
