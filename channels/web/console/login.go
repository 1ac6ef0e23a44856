package console

import (
	"errors"
	"net/http"
	"strings"

	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
)

type loginView struct {
	Name string
	Next string
	// SSO offers single sign-on (web.oidc is configured).
	SSO bool
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, "", "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, name, errKey string) {
	msg := ""
	if errKey != "" {
		msg = s.d.Pages.Word(webui.Lang(r), errKey)
	}
	s.showLoginMessage(w, r, status, name, msg)
}

// showLoginMessage shows the sign-in page with msg (in the agent's
// language already) as its error.
func (s *Server) showLoginMessage(w http.ResponseWriter, r *http.Request, status int, name, msg string) {
	lang := webui.Lang(r)
	token, err := webui.LoginToken(w, r, "/console/login", s.d.Secure)
	if err != nil {
		s.fail(w, r, lang, err)
		return
	}
	next := localPath(r.FormValue("next"))
	here := r.URL.RequestURI()
	if strings.HasPrefix(r.URL.Path, ssoPath) {
		// A single sign-on answer is good once: the language switch comes
		// back to the sign-in page, not to it.
		here = "/console/login"
	}
	v := view{Lang: lang, Other: other(lang), CSRF: token, Here: here, Nav: "login",
		Page: loginView{Name: name, Next: next, SSO: s.d.SSO != nil}, Error: msg}
	s.render(w, r, status, lang, "login", v)
}

// login checks a name and password. Failures count against the account
// and the client's address (in Redis, for every bot); over the limit the
// password is not even checked. Every failure reads the same, so that the
// page does not tell which names exist.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	lang := webui.Lang(r)
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.badform")
		return
	}
	if !webui.CheckLoginPost(r) {
		s.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	password := r.PostForm.Get("password")
	if name == "" || password == "" || len(name) > 100 || len(password) > 1024 {
		s.showLogin(w, r, http.StatusUnauthorized, name, "login.failed")
		return
	}
	keys := []string{"agent:" + name, "addr:" + clientAddr(r)}
	blocked, err := s.d.Limiter.Blocked(r.Context(), keys...)
	if err != nil {
		s.fail(w, r, lang, err)
		return
	}
	if blocked {
		s.showLogin(w, r, http.StatusTooManyRequests, name, "login.limited")
		return
	}
	a, err := s.d.Agents.CheckPassword(r.Context(), name, password)
	if err != nil {
		if errors.Is(err, intake.ErrForbidden) || errors.Is(err, intake.ErrNotFound) {
			if err := s.d.Limiter.Fail(r.Context(), keys...); err != nil {
				s.d.Log.Error("count a failed sign-in", "err", err)
			}
			s.d.Log.Info("console sign-in refused", "agent", name, "addr", clientAddr(r))
			s.showLogin(w, r, http.StatusUnauthorized, name, "login.failed")
			return
		}
		s.fail(w, r, lang, err)
		return
	}
	_ = s.d.Limiter.Reset(r.Context(), keys[0])
	if _, err := s.d.Sessions.Create(r.Context(), w, a.Name); err != nil {
		s.fail(w, r, lang, err)
		return
	}
	s.d.Log.Info("console sign-in", "agent", a.Name)
	http.Redirect(w, r, localPath(r.PostForm.Get("next")), http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, m me) {
	if err := s.d.Sessions.Destroy(r.Context(), w, r); err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// clientAddr is the client's IP address as this server sees it. Behind a
// proxy that is the proxy's: the per-account limit still holds.
func clientAddr(r *http.Request) string { return webui.ClientAddr(r) }
