package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/intakebot/intakebot/intake"
)

// admin lets only admins through; anyone else gets 403.
func (s *Server) admin(h agentHandler) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, m me) {
		if !m.Admin || s.d.Admin == nil {
			s.errorPage(w, r, http.StatusForbidden, "error.admins")
			return
		}
		h(w, r, m)
	}
}

type agentsView struct {
	Agents []intake.Agent
	// Added and Token are shown once, right after an agent was added.
	Added, Token string
	Done         string // what was just done, in words
}

func (s *Server) agents(w http.ResponseWriter, r *http.Request, m me) {
	done := ""
	switch r.URL.Query().Get("done") {
	case "passwd":
		done = s.d.Pages.Word(m.lang, "agents.done_passwd")
	case "revoke":
		done = s.d.Pages.Word(m.lang, "agents.done_revoke")
	}
	s.showAgents(w, r, m, http.StatusOK, agentsView{Done: done}, "")
}

func (s *Server) showAgents(w http.ResponseWriter, r *http.Request, m me, status int, v agentsView, errText string) {
	list, err := s.d.Admin.Agents(r.Context())
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	v.Agents = list
	page := s.view(r, m, "agents", v)
	page.Error = errText
	s.render(w, r, status, m.lang, "agents", page)
}

// changeAgents adds an agent, sets a password or revokes one. An admin
// cannot revoke themselves here: the console would lock its last admin out.
func (s *Server) changeAgents(w http.ResponseWriter, r *http.Request, m me) {
	f := r.PostForm
	ctx := r.Context()
	name := strings.TrimSpace(f.Get("name"))
	var err error
	switch f.Get("op") {
	case "add":
		_, token, aerr := s.d.Admin.CreateAgent(ctx, name, f.Get("admin") == "on", 0)
		if aerr == nil && f.Get("password") != "" {
			aerr = s.d.Admin.SetPassword(ctx, name, f.Get("password"))
		}
		if aerr == nil {
			s.d.Log.Info("console: agent added", "agent", name, "by", m.Name)
			// Shown once: only its hash is kept.
			s.showAgents(w, r, m, http.StatusOK, agentsView{Added: name, Token: token}, "")
			return
		}
		err = aerr
	case "passwd":
		err = s.d.Admin.SetPassword(ctx, name, f.Get("password"))
	case "revoke":
		if name == m.Name {
			s.showAgents(w, r, m, http.StatusConflict, agentsView{}, s.d.Pages.Word(m.lang, "agents.not_yourself"))
			return
		}
		err = s.d.Admin.RevokeAgent(ctx, name)
	default:
		err = errBadForm
	}
	if err == nil {
		s.d.Log.Info("console: agent changed", "agent", name, "op", f.Get("op"), "by", m.Name)
		http.Redirect(w, r, "/console/agents?done="+f.Get("op"), http.StatusSeeOther)
		return
	}
	status, text := s.refusal(m.lang, err)
	if errors.Is(err, intake.ErrConflict) && !errors.As(err, new(*intake.Refusal)) {
		status, text = http.StatusConflict, s.d.Pages.Word(m.lang, "agents.exists")
	}
	if status == http.StatusInternalServerError {
		s.fail(w, r, m.lang, err)
		return
	}
	s.showAgents(w, r, m, status, agentsView{}, text)
}
