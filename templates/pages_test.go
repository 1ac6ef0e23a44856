package templates

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// pageSample has the fields the survey pages may use; channels/surveylink
// renders them with its own struct of the same shape, and its tests render
// every page through HTTP as well.
type pageSample struct {
	ID, Subject, ReporterName, Step, Answer, Chosen string
	ArticleID, ArticleTitle                         string
	Rating                                          int
	TooLarge                                        bool
}

func TestEveryPageExistsInEveryLanguageAndRenders(t *testing.T) {
	p, err := LoadPages()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.Langs(), ","); got != "en,es" {
		t.Fatalf("languages = %s, want en,es", got)
	}
	want := []string{"answered", "badanswer", "error", "expired", "invalid", "notfound", "replaced", "satisfaction", "solved", "thanks", "unavailable", "validation"}
	if got := p.Names("en"); !slices.Equal(got, want) {
		t.Fatalf("pages = %v, want %v", got, want)
	}
	data := pageSample{ID: "INC-000042", Subject: "VPN <down>", ReporterName: "Ana & Co", Step: "validation", Answer: "yes", Rating: 4}
	for _, lang := range p.Langs() {
		for _, name := range p.Names(lang) {
			var b bytes.Buffer
			if err := p.Render(&b, lang, name, data); err != nil {
				t.Fatalf("%s/%s: %v", lang, name, err)
			}
			html := b.String()
			if !strings.HasPrefix(html, "<!doctype html>") || !strings.Contains(html, `<html lang="`+lang+`">`) {
				t.Errorf("%s/%s is not framed by the layout:\n%s", lang, name, html)
			}
			if name != "invalid" && !strings.Contains(html, "INC-000042") {
				t.Errorf("%s/%s does not name the incident:\n%s", lang, name, html)
			}
			// html/template escapes what reporters and agents wrote.
			if strings.Contains(html, "<down>") || strings.Contains(html, "Ana & Co") {
				t.Errorf("%s/%s did not escape its data:\n%s", lang, name, html)
			}
		}
	}
}

func TestSpanishPagesAreSpanish(t *testing.T) {
	p, err := LoadPages()
	if err != nil {
		t.Fatal(err)
	}
	for name, phrase := range map[string]string{
		"validation":   `value="yes">Sí</button>`,
		"satisfaction": "muy satisfecho",
		"answered":     "ya está respondida",
		"expired":      "ha caducado",
		"replaced":     "sustituida por otra más reciente",
		"unavailable":  "inténtelo de nuevo en unos minutos",
	} {
		var b bytes.Buffer
		if err := p.Render(&b, "es", name, pageSample{ID: "INC-000001", ReporterName: "Ana"}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), phrase) {
			t.Errorf("es/%s lacks %q:\n%s", name, phrase, b.String())
		}
	}
}

func TestMissingPageTranslationIsAnError(t *testing.T) {
	layout := `<!doctype html>{{template "content" .}}`
	page := `{{define "title"}}t{{end}}{{define "content"}}c{{end}}`
	fsys := fstest.MapFS{
		"en/web/layout.html": {Data: []byte(layout)},
		"en/web/thanks.html": {Data: []byte(page)},
		"en/web/extra.html":  {Data: []byte(page)},
		"es/web/layout.html": {Data: []byte(layout)},
		"es/web/thanks.html": {Data: []byte(page)},
	}
	if _, err := LoadPagesFS(fsys); err == nil || !strings.Contains(err.Error(), "differ between languages") {
		t.Fatalf("err = %v, want a parity error", err)
	}
	// A language with mail texts but no pages at all is half-translated too.
	delete(fsys, "es/web/layout.html")
	delete(fsys, "es/web/thanks.html")
	fsys["es/ack.tmpl"] = &fstest.MapFile{Data: []byte("x")}
	if _, err := LoadPagesFS(fsys); err == nil || !strings.Contains(err.Error(), "differ between languages") {
		t.Fatalf("err = %v, want a parity error", err)
	}
}

func TestPageShapeErrors(t *testing.T) {
	for name, fsys := range map[string]fstest.MapFS{
		"no layout":     {"en/web/thanks.html": {Data: []byte(`{{define "title"}}t{{end}}{{define "content"}}c{{end}}`)}},
		"no content":    {"en/web/layout.html": {Data: []byte(`x`)}, "en/web/thanks.html": {Data: []byte(`{{define "title"}}t{{end}}`)}},
		"bad template":  {"en/web/layout.html": {Data: []byte(`x`)}, "en/web/thanks.html": {Data: []byte(`{{define "title"}}`)}},
		"no pages":      {"en/ack.tmpl": {Data: []byte(`x`)}},
		"only a layout": {"en/web/layout.html": {Data: []byte(`x`)}},
	} {
		if _, err := LoadPagesFS(fsys); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}

func TestPageRenderErrorsWriteNothing(t *testing.T) {
	fsys := fstest.MapFS{
		"en/web/layout.html": {Data: []byte(`<!doctype html>{{template "content" .}}`)},
		"en/web/thanks.html": {Data: []byte(`{{define "title"}}t{{end}}{{define "content"}}a lot of text {{.Nope}}{{end}}`)},
	}
	p, err := LoadPagesFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := p.Render(&b, "en", "thanks", struct{}{}); err == nil || b.Len() != 0 {
		t.Fatalf("err %v, wrote %q; want an error and nothing written", err, b.String())
	}
	if err := p.Render(&b, "fr", "thanks", struct{}{}); err == nil {
		t.Fatal("rendered a language that does not exist")
	}
}

// TestMailTextsIgnorePages guards the shared embed: the pages live under
// LANG/web/ and must not change what Load finds.
func TestMailTextsIgnorePages(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ack", "agent_alert", "closed", "note", "remind_satisfaction", "remind_validation", "reopened", "satisfaction", "validation"}
	for _, lang := range s.Langs() {
		if got := s.Kinds(lang); !slices.Equal(got, want) {
			t.Fatalf("%s mail kinds = %v, want %v", lang, got, want)
		}
	}
}

func TestChosenAnswerIsOfferedFirst(t *testing.T) {
	p, err := LoadPages()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range p.Langs() {
		for page, chosen := range map[string]string{"validation": "no", "satisfaction": "4"} {
			var b strings.Builder
			if err := p.Render(&b, lang, page, pageSample{ID: "INC-000001", Chosen: chosen}); err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(b.String(), `class="chosen" autofocus`); n != 1 || !strings.Contains(b.String(), `value="`+chosen+`" class="chosen"`) {
				t.Errorf("%s/%s with %s chosen:\n%s", lang, page, chosen, b.String())
			}
		}
	}
}
