// Package portal is the reporters' self-service portal at /portal/: sign-in
// by a mailed link (no passwords), the reporter's incidents with their
// state in plain words, an incident page with what the reporter may see
// (never the agents' internal actions), comments, attachments, the open
// survey question, and a form to report a new incident. Pages are
// rendered on the server from templates/LANG/web/portal and work without
// JavaScript; sessions, CSRF, security headers and the language switch
// come from webui, as for the agents' console. Every change goes through
// the same engine calls as mail, Slack and the survey links.
package portal

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/portallink"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// Engine is the workflow engine as the portal drives it.
type Engine interface {
	Get(ctx context.Context, id string) (*intake.Incident, error)
	Register(ctx context.Context, rep intake.Report) (*intake.Incident, error)
	Comment(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error)
	Rate(ctx context.Context, id string, by intake.Actor, rating int, comment string) (intake.Changed, error)
	// Solved records that an article the reporter was offered solved the
	// problem; MinScore is the score an offered article reaches.
	Solved(ctx context.Context, id string, by intake.Actor, articleID string) (intake.Changed, error)
	MinScore() float64
}

// Articles reads knowledge-base articles (the store); the portal shows
// only public ones.
type Articles interface {
	Article(ctx context.Context, id string) (kb.Article, error)
}

// Lister lists a reporter's incidents (the store's reporter index).
type Lister interface {
	List(ctx context.Context, f intake.ListFilter) (intake.Page, error)
}

// Files keeps and reads an incident's attachments.
type Files interface {
	Attachment(ctx context.Context, incidentID string, index int) (intake.Attachment, error)
	AddAttachments(ctx context.Context, incidentID, ref string, atts []intake.Attachment) error
}

// Links marks sign-in link nonces as used (SET NX until the link expires)
// and tells whether one was; the store is one.
type Links interface {
	Spend(ctx context.Context, nonce string, until time.Time) (first bool, err error)
	Spent(ctx context.Context, nonce string) (bool, error)
}

// Mailer sends a sign-in link to an address, in a language.
type Mailer interface {
	SendSignIn(ctx context.Context, to string, lang intake.Lang, link string) error
}

// Pages renders the portal's pages; templates.LoadPortal gives one.
type Pages interface {
	Render(w io.Writer, lang, name string, data any) error
	Word(lang, key string) string
}

// Deps is what the portal needs.
type Deps struct {
	Engine   Engine
	Lister   Lister
	Files    Files
	Articles Articles
	Links    Links
	Mailer   Mailer
	Pages    Pages
	Signer   *portallink.Signer
	Sessions *webui.Sessions // Path "/portal/", a cookie and key space of their own
	// MailLimit counts sign-in mails per address, AddrLimit sign-in
	// requests per client address.
	MailLimit, AddrLimit *webui.Limiter
	// Services are the configuration items a reporter may pick (the CI
	// catalogue), Labels names them in a language.
	Services []string
	Labels   interface {
		Label(name string, lang intake.Lang) string
	}
	// Org is the organisation's name (org.name) the pages carry; empty:
	// "Help desk" in each language.
	Org string
	// MaxFileBytes caps one attachment (DefaultMaxFileBytes when zero).
	MaxFileBytes int64
	Secure       bool
	Log          *slog.Logger
	Now          func() time.Time
}

// DefaultMaxFileBytes is the attachment cap when none is configured.
const DefaultMaxFileBytes = 5 << 20

// maxFormBytes bounds a form without a file.
const maxFormBytes = intake.MaxTextBytes + 16<<10

// Server is the portal's handler.
type Server struct {
	d   Deps
	mux *http.ServeMux
	// markdown renders articles to sanitised HTML; built once, it is
	// safe for concurrent use.
	markdown *kb.Renderer
}

// New builds the portal's routes under /portal/.
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.MaxFileBytes <= 0 {
		d.MaxFileBytes = DefaultMaxFileBytes
	}
	s := &Server{d: d, mux: http.NewServeMux(), markdown: kb.NewRenderer()}
	s.mux.Handle("GET /portal/static/", http.StripPrefix("/portal/static/", webui.Static()))
	s.mux.HandleFunc("GET /portal/login", s.loginPage)
	s.mux.HandleFunc("POST /portal/login", s.askLink)
	s.mux.HandleFunc("GET /portal/login/{token}", s.confirmPage)
	s.mux.HandleFunc("POST /portal/login/{token}", s.useLink)
	s.mux.HandleFunc("GET /portal/i/{token}", s.incidentLink)
	s.mux.HandleFunc("GET /portal/lang", s.setLang)
	s.mux.HandleFunc("POST /portal/logout", s.reporter(s.logout))
	s.mux.HandleFunc("GET /portal/{$}", s.reporter(s.home))
	s.mux.HandleFunc("GET /portal/new", s.reporter(s.newPage))
	s.mux.HandleFunc("POST /portal/new", s.reporter(s.report))
	s.mux.HandleFunc("GET /portal/incidents/{id}", s.reporter(s.incident))
	s.mux.HandleFunc("POST /portal/incidents/{id}", s.reporter(s.act))
	s.mux.HandleFunc("GET /portal/incidents/{id}/attachments/{n}", s.reporter(s.attachment))
	s.mux.HandleFunc("GET /portal/kb/{id}", s.reporter(s.article))
	s.mux.HandleFunc("/portal/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
	})
	return s
}

