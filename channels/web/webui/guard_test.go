package webui_test

import (
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
