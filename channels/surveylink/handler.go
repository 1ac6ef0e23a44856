package surveylink

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/intakebot/intakebot/intake"
)

// Incidents reads the incident a link names.
type Incidents interface {
	Get(ctx context.Context, id string) (*intake.Incident, error)
}

// Answerer records a reporter's answers; the workflow engine is one.
type Answerer interface {
	AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error)
	Rate(ctx context.Context, id string, by intake.Actor, rating int, comment string) (intake.Changed, error)
}

// Spender marks a link's nonce as used until the link expires, and reports
// whether this call was the first: the store's SET NX.
type Spender interface {
	Spend(ctx context.Context, nonce string, until time.Time) (first bool, err error)
}

// Pages renders the reporter's pages; templates.Pages is one.
type Pages interface {
	Render(w io.Writer, lang, name string, data any) error
}

// Deps is what the survey pages need.
type Deps struct {
	Signer    *Signer
	Incidents Incidents
	Answerer  Answerer
	Spender   Spender
	// Solver records "this solved my problem"; nil serves no solved links.
	Solver Solver
	Pages  Pages
	// Log receives failures and recorded votes; nil discards them.
	Log *slog.Logger
}

// MaxBodyBytes bounds a vote's form. The page's comment box is limited so
// that a browser never reaches it; anything bigger is not from our page.
const MaxBodyBytes = 16 << 10

// retryAfter is what the unavailable page asks a browser to wait while
// Redis cannot answer (the Retry-After header, in seconds): about the time
// a restarted Redis needs to load, or a failover to complete.
const retryAfter = "10"

// applyTimeout bounds recording a vote once its link is spent.
const applyTimeout = 15 * time.Second

type handler struct {
	d   Deps
	mux *http.ServeMux
}

