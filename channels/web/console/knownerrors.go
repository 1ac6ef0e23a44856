package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// KnownErrorStore keeps the known errors (workflow/redisstore).
type KnownErrorStore interface {
	KnownErrors(ctx context.Context) ([]kb.KnownError, error)
	KnownError(ctx context.Context, id string) (kb.KnownError, error)
	CreateKnownError(ctx context.Context, key string, k kb.KnownError, now time.Time) (kb.KnownError, error)
	UpdateKnownError(ctx context.Context, k kb.KnownError, now time.Time) (kb.KnownError, error)
}

// KnownErrorOps links incidents to known errors (workflow.KnownErrors):
// the same calls the JSON API makes.
type KnownErrorOps interface {
	Link(ctx context.Context, id string, by intake.Actor, keID, note string) (intake.Changed, error)
	Unlink(ctx context.Context, id string, by intake.Actor, note string) (intake.Changed, error)
	ApplyWorkaround(ctx context.Context, id string, by intake.Actor, keID string) (intake.Changed, error)
	FromIncident(ctx context.Context, id string, by intake.Actor, rootCause, workaround string) (kb.KnownError, error)
}

// keRow is a known error on the list, with how many incidents it touched.
type keRow struct {
	kb.KnownError
	Touched int
}

type knownErrorsView struct {
	List   []keRow
	Editor bool
	// Status filters the list: "", "open" or "fixed".
	Status string
	Form   map[string]string
	Done   string
	Nonce  string
}

func (s *Server) knownErrors(w http.ResponseWriter, r *http.Request, m me) {
	done := ""
	if d := r.URL.Query().Get("done"); d == "create" || d == "edit" || d == "fix" || d == "reopen" {
		done = s.d.Pages.Word(m.lang, "ke.done_"+d)
	}
	s.showKnownErrors(w, r, m, http.StatusOK, knownErrorsView{Done: done}, "")
}

func (s *Server) showKnownErrors(w http.ResponseWriter, r *http.Request, m me, status int, v knownErrorsView, errText string) {
	list, err := s.d.KnownErrors.KnownErrors(r.Context())
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	v.Status = r.URL.Query().Get("status")
	if v.Status != "" && !kb.KEStatus(v.Status).Valid() {
		s.errorPage(w, r, http.StatusBadRequest, "error.badform")
		return
	}
	for _, k := range list {
		if v.Status == "" || string(k.Status) == v.Status {
			v.List = append(v.List, keRow{k, len(k.Incidents)})
		}
	}
	v.Editor = m.editor()
	if v.Nonce, err = webui.RandomToken(); err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	if v.Form == nil {
		v.Form = map[string]string{}
	}
	page := s.view(r, m, "known_errors", v)
	page.Error = errText
	s.render(w, r, status, m.lang, "known_errors", page)
}

