package portal

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/intakebot/intakebot/channels/portallink"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
)

// loginPath is the sign-in form's cookie path (the double-submit CSRF
// cookie); it covers the links' confirmation forms under it too.
const loginPath = "/portal/login"

type loginView struct {
	Email string
	Sent  bool // the answer after a request: the same for every address
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.showLogin(w, r, http.StatusOK, loginView{}, "")
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, status int, page loginView, errKey string) {
	lang := webui.Lang(r)
	token, err := webui.LoginToken(w, r, loginPath, s.d.Secure)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v := view{Lang: lang, Other: other(lang), CSRF: token, Here: "/portal/login", Nav: "login", Page: page}
	if errKey != "" {
		v.Error = s.d.Pages.Word(lang, errKey)
	}
	s.render(w, status, "login", v)
}

// askLink mails a sign-in link to the address given. The answer is the
// same whether or not the address ever reported anything: anyone with a
// mailbox may sign in, if only to report a first incident, so there is
// nothing to look up and nothing to tell. Requests count per address (a
// mailbox is not flooded with links) and per client address (one client
// does not mail everyone); over the address's limit nothing is sent, and
// the page still reads the same.
//
// The mail is sent at once, within the request, not through the outbox:
// the outbox is built for incident notices (keyed by incident, retried for
// hours), while a sign-in link is worth nothing after 15 minutes, and the
// person waiting for it is here and asks again if it does not come. It
// goes through the same SMTP sender as every other mail. A failure is
// logged; the page does not change, so it cannot tell addresses apart.
func (s *Server) askLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.badform")
		return
	}
	if !webui.CheckLoginPost(r) {
		s.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	raw := strings.TrimSpace(r.PostForm.Get("email"))
	email, ok := address(raw)
	if !ok {
		s.showLogin(w, r, http.StatusBadRequest, loginView{Email: raw}, "login.bad_address")
		return
	}
	ctx := r.Context()
	addrKey := "portal:addr:" + clientAddr(r)
	if blocked, err := s.d.AddrLimit.Blocked(ctx, addrKey); err != nil {
		s.fail(w, r, err)
		return
	} else if blocked {
		s.showLogin(w, r, http.StatusTooManyRequests, loginView{Email: raw}, "login.limited")
		return
	}
	if err := s.d.AddrLimit.Fail(ctx, addrKey); err != nil {
		s.fail(w, r, err)
		return
	}
	mailKey := "portal:mail:" + email
	blocked, err := s.d.MailLimit.Blocked(ctx, mailKey)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !blocked {
		if err := s.d.MailLimit.Fail(ctx, mailKey); err != nil {
			s.fail(w, r, err)
			return
		}
		s.mailLink(ctx, email, webui.Lang(r))
	} else {
		s.d.Log.Info("portal sign-in link not sent: too many for the address", "addr", clientAddr(r))
	}
	s.showLogin(w, r, http.StatusOK, loginView{Email: email, Sent: true}, "")
}

// mailLink signs and mails a link in the reporter's language: that of
// their latest incident, else the page's.
func (s *Server) mailLink(ctx context.Context, email, pageLang string) {
	lang := intake.Lang(pageLang)
	if l, ok := s.recordLang(ctx, email); ok {
		lang = l
	}
	if s.d.Mailer == nil {
		s.d.Log.Error("portal sign-in link not sent: no e-mail channel is configured (email.smtp)")
		return
	}
	link, err := s.d.Signer.SignInURL(email)
	if err == nil {
		err = s.d.Mailer.SendSignIn(ctx, email, lang, link)
	}
	if err != nil {
		s.d.Log.Error("portal sign-in link not sent", "err", err)
	}
}

// recordLang is the language of the reporter's latest incident.
func (s *Server) recordLang(ctx context.Context, email string) (intake.Lang, bool) {
	page, err := s.d.Lister.List(ctx, intake.ListFilter{Reporter: email, Limit: 1})
	if err != nil || len(page.Incidents) == 0 || !page.Incidents[0].Reporter.Language.Valid() {
		return "", false
	}
	return page.Incidents[0].Reporter.Language, true
}

