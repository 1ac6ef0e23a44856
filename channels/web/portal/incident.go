package portal

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
)

// row is one incident of the reporter's list.
type row struct {
	ID, Subject string
	State       string // a word key: "state.working", never an internal id
	ReportedAt  time.Time
	Open        bool // a question waits for the reporter
}

type homeView struct {
	Rows []row
	More bool
}

// homeLimit is how many incidents the list shows: a reporter with more
// has the newest (older ones stay reachable from their mails).
const homeLimit = 100

// home lists the reporter's incidents, newest first, from the reporter
// index; each is checked against the address (the index is by a hash).
func (s *Server) home(w http.ResponseWriter, r *http.Request, m me) {
	page, err := s.d.Lister.List(r.Context(), intake.ListFilter{Reporter: m.Email, Limit: homeLimit})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := homeView{More: page.Next != 0}
	for _, inc := range page.Incidents {
		if !inc.IsReporter(m.Email) {
			continue
		}
		v.Rows = append(v.Rows, row{ID: inc.ID, Subject: inc.Subject, State: stateWord(inc.State), ReportedAt: inc.ReportedAt,
			Open: inc.State == intake.Validation || inc.State == intake.Satisfaction})
	}
	vw := s.view(r, m, "home", v)
	vw.Notice = s.notice(r, m.lang)
	s.render(w, http.StatusOK, "home", vw)
}

// stateWord is the words.json key of a state in plain words: a reporter
// sees "We are working on it", never no_solution.
func stateWord(st intake.State) string {
	switch st {
	case intake.Validation:
		return "state.validation"
	case intake.Satisfaction:
		return "state.satisfaction"
	case intake.Review:
		return "state.review"
	case intake.Closed:
		return "state.closed"
	}
	return "state.working"
}

// entry is one line of what happened, as the reporter may read it.
type entry struct {
	At time.Time
	// Kind is a word key: entry.reported, entry.comment, entry.desk,
	// entry.solution, entry.state, entry.answer_yes, entry.answer_no,
	// entry.rating.
	Kind   string
	Author string
	Text   string
	State  string // for entry.state: the word key of the new state
	Rating int
}

// timeline is what the reporter may see of an incident, oldest first:
// their comments and answers, the help desk's public notes (actions
// marked Public, and the note that came with the move to validation: what
// was done), and state changes in plain words (one line per change a
// reporter can tell: analysis -> solution is still "working on it").
// Every other action stays internal.
func timeline(inc *intake.Incident) []entry {
	var out []entry
	for _, c := range inc.Comments {
		out = append(out, entry{At: c.At, Kind: "entry.comment", Author: c.Author, Text: c.Text})
	}
	for _, a := range inc.Actions {
		if a.Public {
			out = append(out, entry{At: a.At, Kind: "entry.desk", Text: a.Text})
		}
	}
	for _, sv := range inc.Surveys {
		e := entry{At: sv.At, Text: sv.Comment}
		switch {
		case sv.Step == intake.SurveyValidation && sv.Answer == "yes":
			e.Kind = "entry.answer_yes"
		case sv.Step == intake.SurveyValidation:
			e.Kind = "entry.answer_no"
		default:
			e.Kind, e.Rating = "entry.rating", sv.Rating
		}
		out = append(out, e)
	}
	last := ""
	for _, h := range inc.History {
		if h.To == "" || h.To == intake.NoSolution {
			continue
		}
		if h.To == intake.Validation && strings.TrimSpace(h.Note) != "" {
			out = append(out, entry{At: h.At, Kind: "entry.solution", Text: strings.TrimSpace(h.Note)})
		}
		if w := stateWord(h.To); w != last {
			if last != "" {
				out = append(out, entry{At: h.At, Kind: "entry.state", State: w})
			}
			last = w
		}
	}
	slices.SortStableFunc(out, func(a, b entry) int { return a.At.Compare(b.At) })
	return out
}

type incidentView struct {
	Inc      *intake.Incident
	State    string // word key
	Service  string // the CI in the reporter's language
	Timeline []entry
	// Question is the open question ("validation", "satisfaction") or "".
	Question string
	Round    int64
	// CanComment: the incident takes comments (it is not closed).
	CanComment bool
	// Offered are the articles the reporter may say solved the problem:
	// those the acknowledgment offered, while no solution is proposed yet.
	Offered []intake.Suggestion
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request, m me) {
	inc, ok := s.own(w, r, m)
	if !ok {
		return
	}
	s.showIncident(w, r, m, inc, http.StatusOK, "")
}

