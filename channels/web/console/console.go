// Package console is the agents' web console: sign-in, the live queue, the
// incident page and its forms. Pages are rendered on the server from
// templates/LANG/web/console and work without JavaScript; a small script
// of our own (webui's static files) adds live updates. What an agent may do
// is asked of workflow.Decide, the same rules the API, Slack and mail obey.
package console

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
)

// Engine is the workflow engine as the console drives it: the same calls
// the JSON API makes.
type Engine interface {
	Get(ctx context.Context, id string) (*intake.Incident, error)
	AddAction(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	AddPublicNote(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	Move(ctx context.Context, id string, by intake.Actor, to intake.State, note string) (intake.Changed, error)
	Assign(ctx context.Context, id string, by intake.Actor, owner, note string) (intake.Changed, error)
	Escalate(ctx context.Context, id string, by intake.Actor, group string, level int, note string) (intake.Changed, error)
	Recategorize(ctx context.Context, id string, by intake.Actor, category, note string) (intake.Changed, error)
	AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error)
	Rate(ctx context.Context, id string, by intake.Actor, rating int, comment string) (intake.Changed, error)
}

// Grouper groups the incidents of one outage by hand (workflow.Engine
// does).
type Grouper interface {
	Group(ctx context.Context, parent string, children []string, by intake.Actor, note string) error
	Ungroup(ctx context.Context, child string, by intake.Actor, note string) error
}

// Lister serves incident lists from the store's indexes.
type Lister interface {
	List(ctx context.Context, f intake.ListFilter) (intake.Page, error)
}

// Files reads an incident's attachments.
type Files interface {
	Attachment(ctx context.Context, incidentID string, index int) (intake.Attachment, error)
}

// Agents knows the agents and checks their passwords (Argon2id, kept by
// the store).
type Agents interface {
	Agent(ctx context.Context, name string) (intake.Agent, error)
	CheckPassword(ctx context.Context, name, password string) (intake.Agent, error)
}

// AgentAdmin manages the agents (the admins' page); the store is one.
type AgentAdmin interface {
	Agents(ctx context.Context) ([]intake.Agent, error)
	CreateAgent(ctx context.Context, name string, admin bool, lifetime time.Duration) (intake.Agent, string, error)
	SetPassword(ctx context.Context, name, password string) error
	RevokeAgent(ctx context.Context, name string) error
}

// Pages renders the console's pages; templates.Console is one.
type Pages interface {
	Render(w io.Writer, lang, name string, data any) error
	Word(lang, key string) string
	HasWord(lang, key string) bool
}

// Changes tells the console which incidents changed, on any bot.
type Changes interface {
	Subscribe() (<-chan string, func())
}

// Deps is what the console needs.
type Deps struct {
	Engine Engine
	// Grouping serves grouping by hand on the incident page; nil hides it.
	Grouping Grouper
	Lister   Lister
	Files    Files
	Agents   Agents
	Admin    AgentAdmin
	Pages    Pages
	Sessions *webui.Sessions
	Limiter  *webui.Limiter
	// SSO is single sign-on (web.oidc); nil: passwords only.
	SSO     *SSO
	Changes Changes
	// Timers give the SLA targets the badges count down to.
	Timers workflow.Timers
	// Labels names categories and CIs in a language; intake.Rules is one.
	Labels interface {
		Label(name string, lang intake.Lang) string
	}
	// Groups are the configured support groups (for the filters and the
	// escalation form); empty: free text.
	Groups []string
	// Categories are the configured categories, for recategorising.
	Categories []string
	// KnownErrors and KEOps serve the known errors' page and the incident
	// page's known-error card; nil leaves both out.
	KnownErrors KnownErrorStore
	KEOps       KnownErrorOps
	// KB and KBIndex serve the knowledge-base pages; nil: none.
	KB      KB
	KBIndex *kb.Index
	// MinScore is the score a public article needs to be offered to the
	// reporter (kb.suggest.min_score): the page marks those.
	MinScore float64
	Secure   bool
	Log      *slog.Logger
	Now      func() time.Time
}

// MaxFormBytes bounds every form; an action's text is the largest field.
const MaxFormBytes = intake.MaxTextBytes + 16<<10

// Server is the console's handler.
type Server struct {
	d   Deps
	mux *http.ServeMux
}

// New builds the console's routes under /console/ (and / redirecting there).
func New(d Deps) *Server {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	s := &Server{d: d, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/", http.StatusFound)
	})
	s.mux.Handle("GET /console/static/", http.StripPrefix("/console/static/", webui.Static()))
	s.mux.HandleFunc("GET /console/login", s.loginPage)
	s.mux.HandleFunc("POST /console/login", s.login)
	s.mux.HandleFunc("GET "+ssoPath, s.ssoStart)
	s.mux.HandleFunc("GET "+ssoPath+"/callback", s.ssoCallback)
	s.mux.HandleFunc("POST /console/logout", s.agent(s.logout))
	s.mux.HandleFunc("GET /console/lang", s.setLang)
	s.mux.HandleFunc("GET /console/{$}", s.agent(s.queue))
	s.mux.HandleFunc("GET /console/incidents/{id}", s.agent(s.incident))
	s.mux.HandleFunc("POST /console/incidents/{id}", s.agent(s.act))
	s.mux.HandleFunc("GET /console/incidents/{id}/attachments/{n}", s.agent(s.attachment))
	s.mux.HandleFunc("GET /console/events", s.agent(s.events))
	s.mux.HandleFunc("GET /console/export.csv", s.agent(s.export))
	s.mux.HandleFunc("GET /console/dashboard", s.agent(s.dashboard))
	if d.KnownErrors != nil && d.KEOps != nil {
		s.mux.HandleFunc("GET /console/known-errors", s.agent(s.knownErrors))
		s.mux.HandleFunc("POST /console/known-errors", s.agent(s.changeKnownErrors))
	}
	s.mux.HandleFunc("GET /console/agents", s.agent(s.admin(s.agents)))
	s.mux.HandleFunc("POST /console/agents", s.agent(s.admin(s.changeAgents)))
	s.kbRoutes()
	s.mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
	})
	return s
}

