package console

import (
	"errors"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
)

// can is what this agent may do to the incident now, as workflow.Decide
// says: the page offers a button or a form only for these.
type can struct {
	Action, Take, Assign, Escalate, Recategorize bool
	// KnownError: link or unlink a known error; MakeKnownError: make one
	// from this incident (that also needs an editor).
	KnownError, MakeKnownError   bool
	PhoneValidation, PhoneRating bool
	Moves                        []intake.State // agents' moves, closing included
	// Locked is set in validation: only the reporter's answer may change
	// the incident now.
	Locked bool
}

func (c can) Any() bool {
	return c.Action || c.Take || c.Assign || c.Escalate || c.Recategorize || c.PhoneValidation || c.PhoneRating || len(c.Moves) > 0 ||
		c.KnownError
}

func allows(inc *intake.Incident, kind intake.EventKind, by intake.Actor, to intake.State) bool {
	_, err := workflow.Decide(workflow.Facts{State: inc.State, Owner: inc.Owner}, workflow.Event{Kind: kind, Actor: by, To: to})
	return err == nil
}

func canOf(inc *intake.Incident, m me) can {
	by := m.actor()
	phone := by
	phone.Via = "phone"
	c := can{
		Action:          allows(inc, intake.EventAction, by, ""),
		Assign:          allows(inc, intake.EventAssign, by, ""),
		Escalate:        allows(inc, intake.EventEscalate, by, ""),
		Recategorize:    allows(inc, intake.EventRecategorize, by, ""),
		PhoneValidation: allows(inc, intake.EventAnswerYes, phone, ""),
		PhoneRating:     allows(inc, intake.EventRating, phone, ""),
	}
	c.KnownError = allows(inc, intake.EventKnownError, by, "")
	c.MakeKnownError = c.KnownError && m.editor()
	c.Take = c.Assign && inc.Owner != m.Name
	for _, rule := range workflow.Table() {
		if rule.From == inc.State && rule.Event == intake.EventMove && allows(inc, intake.EventMove, by, rule.To) {
			c.Moves = append(c.Moves, rule.To)
		}
	}
	if _, err := workflow.Decide(workflow.Facts{State: inc.State, Owner: inc.Owner}, workflow.Event{Kind: intake.EventAction, Actor: by}); err != nil {
		var ref *intake.Refusal
		c.Locked = errors.As(err, &ref) && ref.Code == intake.CodeLocked
	}
	return c
}

type incidentView struct {
	Inc   *intake.Incident
	SLA   sla
	Can   can
	Nonce string
	// Form keeps what the agent typed when a change was refused.
	Form                  map[string]string
	Category, CI          string // labels in the agent's language
	Groups, Categories    []string
	Images                map[int]bool
	StateWord, PriorityNo string
	// KnownErrors: the known-error card is shown. Linked is the incident's
	// known error (nil when none, or deleted since); Open are the open
	// ones it may be linked to.
	KnownErrors bool
	Linked      *kb.KnownError
	Open        []kb.KnownError
	// Offered marks the suggestions the reporter was offered.
	Offered map[string]bool
	// Grouping: the page offers grouping by hand.
	Grouping bool
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request, m me) {
	s.showIncident(w, r, m, http.StatusOK, "", nil)
}

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request, m me, status int, errText string, form map[string]string) {
	inc, err := s.d.Engine.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	nonce, err := webui.RandomToken()
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	if form == nil {
		form = map[string]string{}
	}
	lang := intake.Lang(m.lang)
	v := incidentView{Inc: inc, SLA: s.slaOf(inc, s.d.Now()), Can: canOf(inc, m), Nonce: nonce, Form: form,
		Groups: s.d.Groups, Categories: s.d.Categories, Images: map[int]bool{}, Offered: map[string]bool{}, Grouping: s.d.Grouping != nil}
	for _, o := range inc.ReporterSuggestions(s.d.MinScore) {
		v.Offered[o.ID] = true
	}
	if s.d.Labels != nil {
		v.Category, v.CI = s.d.Labels.Label(inc.Category, lang), s.d.Labels.Label(inc.CI, lang)
	} else {
		v.Category, v.CI = inc.Category, inc.CI
	}
	for _, a := range inc.Attachments {
		v.Images[a.Index] = previewable(a.Type)
	}
	if err := s.incidentKnownErrors(r.Context(), &v); err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	page := s.view(r, m, "queue", v)
	page.Error = errText
	s.render(w, r, status, m.lang, "incident", page)
}

