package web

import (
	"context"
	"net/http"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// AgentAdmin creates, lists, rotates and revokes agents, and sets the
// password they sign in to the console with.
type AgentAdmin interface {
	Agents(ctx context.Context) ([]intake.Agent, error)
	CreateAgent(ctx context.Context, name string, admin bool, lifetime time.Duration) (intake.Agent, string, error)
	RotateToken(ctx context.Context, name string, lifetime time.Duration) (intake.Agent, string, error)
	RevokeAgent(ctx context.Context, name string) error
	SetPassword(ctx context.Context, name, password string) error
	// SetEditor lets a non-admin agent change the knowledge base, or not.
	SetEditor(ctx context.Context, name string, on bool) (intake.Agent, error)
}

// agentRoutes registers the admin-only agent endpoints.
func (s *Server) agentRoutes() {
	if s.d.AgentAdmin == nil {
		return
	}
	s.route("GET /api/v1/agents", s.admin(s.listAgents))
	s.route("POST /api/v1/agents", s.admin(s.createAgent))
	s.route("DELETE /api/v1/agents/{name}", s.admin(s.revokeAgent))
	s.route("POST /api/v1/agents/{name}/rotate", s.admin(s.rotateToken))
	s.route("POST /api/v1/agents/{name}/password", s.admin(s.setPassword))
	s.route("PUT /api/v1/agents/{name}/editor", s.admin(s.setEditor))
}

// admin lets only admin agents through; any other agent gets 403.
func (s *Server) admin(h agentHandler) http.HandlerFunc {
	return s.agent(func(w http.ResponseWriter, r *http.Request, by intake.Actor) {
		if !by.Admin {
			writeError(w, http.StatusForbidden, "forbidden", "only an admin agent may administer agents")
			return
		}
		h(w, r, by)
	})
}

// issuedToken is the answer that carries a new token: the only time it is
// ever shown, so no cache may keep it.
type issuedToken struct {
	Agent intake.Agent `json:"agent"`
	Token string       `json:"token"`
}

func writeToken(w http.ResponseWriter, status int, a intake.Agent, token string) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, issuedToken{Agent: a, Token: token})
}

// lifetime reads an optional expiry ("90d", "12w", "36h"); "" is 0.
func lifetime(expires string) (time.Duration, error) {
	if expires == "" {
		return 0, nil
	}
	return intake.ParseLifetime(expires)
}

func (s *Server) listAgents(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	list, err := s.d.AgentAdmin.Agents(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"agents": list})
}

func (s *Server) createAgent(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Name    string `json:"name"`
		Admin   bool   `json:"admin"`
		Editor  bool   `json:"editor"`
		Expires string `json:"expires"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	life, err := lifetime(b.Expires)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, token, err := s.d.AgentAdmin.CreateAgent(r.Context(), b.Name, b.Admin, life)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if b.Editor {
		// A second write: should it fail, the agent exists without the
		// flag, and the error says so; the token is not lost with it.
		if a, err = s.d.AgentAdmin.SetEditor(r.Context(), a.Name, true); err != nil {
			s.d.Log.Error("agent added but not made an editor", "agent", b.Name, "err", err)
			w.Header().Set("Cache-Control", "no-store")
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": "the agent was created but could not be made an editor; set it with PUT /api/v1/agents/NAME/editor",
				"code": "partial", "agent": b.Name, "token": token})
			return
		}
	}
	s.d.Log.Info("agent added", "agent", a.Name, "admin", a.Admin, "by", by.Name)
	writeToken(w, http.StatusCreated, a, token)
}

func (s *Server) rotateToken(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Expires string `json:"expires"`
	}
	// The body is optional: an empty one keeps the agent's expiry.
	if r.ContentLength != 0 && !s.decode(w, r, &b) {
		return
	}
	life, err := lifetime(b.Expires)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	a, token, err := s.d.AgentAdmin.RotateToken(r.Context(), r.PathValue("name"), life)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Log.Info("agent token rotated", "agent", a.Name, "by", by.Name)
	writeToken(w, http.StatusOK, a, token)
}

func (s *Server) revokeAgent(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	name := r.PathValue("name")
	if err := s.d.AgentAdmin.RevokeAgent(r.Context(), name); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Log.Info("agent revoked", "agent", name, "by", by.Name)
	writeJSON(w, http.StatusOK, map[string]string{"revoked": name})
}

func (s *Server) setPassword(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Password string `json:"password"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	name := r.PathValue("name")
	if err := s.d.AgentAdmin.SetPassword(r.Context(), name, b.Password); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Log.Info("agent password set", "agent", name, "by", by.Name)
	writeJSON(w, http.StatusOK, map[string]any{"name": name, "has_password": true})
}

func (s *Server) setEditor(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b struct {
		Editor *bool `json:"editor"`
	}
	if !s.decode(w, r, &b) {
		return
	}
	if b.Editor == nil {
		writeError(w, http.StatusBadRequest, "invalid", `the body must say {"editor": true} or {"editor": false}`)
		return
	}
	a, err := s.d.AgentAdmin.SetEditor(r.Context(), r.PathValue("name"), *b.Editor)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Log.Info("agent editor flag set", "agent", a.Name, "editor", a.Editor, "by", by.Name)
	writeJSON(w, http.StatusOK, a)
}