// ServeHTTP serves the console with its security headers.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	webui.Secure(s.mux).ServeHTTP(w, r)
}

// me is the signed-in agent of a request.
type me struct {
	intake.Agent
	session webui.Session
	lang    string
}

func (m me) actor() intake.Actor {
	return intake.Actor{Kind: intake.ActorAgent, Name: m.Name, Admin: m.Admin, Via: "console"}
}

type agentHandler func(w http.ResponseWriter, r *http.Request, m me)

// agent lets only a signed-in agent through, and only a POST with the
// session's CSRF token. Without a session a page sends to the sign-in
// page; the agent is read again on every request, so that a revoked agent
// is out at once.
func (s *Server) agent(h agentHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		lang := webui.Lang(r)
		sess, err := s.d.Sessions.Load(r.Context(), r)
		var a intake.Agent
		if err == nil {
			a, err = s.d.Agents.Agent(r.Context(), sess.Agent)
			if errors.Is(err, intake.ErrNotFound) || (err == nil && a.Expired(s.d.Now())) {
				err = webui.ErrNoSession
			}
		}
		if errors.Is(err, webui.ErrNoSession) {
			if r.Method == http.MethodGet && r.URL.Path != "/console/events" {
				http.Redirect(w, r, "/console/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.errorPage(w, r, http.StatusUnauthorized, "error.signin")
			return
		}
		if err != nil {
			s.fail(w, r, lang, err)
			return
		}
		if sess.Admin != nil {
			// Signed on through the provider, whose admin group decides.
			a.Admin = *sess.Admin
		}
		m := me{Agent: a, session: sess, lang: lang}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
			if err := r.ParseForm(); err != nil {
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
	Lang  string
	Other string // the other language, for the switch
	Agent intake.Agent
	CSRF  string
	// Here is the page's address, for the language switch to come back to.
	Here string
	Nav  string
	// KnownErrors: the known errors' page is served (for the menu).
	KnownErrors bool
	Error       string
	Page        any
}

func (s *Server) view(r *http.Request, m me, nav string, page any) view {
	return view{Lang: m.lang, Other: other(m.lang), Agent: m.Agent, CSRF: m.session.CSRF, Here: r.URL.RequestURI(), Nav: nav, Page: page,
		KnownErrors: s.d.KnownErrors != nil && s.d.KEOps != nil}
}

func other(lang string) string {
	if lang == "es" {
		return "en"
	}
	return "es"
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, lang, name string, v view) {
	var b strings.Builder
	if err := s.d.Pages.Render(&b, lang, name, v); err != nil {
		s.d.Log.Error("console page failed", "page", name, "err", err)
		http.Error(w, "internal error; see the server log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// errorPage answers with the error page saying the word key.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, key string) {
	lang := webui.Lang(r)
	s.render(w, r, status, lang, "error", view{Lang: lang, Other: other(lang), Here: "/console/", Error: s.d.Pages.Word(lang, key)})
}

// fail answers an unexpected error; the detail goes to the log only.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, lang string, err error) {
	switch {
	case errors.Is(err, intake.ErrNotFound):
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
	case errors.Is(err, intake.ErrInvalid):
		s.errorPage(w, r, http.StatusBadRequest, "error.notfound")
	default:
		s.d.Log.Error("console request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		s.errorPage(w, r, http.StatusInternalServerError, "error.internal")
	}
}

// setLang remembers the language the agent picked and goes back to the
// page it was picked on (only a console page: never another site).
func (s *Server) setLang(w http.ResponseWriter, r *http.Request) {
	if !webui.SwitchLang(w, r, "/console/", s.d.Secure) {
		s.errorPage(w, r, http.StatusBadRequest, "error.badform")
	}
}

// localPath is p when it is a console address, else the queue.
func localPath(p string) string { return webui.LocalPath(p, "/console/") }