// ServeHTTP serves the portal with its security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	webui.Secure(s.mux).ServeHTTP(w, r)
}

// me is the signed-in reporter of a request: an address, proven by a link
// mailed to it.
type me struct {
	Email   string
	session webui.Session
	lang    string
}

type reporterHandler func(w http.ResponseWriter, r *http.Request, m me)

// reporter lets only a signed-in reporter through, and only a POST with the
// session's CSRF token (403 without). The body of a POST is bounded here;
// a form with a file gets the file cap on top.
func (s *Server) reporter(h reporterHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := webui.Lang(r)
		sess, err := s.d.Sessions.Load(r.Context(), r)
		if errors.Is(err, webui.ErrNoSession) {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, http.StatusUnauthorized, "error.signin")
			return
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		m := me{Email: sess.Agent, session: sess, lang: lang}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, s.d.MaxFileBytes+maxFormBytes)
			var perr error
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				perr = r.ParseMultipartForm(1 << 20)
			} else {
				perr = r.ParseForm()
			}
			if perr != nil {
				var tooBig *http.MaxBytesError
				if errors.As(perr, &tooBig) {
					s.errorPage(w, r, http.StatusRequestEntityTooLarge, "error.toolarge")
					return
				}
				s.errorPage(w, r, http.StatusBadRequest, "error.badform")
				return
			}
			if !webui.CheckPost(r, sess.CSRF) {
				s.errorPage(w, r, http.StatusForbidden, "error.csrf")
				return
			}
		}
		h(w, r, m)
	}
}

// view is what every page gets; Page is the page's own data.
type view struct {
	Lang, Other string
	Org         string // the organisation's name, if configured
	Email       string // the signed-in reporter, if any
	CSRF        string
	Here        string // this page, for the language switch to come back to
	Nav         string
	Error       string
	Notice      string
	Page        any
}

func (s *Server) view(r *http.Request, m me, nav string, page any) view {
	return view{Lang: m.lang, Other: other(m.lang), Email: m.Email, CSRF: m.session.CSRF, Here: r.URL.RequestURI(), Nav: nav, Page: page}
}

func other(lang string) string {
	if lang == "es" {
		return "en"
	}
	return "es"
}

func (s *Server) render(w http.ResponseWriter, status int, name string, v view) {
	v.Org = s.d.Org
	var b strings.Builder
	if err := s.d.Pages.Render(&b, v.Lang, name, v); err != nil {
		s.d.Log.Error("portal page failed", "page", name, "err", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// errorPage answers with the error page saying the word key, in the
// request's language.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	s.errorIn(w, r, webui.Lang(r), status, key)
}

func (s *Server) errorIn(w http.ResponseWriter, r *http.Request, lang string, status int, key string) {
	s.render(w, status, "error", view{Lang: lang, Other: other(lang), Here: "/portal/", Error: s.d.Pages.Word(lang, key),
		Page: errorView{SignIn: status == http.StatusUnauthorized || status == http.StatusGone || strings.HasPrefix(key, "link.")}})
}

type errorView struct {
	SignIn bool // offer a new sign-in link
}

// fail answers an unexpected error; the detail goes to the log only. Not
// found and malformed ids are both "no such incident" (404).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, intake.ErrNotFound), errors.Is(err, intake.ErrInvalid):
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
	default:
		s.d.Log.Error("portal request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "error.internal")
	}
}

// setLang remembers the language picked and goes back to the page it was
// picked on (only a portal page: never another site).
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	if !webui.SwitchLang(w, r, "/portal/", s.d.Secure) {
		s.errorPage(w, r, http.StatusBadRequest, "error.badform")
	}
}

// clientAddr is the client's IP address as this server sees it.
func clientAddr(r *http.Request) string { return webui.ClientAddr(r) }

// langOf is the language of a reporter's record as a page language.
func langOf(l intake.Lang) string {
	if l == intake.Spanish {
		return "es"
	}
	return "en"
}

// query keeps a value in a redirect's query.
func query(k, v string) string { return "?" + url.Values{k: {v}}.Encode() }

func isInvalid(err error) bool { return errors.Is(err, intake.ErrInvalid) }
