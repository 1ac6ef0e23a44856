package kb

import (
	"strings"
	"testing"
)

func TestRenderMarkdown(t *testing.T) {
	r := NewRenderer()
	html, err := r.Render("# Title\n\n1. **Open** the tray\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[docs](https://example.org/x)")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<h1", "<ol>", "<strong>Open</strong>", "<table>", `href="https://example.org/x"`} {
		if !strings.Contains(html, want) {
			t.Errorf("missing %q in %s", want, html)
		}
	}
}

func TestRenderSanitises(t *testing.T) {
	r := NewRenderer()
	// goldmark escapes raw HTML by default; bluemonday is the second wall
	// for links and anything a future option lets through.
	html, err := r.Render("<script>alert(1)</script>\n\n[x](javascript:alert(1))\n\n<img src=x onerror=alert(1)>")
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"<script", "javascript:", "onerror"} {
		if strings.Contains(html, bad) {
			t.Errorf("%q survived: %s", bad, html)
		}
	}
}
