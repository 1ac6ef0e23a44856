package templates

import (
	"bytes"
	"encoding/json"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"strings"
)

// Console is the agent console's pages, one set per language, laid out as
// LANG/web/console/NAME.html with LANG/web/console/layout.html as the frame
// of every page (a page defines the "title" and "content" blocks), and
// LANG/web/console/words.json: the short texts the pages look up by key
// with the function T (state and priority names, refusals, button labels),
// so that a value the code chooses at run time is still shown in the
// agent's language. Both the pages and the words must be the same in every
// language.
type Console struct {
	byLang map[string]map[string]*htmltemplate.Template // lang -> page name -> template
	words  map[string]map[string]string                 // lang -> key -> text
}

// consoleDir is where the console's files are inside each language folder.
const consoleDir = "web/console"

// LoadConsole parses the embedded console pages with the caller's template
// functions (formatting of dates and durations, say) added to T.
func LoadConsole(funcs htmltemplate.FuncMap) (*Console, error) { return LoadConsoleFS(files, funcs) }

// LoadConsoleFS parses the console pages from fsys.
func LoadConsoleFS(fsys fs.FS, funcs htmltemplate.FuncMap) (*Console, error) {
	return loadSite(fsys, consoleDir, funcs)
}

// portalDir is where the reporters' portal's files are inside each
// language folder: the same shape as the console's (pages, layout.html,
// words.json), loaded into the same type.
const portalDir = "web/portal"

// LoadPortal parses the reporters' portal pages from fsys (Files() or an
// overlay of templates.dir), checked for parity like the console's.
func LoadPortal(fsys fs.FS, funcs htmltemplate.FuncMap) (*Console, error) {
	return loadSite(fsys, portalDir, funcs)
}

// loadSite parses the pages under LANG/siteDir of every language.
func loadSite(fsys fs.FS, siteDir string, funcs htmltemplate.FuncMap) (*Console, error) {
	what := path.Base(siteDir)
	c := &Console{byLang: map[string]map[string]*htmltemplate.Template{}, words: map[string]map[string]string{}}
	langs, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	for _, l := range langs {
		if !l.IsDir() {
			continue
		}
		lang := l.Name()
		dir := lang + "/" + siteDir
		names, err := fs.Glob(fsys, dir+"/*.html")
		if err != nil {
			return nil, err
		}
		c.byLang[lang] = map[string]*htmltemplate.Template{}
		c.words[lang] = map[string]string{}
		if len(names) == 0 {
			continue // the parity check names the language without pages
		}
		raw, err := fs.ReadFile(fsys, dir+"/words.json")
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", what, dir, err)
		}
		words := map[string]string{}
		if err := json.Unmarshal(raw, &words); err != nil {
			return nil, fmt.Errorf("%s %s/words.json: %w", what, dir, err)
		}
		c.words[lang] = words
		fm := htmltemplate.FuncMap{}
		for k, v := range funcs {
			fm[k] = v
		}
		fm["T"] = func(key string) (string, error) {
			if w, ok := words[key]; ok {
				return w, nil
			}
			return "", fmt.Errorf("no word %q in %s/words.json", key, dir)
		}
		// Tor is T for keys made from data (a history event), which may
		// name something the words do not know yet: then the data shows.
		fm["Tor"] = func(key, fallback string) string {
			if w, ok := words[key]; ok {
				return w
			}
			return fallback
		}
		layout := dir + "/" + layoutName + ".html"
		if _, err := fs.Stat(fsys, layout); err != nil {
			return nil, fmt.Errorf("%s %s: no %s", what, dir, layout)
		}
		for _, file := range names {
			name := strings.TrimSuffix(path.Base(file), ".html")
			if name == layoutName {
				continue
			}
			t, err := htmltemplate.New(layoutName+".html").Option("missingkey=error").Funcs(fm).ParseFS(fsys, layout, file)
			if err != nil {
				return nil, fmt.Errorf("%s page %s: %w", what, file, err)
			}
			for _, block := range []string{"title", "content"} {
				if t.Lookup(block) == nil {
					return nil, fmt.Errorf("%s page %s: no %q block", what, file, block)
				}
			}
			c.byLang[lang][name] = t
		}
	}
	if err := checkParity(what+" pages", c.byLang, func(lang, name string) string { return lang + "/" + siteDir + "/" + name + ".html" }); err != nil {
		return nil, err
	}
	if err := checkParity(what+" words", c.words, func(lang, name string) string { return lang + "/" + siteDir + "/words.json: " + name }); err != nil {
		return nil, err
	}
	return c, nil
}

// Langs lists the languages, sorted.
func (c *Console) Langs() []string { return sortedKeys(c.byLang) }

// Names lists the pages of one language, sorted.
func (c *Console) Names(lang string) []string { return sortedKeys(c.byLang[lang]) }

// Word is the text of a key in lang, or the key itself when there is none
// (never the case for a key the parity test knows).
func (c *Console) Word(lang, key string) string {
	if w, ok := c.words[lang][key]; ok {
		return w
	}
	return key
}

// HasWord reports whether lang has a text for key.
func (c *Console) HasWord(lang, key string) bool {
	_, ok := c.words[lang][key]
	return ok
}

// Render writes the page name in lang with data; on an error nothing is
// written, so that the caller can still answer with an error status.
func (c *Console) Render(w io.Writer, lang, name string, data any) error {
	t, ok := c.byLang[lang][name]
	if !ok {
		return fmt.Errorf("no console page %q in language %q", name, lang)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return fmt.Errorf("console page %s/%s: %w", lang, name, err)
	}
	_, err := buf.WriteTo(w)
	return err
}