// act applies one form of the incident page. A change applied goes back
// to the page (303, so that a reload does not post again); a refusal is
// shown on the page in the agent's language, with what was typed kept.
// The form's nonce makes a double submit one change.
func (s *Server) act(w http.ResponseWriter, r *http.Request, m me) {
	id := r.PathValue("id")
	f := r.PostForm
	by := m.actor()
	if n := f.Get("nonce"); n != "" && len(n) <= 100 {
		by.Ref = "console:" + m.Name + ":" + n + ":" + f.Get("op")
	}
	ctx := r.Context()
	note := strings.TrimSpace(f.Get("note"))
	handled, err := s.actKnownError(ctx, id, by, m, f.Get("op"), f)
	switch op := f.Get("op"); {
	case handled:
	case op == "action":
		// "Tell the reporter" ticked: the action is a public note.
		add := s.d.Engine.AddAction
		if f.Get("public") != "" {
			add = s.d.Engine.AddPublicNote
		}
		_, err = add(ctx, id, by, strings.TrimSpace(f.Get("text")))
	case op == "take":
		_, err = s.d.Engine.Assign(ctx, id, by, m.Name, note)
	case op == "assign":
		owner := strings.TrimSpace(f.Get("owner"))
		if _, aerr := s.d.Agents.Agent(ctx, owner); aerr != nil {
			err = aerr
			if errors.Is(aerr, intake.ErrNotFound) {
				err = errNoAgent
			}
			break
		}
		_, err = s.d.Engine.Assign(ctx, id, by, owner, note)
	case op == "escalate":
		level, _ := strconv.Atoi(f.Get("level"))
		_, err = s.d.Engine.Escalate(ctx, id, by, strings.TrimSpace(f.Get("group")), level, note)
	case op == "recategorize":
		_, err = s.d.Engine.Recategorize(ctx, id, by, strings.TrimSpace(f.Get("category")), note)
	case op == "move":
		_, err = s.d.Engine.Move(ctx, id, by, intake.State(f.Get("to")), note)
	case op == "phone_validation":
		by.Via = "phone"
		switch f.Get("answer") {
		case "yes", "no":
			_, err = s.d.Engine.AnswerValidation(ctx, id, by, f.Get("answer") == "yes", note)
		default:
			err = errBadForm
		}
	case op == "group" || op == "ungroup":
		err = s.group(r, id, by, op, f.Get("children"), note)
	case op == "phone_rating":
		by.Via = "phone"
		rating, _ := strconv.Atoi(f.Get("rating"))
		_, err = s.d.Engine.Rate(ctx, id, by, rating, strings.TrimSpace(f.Get("comment")))
	default:
		err = errBadForm
	}
	if err == nil {
		http.Redirect(w, r, "/console/incidents/"+id, http.StatusSeeOther)
		return
	}
	status, text := s.refusal(m.lang, err)
	if status == http.StatusInternalServerError {
		s.fail(w, r, m.lang, err)
		return
	}
	form := map[string]string{}
	for _, k := range []string{"op", "text", "note", "owner", "group", "level", "category", "comment", "public", "children", "root_cause", "workaround"} {
		form[k] = f.Get(k)
	}
	s.showIncident(w, r, m, status, text, form)
}

// group applies the grouping forms: op "group" puts the incidents named
// in children (ids separated by spaces or commas) under id; "ungroup"
// takes id out of its parent's group.
func (s *Server) group(r *http.Request, id string, by intake.Actor, op, children, note string) error {
	if s.d.Grouping == nil {
		return errBadForm
	}
	by.Ref = "" // grouping is idempotent by itself
	if op == "ungroup" {
		return s.d.Grouping.Ungroup(r.Context(), id, by, note)
	}
	ids := strings.FieldsFunc(strings.ToUpper(children), func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	return s.d.Grouping.Group(r.Context(), id, ids, by, note)
}

var (
	errBadForm = errors.New("bad form")
	errNoAgent = errors.New("no such agent")
)

// refusal says in the agent's language why a change was not made, with
// the status it answers.
func (s *Server) refusal(lang string, err error) (int, string) {
	w := func(k string) string { return s.d.Pages.Word(lang, k) }
	var ref *intake.Refusal
	switch {
	case errors.As(err, &ref):
		text := w("refusal." + string(ref.Code))
		if len(ref.Allowed) > 0 && ref.Code == intake.CodeInvalidTransition {
			names := make([]string, len(ref.Allowed))
			for i, st := range ref.Allowed {
				names[i] = w("state." + string(st))
			}
			text += " " + w("refusal.allowed") + " " + strings.Join(names, ", ")
		}
		if errors.Is(err, intake.ErrForbidden) {
			return http.StatusForbidden, text
		}
		return http.StatusConflict, text
	case errors.Is(err, errNoAgent):
		return http.StatusBadRequest, w("error.noagent")
	case errors.Is(err, errNotEditor):
		return http.StatusForbidden, w("ke.editors")
	case errors.Is(err, errBadForm):
		return http.StatusBadRequest, w("error.badform")
	case errors.Is(err, intake.ErrInvalid):
		// The engine's own words name the field; they are in English.
		return http.StatusBadRequest, w("error.invalid") + " (" + err.Error() + ")"
	case errors.Is(err, intake.ErrNotFound):
		return http.StatusNotFound, w("error.notfound")
	case errors.Is(err, intake.ErrConflict):
		return http.StatusConflict, w("error.conflict")
	}
	return http.StatusInternalServerError, ""
}

// previewable types are shown on the page; only raster images, which a
// browser never runs (an SVG may carry script).
func previewable(t string) bool {
	mt, _, _ := mime.ParseMediaType(t)
	return slices.Contains([]string{"image/png", "image/jpeg", "image/gif", "image/webp"}, mt)
}

// attachment serves one attachment with its real Content-Type. What a
// stranger mailed in must not act as a page of ours: anything but a
// raster image is a download, and a sandbox CSP makes even an opened one
// a page of no origin that runs nothing.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, m me) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	if _, err := intake.ParseID(r.PathValue("id")); err != nil {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	a, err := s.d.Files.Attachment(r.Context(), r.PathValue("id"), n)
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	ct := a.Type
	if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
		ct = "application/octet-stream"
	}
	disp := "attachment"
	if previewable(ct) {
		disp = "inline"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": a.Name}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(a.Content)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.Content)
}
