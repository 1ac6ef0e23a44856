package webui_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/channels/web/webui"
)

// A redirect target from a request stays on its own part of the site.
func TestLocalPathNeverLeadsAway(t *testing.T) {
	for p, want := range map[string]string{
		"/console/incidents/INC-000001": "/console/incidents/INC-000001",
		"/console/?state=analysis":      "/console/?state=analysis",
		"":                              "/console/",
		"/portal/":                      "/console/",
		"//evil.example/console/":       "/console/",
		"https://evil.example/console/": "/console/",
		"/console/\\evil.example":       "/console/",
		"/console/\r\nSet-Cookie: x=1":  "/console/",
	} {
		if got := webui.LocalPath(p, "/console/"); got != want {
			t.Errorf("LocalPath(%q) = %q, want %q", p, got, want)
		}
	}
}

// A language switch remembers the choice and goes back to a page under
// its root, never elsewhere; a language we do not speak writes nothing.
func TestSwitchLangGoesBackHomeOnly(t *testing.T) {
	for _, c := range []struct{ query, wantLoc string }{
		{"to=es&back=/portal/incidents/INC-000001", "/portal/incidents/INC-000001"},
		{"to=en&back=//evil.example/", "/portal/"},
		{"to=fr&back=/portal/", ""},
	} {
		w := httptest.NewRecorder()
		ok := webui.SwitchLang(w, httptest.NewRequest("GET", "/portal/lang?"+c.query, nil), "/portal/", true)
		if ok != (c.wantLoc != "") || w.Header().Get("Location") != c.wantLoc {
			t.Errorf("%s: ok %v, Location %q, want %q", c.query, ok, w.Header().Get("Location"), c.wantLoc)
		}
		if cookie := w.Header().Get("Set-Cookie"); ok != (cookie != "") || (ok && !strings.Contains(cookie, "HttpOnly")) {
			t.Errorf("%s: cookie %q", c.query, cookie)
		}
	}
}