// address is the address typed, bare and in lower case, or false when it
// is not one mail can go to.
func address(s string) (string, bool) {
	if s == "" || len(s) > 254 {
		return "", false
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || !strings.Contains(a.Address, "@") || strings.ContainsAny(a.Address, " \t\r\n") {
		return "", false
	}
	return strings.ToLower(a.Address), true
}

type confirmView struct{ Email string }

// confirmPage shows a sign-in link's page. A GET changes nothing: mail
// scanners follow every link of a mail, and must not use up the link. The
// button posts back to the same address.
func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request) {
	c, ok := s.signInClaims(w, r)
	if !ok {
		return
	}
	lang := webui.Lang(r)
	token, err := webui.LoginToken(w, r, loginPath, s.d.Secure)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, http.StatusOK, "confirm", view{Lang: lang, Other: other(lang), CSRF: token, Here: r.URL.RequestURI(), Nav: "login",
		Page: confirmView{Email: c.Email}})
}

// useLink spends the link (once, in Redis) and signs the reporter in.
func (s *Server) useLink(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, r, http.StatusBadRequest, "error.badform")
		return
	}
	if !webui.CheckLoginPost(r) {
		s.errorPage(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	c, ok := s.signInClaims(w, r)
	if !ok {
		return
	}
	first, err := s.d.Links.Spend(r.Context(), "portal:"+c.Nonce, c.Expires)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !first {
		s.errorIn(w, r, s.pageLang(r, c.Email), http.StatusGone, "link.used")
		return
	}
	s.signIn(w, r, c.Email, "/portal/")
}

// signInClaims verifies the sign-in link of the request, or answers with
// the page that says what is wrong with it, in the reporter's language
// when the link names them.
func (s *Server) signInClaims(w http.ResponseWriter, r *http.Request) (portallink.Claims, bool) {
	c, err := s.d.Signer.Verify(r.PathValue("token"))
	switch {
	case errors.Is(err, portallink.ErrExpired) && c.Purpose == portallink.SignIn:
		s.errorIn(w, r, s.pageLang(r, c.Email), http.StatusGone, "link.expired")
		return c, false
	case err != nil || c.Purpose != portallink.SignIn:
		s.errorPage(w, r, http.StatusBadRequest, "link.invalid")
		return c, false
	}
	spent, err := s.d.Links.Spent(r.Context(), "portal:"+c.Nonce)
	if err != nil {
		s.fail(w, r, err)
		return c, false
	}
	if spent {
		s.errorIn(w, r, s.pageLang(r, c.Email), http.StatusGone, "link.used")
		return c, false
	}
	return c, true
}

// pageLang is the page language for a reporter who is not signed in yet:
// the one they chose, else their record's, else the browser's.
func (s *Server) pageLang(r *http.Request, email string) string {
	if c, err := r.Cookie(webui.LangCookie); err == nil && (c.Value == "en" || c.Value == "es") {
		return c.Value
	}
	if l, ok := s.recordLang(r.Context(), email); ok {
		return langOf(l)
	}
	return webui.Lang(r)
}

// signIn starts a session for email (ending any other of this browser)
// and goes to next. The pages then speak the reporter's language, unless
// they chose one.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request, email, next string) {
	if _, err := r.Cookie(webui.LangCookie); err != nil {
		if l, ok := s.recordLang(r.Context(), email); ok {
			webui.SetLang(w, langOf(l), "/portal/", s.d.Secure)
		}
	}
	_ = s.d.Sessions.Destroy(r.Context(), w, r)
	if _, err := s.d.Sessions.Create(r.Context(), w, email); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.Log.Info("portal sign-in", "via", "link")
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// incidentLink opens an incident from the link in a mail about it. The link
// proves the address as a sign-in link does, for that incident's reporter
// only; it may be followed many times while it lives (it sits in a mail).
func (s *Server) incidentLink(w http.ResponseWriter, r *http.Request) {
	c, err := s.d.Signer.Verify(r.PathValue("token"))
	switch {
	case errors.Is(err, portallink.ErrExpired) && c.Purpose == portallink.Incident:
		s.errorIn(w, r, s.pageLang(r, c.Email), http.StatusGone, "link.expired")
		return
	case err != nil || c.Purpose != portallink.Incident:
		s.errorPage(w, r, http.StatusBadRequest, "link.invalid")
		return
	}
	inc, err := s.d.Engine.Get(r.Context(), c.IncidentID)
	if err == nil && !inc.IsReporter(c.Email) {
		err = intake.ErrNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	next := "/portal/incidents/" + inc.ID
	if sess, err := s.d.Sessions.Load(r.Context(), r); err == nil && strings.EqualFold(sess.Agent, c.Email) {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	s.signIn(w, r, strings.ToLower(c.Email), next)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request, m me) {
	if err := s.d.Sessions.Destroy(r.Context(), w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/login", http.StatusSeeOther)
}
