package templates

import (
	htmltemplate "html/template"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

func TestConsolePagesAndWordsExistInEveryLanguage(t *testing.T) {
	// The console package passes its functions; the pages only need them
	// to exist here.
	c, err := LoadConsole(htmltemplate.FuncMap{"when": func(time.Time) string { return "" }, "iso": func(time.Time) string { return "" },
		"rows": func(int) int { return 0 }, "y": func(int) int { return 0 }, "px": func(int) int { return 0 }, "px2": func(int) int { return 0 },
		"changes":   func(string) []struct{ Field, Old, New string } { return nil },
		"botnote":   func(string) *struct{ Kind, ID string } { return nil },
		"firstline": func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Langs(), ","); got != "en,es" {
		t.Fatalf("languages = %s", got)
	}
	if got := strings.Join(c.Names("es"), ","); got != "agents,article,articleform,dashboard,error,incident,kb,known_errors,login,queue" {
		t.Fatalf("pages = %s", got)
	}
	for _, key := range []string{"state.analysis", "priority.P1", "refusal.locked_in_validation", "refusal.forbidden", "nav.kb", "error.editors", "event.solved"} {
		if c.Word("en", key) == c.Word("es", key) || !c.HasWord("es", key) {
			t.Errorf("%s: en %q, es %q", key, c.Word("en", key), c.Word("es", key))
		}
	}
}

func TestConsoleParityErrors(t *testing.T) {
	layout := `<!doctype html>{{template "content" .}}`
	page := `{{define "title"}}t{{end}}{{define "content"}}{{T "a"}}{{end}}`
	words := `{"a": "x"}`
	base := func() fstest.MapFS {
		return fstest.MapFS{
			"en/web/console/layout.html": {Data: []byte(layout)}, "en/web/console/queue.html": {Data: []byte(page)},
			"en/web/console/words.json":  {Data: []byte(words)},
			"es/web/console/layout.html": {Data: []byte(layout)}, "es/web/console/queue.html": {Data: []byte(page)},
			"es/web/console/words.json": {Data: []byte(words)},
		}
	}
	if _, err := LoadConsoleFS(base(), nil); err != nil {
		t.Fatalf("a complete set: %v", err)
	}
	for name, change := range map[string]func(fstest.MapFS){
		"page in one language only": func(f fstest.MapFS) { f["en/web/console/extra.html"] = &fstest.MapFile{Data: []byte(page)} },
		"word in one language only": func(f fstest.MapFS) {
			f["es/web/console/words.json"] = &fstest.MapFile{Data: []byte(`{"a": "x", "b": "y"}`)}
		},
		"no words":  func(f fstest.MapFS) { delete(f, "es/web/console/words.json") },
		"bad words": func(f fstest.MapFS) { f["es/web/console/words.json"] = &fstest.MapFile{Data: []byte(`{`)} },
		"no layout": func(f fstest.MapFS) { delete(f, "es/web/console/layout.html") },
		"no pages in a language": func(f fstest.MapFS) {
			for k := range f {
				if strings.HasPrefix(k, "es/") {
					delete(f, k)
				}
			}
			f["es/ack.tmpl"] = &fstest.MapFile{Data: []byte("x")}
		},
	} {
		f := base()
		change(f)
		if _, err := LoadConsoleFS(f, nil); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
	// A word the page asks for that is missing fails the render, and
	// nothing is written.
	f := base()
	f["en/web/console/words.json"] = &fstest.MapFile{Data: []byte(`{"b": "x"}`)}
	f["es/web/console/words.json"] = &fstest.MapFile{Data: []byte(`{"b": "x"}`)}
	c, err := LoadConsoleFS(f, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.Render(&b, "en", "queue", nil); err == nil || b.Len() != 0 {
		t.Fatalf("render with a missing word: %v, wrote %q", err, b.String())
	}
}