// NewHandler serves GET and POST /s/{token}. Mount it at the root of the
// public base URL that URL builds links from.
func NewHandler(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	h := &handler{d: d, mux: http.NewServeMux()}
	h.mux.HandleFunc("GET /s/{token}", h.show)
	h.mux.HandleFunc("POST /s/{token}", h.vote)
	if d.Solver != nil {
		h.mux.HandleFunc("GET /k/{token}", h.showSolved)
		h.mux.HandleFunc("POST /k/{token}", h.confirmSolved)
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// pageData is what the pages may show. Every page gets the same shape so
// that a page added later cannot fail on a field another page lacks.
type pageData struct {
	ID, Subject, ReporterName string
	Step                      string
	Answer                    string // "yes" or "no", on thanks after validation
	Rating                    int    // on thanks after satisfaction
	TooLarge                  bool   // on badanswer: the form was over MaxBodyBytes
	// Chosen is the answer the mail's link named ("yes", "no", "1".."5"):
	// the page offers it first, and the reporter still has to confirm.
	Chosen string
	// ArticleID and ArticleTitle name the article of a solved link.
	ArticleID, ArticleTitle string
}

// show answers GET. It never changes anything: mail scanners and link
// previewers follow every link in a mail, and must not cast a vote.
func (h *handler) show(w http.ResponseWriter, r *http.Request) {
	c, inc, ok := h.load(w, r)
	if !ok {
		return
	}
	lang, data := langOf(inc), dataOf(inc, c)
	if page := closedPage(inc, c); page != "" {
		h.page(w, http.StatusOK, lang, page, data)
		return
	}
	data.Chosen = chosen(r, c.Step)
	h.page(w, http.StatusOK, lang, c.Step, data)
}

// chosen reads the answer a mail's per-answer link names, if it is one
// the step accepts.
func chosen(r *http.Request, step string) string {
	q := r.URL.Query()
	switch a, n := q.Get("answer"), q.Get("rating"); {
	case step == StepValidation && (a == "yes" || a == "no"):
		return a
	case step == StepSatisfaction && len(n) == 1 && n >= "1" && n <= "5":
		return n
	}
	return ""
}

// vote answers POST: it checks the form, spends the link and records the
// answer, in that order.
func (h *handler) vote(w http.ResponseWriter, r *http.Request) {
	c, inc, ok := h.load(w, r)
	if !ok {
		return
	}
	lang, data := langOf(inc), dataOf(inc, c)
	v, err := readVote(w, r, c.Step)
	if err != nil {
		var tooBig *http.MaxBytesError
		data.TooLarge = errors.As(err, &tooBig)
		code := http.StatusBadRequest
		if data.TooLarge {
			code = http.StatusRequestEntityTooLarge
		}
		h.page(w, code, lang, "badanswer", data)
		return
	}
	// The question is checked before the link is spent: a link whose
	// question is already answered (by mail, Slack, or this link), closed
	// or replaced by a newer round is refused without burning it, so that
	// refusing costs nothing.
	if page := closedPage(inc, c); page != "" {
		h.page(w, http.StatusConflict, lang, page, data)
		return
	}
	first, err := h.d.Spender.Spend(r.Context(), c.Nonce, c.Expires)
	if err != nil {
		// Not spent: when Redis is only unavailable, the same click works
		// in a moment, and the page says so.
		h.fail(w, r, lang, data, "spend survey link", err)
		return
	}
	if !first {
		h.page(w, http.StatusConflict, lang, "answered", data)
		return
	}
	// Spent before applied, so a link can never cast two votes, even across
	// a later round of the same question. The price is at-most-once: if we
	// crash or Redis fails between Spend and the vote, that click is lost
	// and the link answers "already answered"; the error page asks the
	// reporter to answer by mail instead, and the log names the incident.
	// To keep that window as small as we can, the vote no longer depends on
	// the request: a reporter closing the tab must not cancel a vote whose
	// link is already spent.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), applyTimeout)
	defer cancel()
	// The round goes with the answer: the store refuses it atomically if
	// a newer round opened since closedPage looked.
	by := intake.Actor{Kind: intake.ActorReporter, Name: reporterName(inc), Via: "web", Round: c.Round}
	if c.Step == StepValidation {
		_, err = h.d.Answerer.AnswerValidation(ctx, inc.ID, by, v.yes, v.comment)
		data.Answer = "no"
		if v.yes {
			data.Answer = "yes"
		}
	} else {
		_, err = h.d.Answerer.Rate(ctx, inc.ID, by, v.rating, v.comment)
		data.Rating = v.rating
	}
	var refused *intake.Refusal
	switch {
	case err == nil:
		h.d.Log.Info("survey answered on the web", "incident", inc.ID, "step", c.Step, "round", c.Round)
		h.page(w, http.StatusOK, lang, "thanks", data)
	case errors.As(err, &refused) && refused.Code == intake.CodeReplaced:
		h.page(w, http.StatusConflict, lang, "replaced", data)
	case errors.Is(err, intake.ErrConflict):
		// Another answer (mail, Slack) won the race since closedPage
		// looked. The link is spent, but its question is closed for good:
		// a later round is another question, which this link's round can
		// never answer, so nothing of value was burnt.
		h.page(w, http.StatusConflict, lang, "answered", data)
	case errors.Is(err, intake.ErrNotFound):
		h.page(w, http.StatusNotFound, lang, "notfound", data)
	default:
		// Even when Redis is only unavailable this is not a "try again"
		// (503): the link is spent, so the reporter answers by mail.
		h.d.Log.Error("survey link spent but the vote was not recorded; ask the reporter to answer by mail",
			"incident", inc.ID, "step", c.Step, "nonce", c.Nonce, "err", err)
		h.page(w, http.StatusInternalServerError, lang, "error", data)
	}
}

// load verifies the token and reads its incident, or answers the request
// itself and returns false.
func (h *handler) load(w http.ResponseWriter, r *http.Request) (Claims, *intake.Incident, bool) {
	c, err := h.d.Signer.Verify(r.PathValue("token"))
	if errors.Is(err, ErrExpired) {
		// The claims are authentic, so the reporter's language can be
		// looked up; if that fails the browser's will do.
		lang := acceptLang(r)
		if inc, gerr := h.d.Incidents.Get(r.Context(), c.IncidentID); gerr == nil {
			lang = langOf(inc)
		}
		h.page(w, http.StatusGone, lang, "expired", pageData{ID: c.IncidentID})
		return Claims{}, nil, false
	}
	if err != nil {
		h.d.Log.Warn("refused a survey link", "method", r.Method, "err", err)
		h.page(w, http.StatusBadRequest, acceptLang(r), "invalid", pageData{})
		return Claims{}, nil, false
	}
	inc, err := h.d.Incidents.Get(r.Context(), c.IncidentID)
	switch {
	case errors.Is(err, intake.ErrNotFound) || errors.Is(err, intake.ErrInvalid):
		h.page(w, http.StatusNotFound, acceptLang(r), "notfound", pageData{ID: c.IncidentID})
		return Claims{}, nil, false
	case err != nil:
		h.fail(w, r, acceptLang(r), pageData{ID: c.IncidentID}, "read incident", err)
		return Claims{}, nil, false
	}
	return c, inc, true
}

// closedPage names the page that refuses the link, or "" when the link's
// question is the one the incident is asking now: the incident is in the
// link's step, and in the link's round. The round matters after a "no":
// the case goes back to analysis and later asks again with a new mail and
// a new link, and an unspent link from the first round must not answer
// the second, however soon it comes. A link signed before links carried
// a round answers no round: it is refused with the same page.
func closedPage(inc *intake.Incident, c Claims) string {
	switch {
	case string(inc.State) != c.Step:
		return "answered"
	case c.Round != inc.Round:
		return "replaced"
	}
	return ""
}

type vote struct {
	yes     bool
	rating  int
	comment string
}

// readVote reads and checks the form strictly: the fields of the link's step
// and nothing else, each at most once, the comment valid UTF-8. Everything
// that could make the vote fail is checked here, before the link is spent.
func readVote(w http.ResponseWriter, r *http.Request, step string) (vote, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		// Drain (up to the limit) so that an oversized body is reported
		// as such whatever its type.
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return vote{}, err
		}
		return vote{}, errors.New("the form must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return vote{}, err
	}
	var v vote
	field := "rating"
	if step == StepValidation {
		field = "answer"
	}
	for k, vals := range r.PostForm {
		if len(vals) != 1 || (k != field && k != "comment") {
			return vote{}, errors.New("unexpected form field " + strconv.Quote(k))
		}
	}
	if _, ok := r.PostForm[field]; !ok {
		return vote{}, errors.New("no " + field)
	}
	switch val := r.PostForm.Get(field); step {
	case StepValidation:
		if val != "yes" && val != "no" {
			return vote{}, errors.New("answer must be yes or no")
		}
		v.yes = val == "yes"
	case StepSatisfaction:
		n, err := strconv.Atoi(val)
		if err != nil || n < 1 || n > 5 || val != strconv.Itoa(n) {
			return vote{}, errors.New("rating must be 1 to 5")
		}
		v.rating = n
	}
	v.comment = strings.TrimSpace(strings.ReplaceAll(r.PostForm.Get("comment"), "\r\n", "\n"))
	if !utf8.ValidString(v.comment) {
		return vote{}, errors.New("comment is not valid UTF-8")
	}
	return v, nil
}

// page writes a whole page with its status. Every answer here carries a
// capability in its URL, so none may be cached, indexed, or leak its
// address to another site.
func (h *handler) page(w http.ResponseWriter, code int, lang, name string, data pageData) {
	var buf bytes.Buffer
	hdr := w.Header()
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if err := h.d.Pages.Render(&buf, lang, name, data); err != nil {
		h.d.Log.Error("render survey page", "lang", lang, "page", name, "err", err)
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "internal error\n")
		return
	}
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("X-Robots-Tag", "noindex, nofollow")
	// Inline styles only, no scripts, forms back to ourselves, no framing
	// (a framed vote page could be used to trick a click).
	hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	w.WriteHeader(code)
	_, _ = buf.WriteTo(w)
}

