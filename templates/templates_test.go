package templates

import (
	"strings"
	"testing"
	"testing/fstest"
)

type sample struct {
	ID, Subject, Category, Priority, CI, ReporterName, SurveyURL string
}

func TestEveryTemplateExistsInEveryLanguageAndRenders(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(s.Langs(), ","); got != "en,es" {
		t.Fatalf("languages = %s, want en,es", got)
	}
	data := sample{ID: "INC-000042", Subject: "VPN down", Category: "network", Priority: "P2", CI: "vpn", ReporterName: "Ana"}
	for _, lang := range s.Langs() {
		for _, kind := range s.Kinds(lang) {
			r, err := s.Render(lang, kind, data)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			if !strings.Contains(r.Subject, "[INC-000042]") || !strings.Contains(r.Text, "INC-000042") || !strings.Contains(r.Text, "Ana") {
				t.Errorf("%s/%s does not name the incident and the reporter:\n%s\n%s", lang, kind, r.Subject, r.Text)
			}
		}
	}
}

func TestSpanishTextsAreSpanish(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Render("es", "validation", sample{ID: "INC-000001", Subject: "x", ReporterName: "Ana"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "SÍ o NO") || !strings.HasPrefix(r.Text, "Hola Ana") {
		t.Fatalf("Spanish validation text:\n%s", r.Text)
	}
}

func TestMissingTranslationIsAnError(t *testing.T) {
	body := `{{define "subject"}}s{{end}}{{define "text"}}t{{end}}`
	fsys := fstest.MapFS{
		"en/ack.tmpl":   {Data: []byte(body)},
		"en/extra.tmpl": {Data: []byte(body)},
		"es/ack.tmpl":   {Data: []byte(body)},
	}
	if _, err := LoadFS(fsys); err == nil || !strings.Contains(err.Error(), "differ between languages") {
		t.Fatalf("err = %v, want a parity error", err)
	}
}

func TestTemplateWithoutBlocksIsAnError(t *testing.T) {
	fsys := fstest.MapFS{"en/ack.tmpl": {Data: []byte(`{{define "subject"}}s{{end}}`)}}
	if _, err := LoadFS(fsys); err == nil {
		t.Fatal("a template without a text block loaded")
	}
}

func TestUnknownFieldIsAnError(t *testing.T) {
	fsys := fstest.MapFS{"en/ack.tmpl": {Data: []byte(`{{define "subject"}}{{.Nope}}{{end}}{{define "text"}}t{{end}}`)}}
	s, err := LoadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Render("en", "ack", map[string]string{}); err == nil {
		t.Fatal("rendering with a missing key succeeded")
	}
}

func TestSurveyQuestionsCarryTheWebLinkInBothLanguages(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range s.Langs() {
		for _, kind := range []string{"validation", "satisfaction"} {
			with, err := s.Render(lang, kind, sample{ID: "INC-000001", ReporterName: "Ana", SurveyURL: "https://hd.example.test/s/TOKEN"})
			if err != nil {
				t.Fatal(err)
			}
			without, _ := s.Render(lang, kind, sample{ID: "INC-000001", ReporterName: "Ana"})
			if !strings.Contains(with.Text, "https://hd.example.test/s/TOKEN") || strings.Contains(without.Text, "/s/") || strings.Contains(without.Text, "web") {
				t.Errorf("%s/%s: link shown wrongly:\n%s\n---\n%s", lang, kind, with.Text, without.Text)
			}
		}
	}
}

func TestChatPhrasesExistInEveryLanguageAndRender(t *testing.T) {
	p, err := LoadPhrases()
	if err != nil {
		t.Fatal(err)
	}
	en, es := p.Names("en"), p.Names("es")
	if len(en) < 40 || strings.Join(en, ",") != strings.Join(es, ",") {
		t.Fatalf("phrases differ or are missing:\nen %v\nes %v", en, es)
	}
	data := struct {
		ID, Subject, State, URL, Priority string
		Rating                            int
	}{"INC-000042", "VPN down", "Analysis", "https://x.test/s/abc", "P2", 4}
	for _, lang := range []string{"en", "es"} {
		for _, name := range p.Names(lang) {
			text, err := p.Text(lang, name, data)
			if err != nil || text == "" {
				t.Errorf("%s/%s: %q, %v", lang, name, text, err)
			}
		}
	}
	if got, _ := p.Text("es", "yes", data); got != "Sí, ya funciona" {
		t.Errorf("Spanish yes button = %q", got)
	}
}

func TestMissingChatPhraseIsAnError(t *testing.T) {
	fsys := fstest.MapFS{
		"en/chat/slack.tmpl": {Data: []byte(`{{define "yes"}}Yes{{end}}{{define "no"}}No{{end}}`)},
		"es/chat/slack.tmpl": {Data: []byte(`{{define "yes"}}Sí{{end}}`)},
	}
	if _, err := LoadPhrasesFS(fsys); err == nil || !strings.Contains(err.Error(), "differ between languages") {
		t.Fatalf("err = %v, want a parity error", err)
	}
}