func (s *Server) showIncident(w http.ResponseWriter, r *http.Request, m me, inc *intake.Incident, status int, errKey string) {
	v := incidentView{Inc: inc, State: stateWord(inc.State), Timeline: timeline(inc), Round: inc.Round}
	if inc.CI != "" && s.d.Labels != nil {
		v.Service = s.d.Labels.Label(inc.CI, intake.Lang(m.lang))
	}
	by := s.actor(inc, m)
	if inc.State == intake.Validation || inc.State == intake.Satisfaction {
		v.Question = string(inc.State)
	}
	_, err := workflow.Decide(workflow.Facts{State: inc.State, Owner: inc.Owner}, workflow.Event{Kind: intake.EventComment, Actor: by})
	v.CanComment = err == nil
	if solvable(inc) {
		v.Offered = inc.ReporterSuggestions(s.d.Engine.MinScore())
	}
	page := s.view(r, m, "incident", v)
	if errKey != "" {
		page.Error = s.d.Pages.Word(m.lang, errKey)
	}
	page.Notice = s.notice(r, m.lang)
	s.render(w, status, "incident", page)
}

// notice is the confirmation a redirect after a change asks for (?done=).
func (s *Server) notice(r *http.Request, lang string) string {
	switch k := r.URL.Query().Get("done"); k {
	case "comment", "file", "yes", "no", "rating", "reported", "solved":
		return s.d.Pages.Word(lang, "done."+k)
	}
	return ""
}