// fail answers a failure to read or spend before anything was recorded. A
// Redis that is unavailable (down, restarting, failing over) gets 503 and
// a page asking to come back in a few minutes; anything else is ours.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, lang string, data pageData, what string, err error) {
	if errors.Is(err, intake.ErrUnavailable) {
		h.d.Log.Warn("survey link: "+what+": redis unavailable", "method", r.Method, "incident", data.ID, "err", err)
		w.Header().Set("Retry-After", retryAfter)
		h.page(w, http.StatusServiceUnavailable, lang, "unavailable", data)
		return
	}
	h.d.Log.Error("survey link: "+what, "method", r.Method, "incident", data.ID, "err", err)
	h.page(w, http.StatusInternalServerError, lang, "error", data)
}

func dataOf(inc *intake.Incident, c Claims) pageData {
	return pageData{ID: inc.ID, Subject: inc.Subject, ReporterName: inc.Reporter.Name, Step: c.Step}
}

// langOf is the reporter's language, English when it is not one we speak.
func langOf(inc *intake.Incident) string {
	if inc.Reporter.Language.Valid() {
		return string(inc.Reporter.Language)
	}
	return string(intake.English)
}

// reporterName names the reporter in the incident's history; the engine
// needs a name, and a reporter may have only an address or a Slack id.
func reporterName(inc *intake.Incident) string {
	for _, s := range []string{inc.Reporter.Name, inc.Reporter.Email, inc.Reporter.SlackID} {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return "reporter"
}

// acceptLang picks en or es from Accept-Language, for pages shown before we
// know whose link it is. The highest q wins; ties go to the first listed.
func acceptLang(r *http.Request) string {
	best, bestQ := string(intake.English), 0.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if lang := intake.Lang(base); lang.Valid() && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best
}
