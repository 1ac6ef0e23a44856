package templates

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Pages are the web pages a reporter sees, one set per language, laid out as
// LANG/web/NAME.html. LANG/web/layout.html is the frame of every page; a page
// file defines the "title" and "content" blocks the layout shows. They are
// HTML templates, so that whatever a reporter or an agent wrote is escaped.
type Pages struct {
	byLang map[string]map[string]*htmltemplate.Template // lang -> page name -> template
}

// layoutName is the frame every page is parsed with; it is not a page.
const layoutName = "layout"

// LoadPages parses the embedded pages.
func LoadPages() (*Pages, error) { return LoadPagesFS(files) }

// LoadPagesFS parses pages from fsys. Like the mail texts, every language
// must have the same pages: a page missing in one language is an error, so
// that a reporter never meets a half-translated site.
func LoadPagesFS(fsys fs.FS) (*Pages, error) {
	p := &Pages{byLang: map[string]map[string]*htmltemplate.Template{}}
	langs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		lang := l.Name()
		dir := lang + "/web"
		names, err := fs.Glob(fsys, dir+"/*.html")
		if err != nil {
			return nil, err
		}
		p.byLang[lang] = map[string]*htmltemplate.Template{}
		if len(names) == 0 {
			// Kept as an empty set, so that the parity check names the
			// language that has no pages at all.
			continue
		}
		layout := dir + "/" + layoutName + ".html"
		if _, err := fs.Stat(fsys, layout); err != nil {
			return nil, fmt.Errorf("pages %s: no %s", dir, layout)
		}
		for _, file := range names {
			name := strings.TrimSuffix(path.Base(file), ".html")
			if name == layoutName {
				continue
			}
			t, err := htmltemplate.New(layoutName+".html").Option("missingkey=error").ParseFS(fsys, layout, file)
			if err != nil {
				return nil, fmt.Errorf("page %s: %w", file, err)
			}
			for _, block := range []string{"title", "content"} {
				if t.Lookup(block) == nil {
					return nil, fmt.Errorf("page %s: no %q block", file, block)
				}
			}
			p.byLang[lang][name] = t
		}
	}
	if err := checkParity("pages", p.byLang, func(lang, name string) string { return lang + "/web/" + name + ".html" }); err != nil {
		return nil, err
	}
	return p, nil
}

// Langs lists the languages, sorted.
func (p *Pages) Langs() []string { return sortedKeys(p.byLang) }

// Names lists the pages of one language, sorted.
func (p *Pages) Names(lang string) []string { return sortedKeys(p.byLang[lang]) }

// Render writes the page name in lang with data. The page is executed into
// a buffer first, so that on an error nothing reaches w and the caller can
// still answer with an error status instead of half a page.
func (p *Pages) Render(w io.Writer, lang, name string, data any) error {
	t, ok := p.byLang[lang][name]
	if !ok {
		return fmt.Errorf("no page %q in language %q", name, lang)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("page %s/%s: %w", lang, name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}
