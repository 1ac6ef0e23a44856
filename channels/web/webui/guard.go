package webui

import (
	"net"
	"net/http"
	"net/url"
	"strings"
)

// CSP allows nothing from elsewhere: the pages load only their own style
// sheet and script, inline code does not run, and no site may frame them.
const CSP = "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; object-src 'none'"

// Secure adds the security headers to every answer of h.
func Secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", CSP)
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// CSRFField is the name of the form field that carries the CSRF token.
const CSRFField = "csrf"

// CheckPost tells whether a POST may go on: its form carries want as the
// CSRF token, and it was not sent from another site (an Origin header,
// when the browser sends one, names this host). The form must already be
// parsed (the caller bounds its size).
func CheckPost(r *http.Request, want string) bool {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return false
		}
	}
	return SameToken(r.PostForm.Get(CSRFField), want)
}

// LoginCookie carries the sign-in form's CSRF token before there is a
// session (double submit: the form and the cookie must agree).
const LoginCookie = "intakebot_login"

// LoginToken returns the sign-in form's token, setting its cookie when the
// request has none.
func LoginToken(w http.ResponseWriter, r *http.Request, path string, secure bool) (string, error) {
	if c, err := r.Cookie(LoginCookie); err == nil && len(c.Value) >= 32 && len(c.Value) <= 100 {
		return c.Value, nil
	}
	t, err := RandomToken()
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{Name: LoginCookie, Value: t, Path: path, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
	return t, nil
}

// CheckLoginPost tells whether a sign-in POST carries the token of its
// cookie.
func CheckLoginPost(r *http.Request) bool {
	c, err := r.Cookie(LoginCookie)
	if err != nil {
		return false
	}
	return CheckPost(r, c.Value)
}

// LocalPath is p when it is an address under root ("/console/"), else
// root: a redirect target taken from a request must never lead to another
// site ("//evil.example", "/\evil.example") nor split a header.
func LocalPath(p, root string) string {
	if strings.HasPrefix(p, root) && !strings.HasPrefix(p, "//") && !strings.ContainsAny(p, "\\\r\n") {
		return p
	}
	return root
}

// ClientAddr is the client's IP address as this server sees it (behind a
// proxy: the proxy's).
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