// changeKnownErrors creates a known error, or marks one fixed or open
// again: admins and editors only.
func (s *Server) changeKnownErrors(w http.ResponseWriter, r *http.Request, m me) {
	if !m.editor() {
		s.errorPage(w, r, http.StatusForbidden, "ke.editors")
		return
	}
	f := r.PostForm
	ctx := r.Context()
	op := f.Get("op")
	var err error
	// texts sets what the create and edit forms hold.
	texts := func(k *kb.KnownError) {
		k.Lang, k.Symptom = intake.Lang(f.Get("lang")), strings.TrimSpace(f.Get("symptom"))
		k.RootCause, k.Workaround = strings.TrimSpace(f.Get("root_cause")), strings.TrimSpace(f.Get("workaround"))
		k.CIs = nil
		for _, ci := range strings.Split(f.Get("cis"), ",") {
			if ci = strings.TrimSpace(ci); ci != "" {
				k.CIs = append(k.CIs, ci)
			}
		}
	}
	switch op {
	case "create":
		k := kb.KnownError{Status: kb.KEOpen, Author: m.Name}
		texts(&k)
		key := ""
		if n := f.Get("nonce"); n != "" && len(n) <= 100 {
			key = "console:" + m.Name + ":" + n // a double submit makes one
		}
		_, err = s.d.KnownErrors.CreateKnownError(ctx, key, k, s.d.Now())
	case "edit":
		// The form's version must be the stored one: an editor who saw an
		// older text is told rather than overwriting a colleague's.
		var k kb.KnownError
		if k, err = s.d.KnownErrors.KnownError(ctx, f.Get("id")); err == nil {
			texts(&k)
			if k.Version, err = strconv.Atoi(f.Get("version")); err != nil || k.Version < 1 {
				err = errBadForm
				break
			}
			_, err = s.d.KnownErrors.UpdateKnownError(ctx, k, s.d.Now())
		}
	case "fix", "reopen":
		var k kb.KnownError
		if k, err = s.d.KnownErrors.KnownError(ctx, f.Get("id")); err == nil {
			k.Status = kb.KEFixed
			if op == "reopen" {
				k.Status = kb.KEOpen
			}
			_, err = s.d.KnownErrors.UpdateKnownError(ctx, k, s.d.Now())
		}
	default:
		err = errBadForm
	}
	if err == nil {
		s.d.Log.Info("console: known error changed", "op", op, "id", f.Get("id"), "by", m.Name)
		http.Redirect(w, r, "/console/known-errors?done="+op, http.StatusSeeOther)
		return
	}
	status, text := s.refusal(m.lang, err)
	if status == http.StatusInternalServerError {
		s.fail(w, r, m.lang, err)
		return
	}
	if errors.Is(err, intake.ErrConflict) {
		text = s.d.Pages.Word(m.lang, "ke.conflict")
	}
	// A refused edit is shown in its own form; a refused creation in the
	// new one.
	form := map[string]string{"op": op, "id": f.Get("id")}
	for _, k := range []string{"lang", "symptom", "root_cause", "workaround", "cis"} {
		form[k] = f.Get(k)
	}
	s.showKnownErrors(w, r, m, status, knownErrorsView{Form: form}, text)
}

// incidentKnownErrors fills the incident page's known-error card: the
// linked one, and the open ones it may be linked to.
func (s *Server) incidentKnownErrors(ctx context.Context, v *incidentView) error {
	if s.d.KnownErrors == nil {
		return nil
	}
	v.KnownErrors = true
	if id := v.Inc.KnownError; id != "" {
		k, err := s.d.KnownErrors.KnownError(ctx, id)
		switch {
		case errors.Is(err, intake.ErrNotFound):
			// Deleted since: the page still names the id.
		case err != nil:
			return err
		default:
			v.Linked = &k
		}
	}
	if !v.Can.KnownError {
		return nil
	}
	list, err := s.d.KnownErrors.KnownErrors(ctx)
	if err != nil {
		return err
	}
	for _, k := range list {
		if k.Status == kb.KEOpen && k.ID != v.Inc.KnownError {
			v.Open = append(v.Open, k)
		}
	}
	return nil
}

// actKnownError applies the incident page's known-error forms; handled
// reports whether op was one of them.
func (s *Server) actKnownError(ctx context.Context, id string, by intake.Actor, m me, op string, f map[string][]string) (handled bool, err error) {
	get := func(k string) string {
		if vs := f[k]; len(vs) > 0 {
			return strings.TrimSpace(vs[0])
		}
		return ""
	}
	if s.d.KEOps == nil {
		return false, nil
	}
	switch op {
	case "ke_link":
		_, err = s.d.KEOps.Link(ctx, id, by, get("known_error"), get("note"))
	case "ke_unlink":
		_, err = s.d.KEOps.Unlink(ctx, id, by, get("note"))
	case "ke_apply":
		_, err = s.d.KEOps.ApplyWorkaround(ctx, id, by, get("known_error"))
	case "ke_create":
		if !m.editor() {
			return true, errNotEditor
		}
		_, err = s.d.KEOps.FromIncident(ctx, id, by, get("root_cause"), get("workaround"))
	default:
		return false, nil
	}
	return true, err
}

var errNotEditor = errors.New("only admins and editors change the knowledge base")
