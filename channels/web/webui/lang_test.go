package webui

import (
	"net/http/httptest"
	"testing"
)

func TestLangIsTheChoiceElseTheBrowsersElseEnglish(t *testing.T) {
	for _, c := range []struct{ cookie, accept, want string }{
		{"", "", "en"},
		{"", "es-ES,es;q=0.9,en;q=0.5", "es"},
		{"", "es-MX", "es"},
		{"", "fr-FR,fr;q=0.9", "en"},
		{"", "de;q=0.9,es;q=0.8", "es"},
		{"", "not a header ;;;", "en"},
		{"en", "es", "en"},
		{"es", "en-GB", "es"},
		{"fr", "es", "es"}, // a bad cookie is ignored
	} {
		r := httptest.NewRequest("GET", "/console/", nil)
		if c.accept != "" {
			r.Header.Set("Accept-Language", c.accept)
		}
		if c.cookie != "" {
			r.Header.Set("Cookie", LangCookie+"="+c.cookie)
		}
		if got := Lang(r); got != c.want {
			t.Errorf("cookie %q, Accept-Language %q: %s, want %s", c.cookie, c.accept, got, c.want)
		}
	}
}

func TestCheckPostNeedsTheTokenAndThisOrigin(t *testing.T) {
	for _, c := range []struct {
		form, origin string
		ok           bool
	}{
		{"csrf=tok", "", true},
		{"csrf=tok", "http://example.com", true},
		{"csrf=tok", "https://evil.example", false},
		{"csrf=other", "", false},
		{"", "", false},
	} {
		r := httptest.NewRequest("POST", "http://example.com/console/x", nil)
		r.PostForm = map[string][]string{}
		if c.form != "" {
			r.PostForm.Set("csrf", c.form[len("csrf="):])
		}
		if c.origin != "" {
			r.Header.Set("Origin", c.origin)
		}
		if got := CheckPost(r, "tok"); got != c.ok {
			t.Errorf("%+v: %v", c, got)
		}
	}
	// An empty expected token matches nothing, not an empty field.
	r := httptest.NewRequest("POST", "/", nil)
	r.PostForm = map[string][]string{"csrf": {""}}
	if CheckPost(r, "") {
		t.Error("empty tokens matched")
	}
}