// own reads the incident of the request when it is the reporter's. Any
// other incident, existing or not, is "not found" (404): a reporter must
// not learn which numbers exist.
func (s *Server) own(w http.ResponseWriter, r *http.Request, m me) (*intake.Incident, bool) {
	inc, err := s.d.Engine.Get(r.Context(), r.PathValue("id"))
	if err == nil && !inc.IsReporter(m.Email) {
		err = intake.ErrNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	return inc, true
}

// actor is the signed-in reporter acting on their incident.
func (s *Server) actor(inc *intake.Incident, m me) intake.Actor {
	name := inc.Reporter.Name
	if name == "" {
		name = m.Email
	}
	return intake.Actor{Kind: intake.ActorReporter, Name: name, Via: "portal"}
}

// act applies one form of the incident page: a comment, a file, or the
// answer to the open question (with the round the page showed, so that an
// answer to a question replaced since is refused). A change goes back to
// the page (303); a refusal shows on the page in the reporter's words.
func (s *Server) act(w http.ResponseWriter, r *http.Request, m me) {
	inc, ok := s.own(w, r, m)
	if !ok {
		return
	}
	f := r.PostForm
	by := s.actor(inc, m)
	if n := f.Get("nonce"); n != "" && len(n) <= 100 {
		by.Ref = "portal:" + n
	}
	ctx := r.Context()
	text := strings.TrimSpace(f.Get("text"))
	var err error
	done := f.Get("op")
	switch f.Get("op") {
	case "comment":
		if text == "" {
			s.showIncident(w, r, m, inc, http.StatusBadRequest, "error.empty")
			return
		}
		_, err = s.d.Engine.Comment(ctx, inc.ID, by, text)
	case "file":
		att, bad := s.readFile(r)
		if bad != "" {
			s.showIncident(w, r, m, inc, fileStatus(bad), bad)
			return
		}
		ref := by.Ref
		if ref == "" {
			// Each upload is its own source: a random ref.
			t, err := webui.RandomToken()
			if err != nil {
				s.fail(w, r, err)
				return
			}
			ref = "portal:" + t
		}
		if err = s.d.Files.AddAttachments(ctx, inc.ID, ref, []intake.Attachment{att}); err == nil {
			// A comment tells the agents a file came (attachments alone
			// change no state and leave no history).
			if text == "" {
				text = s.d.Pages.Word(langOf(inc.Reporter.Language), "file.comment") + " " + att.Name
			}
			_, err = s.d.Engine.Comment(ctx, inc.ID, by, text)
		}
	case "answer":
		by.Round, _ = strconv.ParseInt(f.Get("round"), 10, 64)
		switch a := f.Get("answer"); {
		case inc.State == intake.Validation && (a == "yes" || a == "no"):
			_, err = s.d.Engine.AnswerValidation(ctx, inc.ID, by, a == "yes", text)
			done = a
		case inc.State == intake.Satisfaction:
			n, cerr := strconv.Atoi(f.Get("rating"))
			if cerr != nil || n < 1 || n > 5 {
				s.showIncident(w, r, m, inc, http.StatusBadRequest, "error.rating")
				return
			}
			_, err = s.d.Engine.Rate(ctx, inc.ID, by, n, text)
			done = "rating"
		default:
			s.showIncident(w, r, m, inc, http.StatusConflict, "error.answered")
			return
		}
	case "solved":
		// The engine refuses both cases too; asking first gives the
		// reporter words for each rather than "not valid".
		if !solvable(inc) {
			s.showIncident(w, r, m, inc, http.StatusConflict, "error.answered")
			return
		}
		if _, ok := offered(inc, s.d.Engine.MinScore(), f.Get("article")); !ok {
			s.showIncident(w, r, m, inc, http.StatusBadRequest, "error.not_offered")
			return
		}
		_, err = s.d.Engine.Solved(ctx, inc.ID, by, f.Get("article"))
	default:
		s.errorIn(w, r, m.lang, http.StatusBadRequest, "error.badform")
		return
	}
	var refused *intake.Refusal
	switch {
	case err == nil:
		http.Redirect(w, r, "/portal/incidents/"+inc.ID+query("done", done), http.StatusSeeOther)
	case errors.As(err, &refused):
		fresh, gerr := s.d.Engine.Get(ctx, inc.ID)
		if gerr != nil {
			fresh = inc
		}
		key := "error.answered"
		if refused.Code == intake.CodeClosed {
			key = "error.closed"
		}
		s.showIncident(w, r, m, fresh, http.StatusConflict, key)
	case errors.Is(err, intake.ErrInvalid):
		s.showIncident(w, r, m, inc, http.StatusBadRequest, "error.invalid")
	default:
		s.fail(w, r, err)
	}
}

// solvable reports whether the reporter may still say an offered article
// solved the problem: only before an agent proposes a solution (the same
// rule as the acknowledgment's link; the engine enforces it).
func solvable(inc *intake.Incident) bool {
	return inc.State == intake.Analysis || inc.State == intake.Solution
}

// offered is the article id if the incident offered it to its reporter.
func offered(inc *intake.Incident, minScore float64, articleID string) (intake.Suggestion, bool) {
	for _, sg := range inc.ReporterSuggestions(minScore) {
		if sg.ID == articleID {
			return sg, true
		}
	}
	return intake.Suggestion{}, false
}

// fileStatus is the status of a refused file: 413 when it is too big.
func fileStatus(key string) int {
	if key == "error.toolarge" {
		return http.StatusRequestEntityTooLarge
	}
	return http.StatusBadRequest
}

// allowedTypes are the files a reporter may attach: screenshots, PDFs,
// text and logs, office documents. The type is sniffed from the content
// (the browser's claim is not trusted), and the name must agree.
var allowedTypes = map[string][]string{
	"image/png":       {".png"},
	"image/jpeg":      {".jpg", ".jpeg"},
	"image/gif":       {".gif"},
	"image/webp":      {".webp"},
	"application/pdf": {".pdf"},
	"text/plain":      {".txt", ".log", ".csv"},
	"application/zip": {".docx", ".xlsx", ".pptx", ".zip"},
}

// readFile reads the form's file, or names the word of what is wrong.
func (s *Server) readFile(r *http.Request) (intake.Attachment, string) {
	file, hdr, err := r.FormFile("file")
	if err != nil {
		return intake.Attachment{}, "error.nofile"
	}
	defer file.Close()
	content, err := io.ReadAll(io.LimitReader(file, s.d.MaxFileBytes+1))
	if err != nil {
		return intake.Attachment{}, "error.nofile"
	}
	if int64(len(content)) > s.d.MaxFileBytes {
		return intake.Attachment{}, "error.toolarge"
	}
	if len(content) == 0 {
		return intake.Attachment{}, "error.nofile"
	}
	name := strings.TrimSpace(hdr.Filename)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(content))
	exts, ok := allowedTypes[ct]
	lower := strings.ToLower(name)
	if !ok || name == "" || len(name) > 200 || !slices.ContainsFunc(exts, func(e string) bool { return strings.HasSuffix(lower, e) }) {
		return intake.Attachment{}, "error.filetype"
	}
	if ct == "text/plain" {
		ct = "text/plain; charset=utf-8"
	}
	return intake.Attachment{Name: name, Type: ct, Size: int64(len(content)), Via: "portal", At: s.d.Now().UTC(), Content: content}, ""
}

// attachment sends a file of the reporter's incident as a download, never
// rendered in the portal's origin.
func (s *Server) attachment(w http.ResponseWriter, r *http.Request, m me) {
	inc, ok := s.own(w, r, m)
	if !ok {
		return
	}
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 0 {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	a, err := s.d.Files.Attachment(r.Context(), inc.ID, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ct := a.Type
	if _, _, err := mime.ParseMediaType(ct); err != nil || ct == "" {
		ct = "application/octet-stream"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}))
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(a.Content)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(a.Content)
}
