package webui

import (
	"net/http"

	"golang.org/x/text/language"
)

// LangCookie keeps the language an agent chose with the switch on every
// page.
const LangCookie = "intakebot_lang"

// Languages are the page languages, the first the fallback.
var supported = []language.Tag{language.English, language.Spanish}

// Lang is the language of the pages for r: the agent's choice (the
// cookie), else the best match of Accept-Language, else English.
func Lang(r *http.Request) string {
	if c, err := r.Cookie(LangCookie); err == nil && (c.Value == "en" || c.Value == "es") {
		return c.Value
	}
	tags, _, err := language.ParseAcceptLanguage(r.Header.Get("Accept-Language"))
	if err != nil || len(tags) == 0 {
		return "en"
	}
	_, i, conf := language.NewMatcher(supported).Match(tags...)
	if conf == language.No {
		return "en"
	}
	return []string{"en", "es"}[i]
}

// SetLang remembers the agent's choice of language for a year.
func SetLang(w http.ResponseWriter, lang, path string, secure bool) {
	http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: lang, Path: path, MaxAge: 365 * 24 * 3600,
		HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// SwitchLang answers a language switch (?to=en|es&back=PATH): it
// remembers the choice for the pages under root and goes back to the page
// it was made on (under root, never another site). It reports false, and
// writes nothing, when to names no language: the caller answers 400.
func SwitchLang(w http.ResponseWriter, r *http.Request, root string, secure bool) bool {
	lang := r.URL.Query().Get("to")
	if lang != "en" && lang != "es" {
		return false
	}
	SetLang(w, lang, root, secure)
	http.Redirect(w, r, LocalPath(r.URL.Query().Get("back"), root), http.StatusSeeOther)
	return true
}
