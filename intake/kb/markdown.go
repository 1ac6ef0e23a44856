package kb

import (
	"bytes"
	"fmt"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// Renderer turns article Markdown into HTML that is safe to put in a page:
// goldmark renders it, bluemonday's user-content policy removes scripts,
// event handlers and javascript: links that an editor may have written.
// Build one and reuse it; it is safe for concurrent use.
type Renderer struct {
	md     goldmark.Markdown
	policy *bluemonday.Policy
}

// NewRenderer returns a Renderer with GitHub-flavoured Markdown (tables,
// strikethrough, autolinks, task lists).
func NewRenderer() *Renderer {
	return &Renderer{
		md:     goldmark.New(goldmark.WithExtensions(extension.GFM)),
		policy: bluemonday.UGCPolicy(),
	}
}

// Render returns the sanitised HTML of body.
func (r *Renderer) Render(body string) (string, error) {
	var buf bytes.Buffer
	if err := r.md.Convert([]byte(body), &buf); err != nil {
		return "", fmt.Errorf("rendering markdown: %w", err)
	}
	return r.policy.Sanitize(buf.String()), nil
}
