package templates

import (
	"strings"
	"testing"
	"testing/fstest"
)

// sample has every field the mail templates may use (smtpout fills the
// same fields from an incident).
type sample struct {
	ID, Subject, Category, Priority, CI, ReporterName, SurveyURL, State, Solution, Note, Outage string
	Org                                                                                         Org
	// The agent alert's (smtpout fills them for agent_alert only).
	Owner, Alert, Group, Reason, ConsoleURL string
	PortalURL, SignInURL                    string
	Articles                                []struct {
		N                    int
		ID, Title, SolvedURL string
	}
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
			if kind == "signin" {
				continue // about no incident: TestSignInMailCarriesTheLink
			}
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
	fsys := minimalFS("en", "es")
	fsys["en/extra.tmpl"] = &fstest.MapFile{Data: []byte(minimalText)}
	fsys["en/extra.html"] = &fstest.MapFile{Data: []byte(minimalHTML)}
	_, err := LoadFS(fsys)
	if err == nil || !strings.Contains(err.Error(), "differ between languages") || !strings.Contains(err.Error(), "es/extra.tmpl") {
		t.Fatalf("err = %v, want a parity error naming es/extra.tmpl", err)
	}
}

func TestTemplateWithoutBlocksIsAnError(t *testing.T) {
	fsys := minimalFS("en")
	fsys["en/ack.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "subject"}}s{{end}}`)}
	if _, err := LoadFS(fsys); err == nil || !strings.Contains(err.Error(), "en/ack.tmpl") {
		t.Fatalf("a template without a text block: %v", err)
	}
	fsys = minimalFS("en")
	fsys["en/ack.html"] = &fstest.MapFile{Data: []byte(`{{define "other"}}x{{end}}`)}
	if _, err := LoadFS(fsys); err == nil || !strings.Contains(err.Error(), "en/ack.html") {
		t.Fatalf("an HTML template without a content block: %v", err)
	}
}

// A mail has both parts in every language: the HTML without the text, or
// the text without the HTML, is an error naming the missing file.
func TestHTMLAndTextComeTogether(t *testing.T) {
	fsys := minimalFS("en", "es")
	delete(fsys, "es/ack.html")
	if _, err := LoadFS(fsys); err == nil || !strings.Contains(err.Error(), "es/ack.html is missing") {
		t.Errorf("text without HTML: %v", err)
	}
	fsys = minimalFS("en", "es")
	delete(fsys, "en/ack.tmpl")
	if _, err := LoadFS(fsys); err == nil || !strings.Contains(err.Error(), "en/ack.tmpl") {
		t.Errorf("HTML without text: %v", err)
	}
	fsys = minimalFS("en", "es")
	delete(fsys, "es/layout.html")
	if _, err := LoadFS(fsys); err == nil || !strings.Contains(err.Error(), "es/layout.html is missing") {
		t.Errorf("no layout: %v", err)
	}
}

const (
	minimalText   = `{{define "subject"}}[{{.ID}}] s{{end}}{{define "text"}}t {{.ID}}{{end}}`
	minimalHTML   = `{{define "content"}}<p>{{.ID}}</p>{{end}}`
	minimalLayout = `<!DOCTYPE html><html><head><title>{{template "subject" .}}</title></head><body>{{template "content" .}}</body></html>`
	minimalShared = `{{define "greeting"}}Hi{{end}}`
)

// minimalFS is one mail kind, ack, in each language.
func minimalFS(langs ...string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for _, l := range langs {
		fsys[l+"/ack.tmpl"] = &fstest.MapFile{Data: []byte(minimalText)}
		fsys[l+"/ack.html"] = &fstest.MapFile{Data: []byte(minimalHTML)}
		fsys[l+"/layout.html"] = &fstest.MapFile{Data: []byte(minimalLayout)}
		fsys[l+"/shared.tmpl"] = &fstest.MapFile{Data: []byte(minimalShared)}
	}
	return fsys
}

func TestUnknownFieldIsAnError(t *testing.T) {
	fsys := minimalFS("en")
	fsys["en/ack.tmpl"] = &fstest.MapFile{Data: []byte(`{{define "subject"}}{{.Nope}}{{end}}{{define "text"}}t{{end}}`)}
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
		ID, Subject, State, URL, Priority, Org string
		KnownError                             string
		Rating                                 int
		Outage                                 string
	}{"INC-000042", "VPN down", "Analysis", "https://x.test/s/abc", "P2", "Acme IT", "KE-000007", 4, "INC-000041"}
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

// An override directory replaces embedded files one by one: the changed
// template is the one rendered, the others stay embedded.
func TestOverlayReplacesAFile(t *testing.T) {
	upper := fstest.MapFS{
		"en/closed.tmpl": {Data: []byte(`{{define "subject"}}[{{.ID}}] Done{{end}}{{define "text"}}All done, {{.ReporterName}}. {{.ID}}{{end}}`)},
	}
	s, err := LoadFS(Overlay(upper))
	if err != nil {
		t.Fatal(err)
	}
	data := sample{ID: "INC-000001", ReporterName: "Ana", Subject: "x"}
	r, err := s.Render("en", "closed", data)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "[INC-000001] Done" || !strings.HasPrefix(r.Text, "All done, Ana.") || !strings.Contains(r.HTML, "now closed") {
		t.Fatalf("override not used (or the HTML lost): %+v", r)
	}
	if r, _ := s.Render("es", "closed", data); !strings.Contains(r.Subject, "Incidencia cerrada") {
		t.Fatalf("the Spanish text changed: %q", r.Subject)
	}
}

// A broken override, or a new language missing a file, fails the load
// naming the file.
func TestOverlayFailuresNameTheFile(t *testing.T) {
	broken := fstest.MapFS{"es/ack.html": {Data: []byte(`{{define "content"}}{{.ID}{{end}}`)}}
	if _, err := LoadFS(Overlay(broken)); err == nil || !strings.Contains(err.Error(), "es/ack.html") {
		t.Errorf("broken override: %v", err)
	}
	third := fstest.MapFS{}
	base, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"fr/shared.tmpl", "fr/layout.html"} {
		third[f] = &fstest.MapFile{Data: []byte(`{{define "greeting"}}Bonjour{{end}}`)}
	}
	for _, kind := range base.Kinds("en") {
		if kind == "closed" {
			continue
		}
		third["fr/"+kind+".tmpl"] = &fstest.MapFile{Data: []byte(minimalText)}
		third["fr/"+kind+".html"] = &fstest.MapFile{Data: []byte(minimalHTML)}
	}
	if _, err := LoadFS(Overlay(third)); err == nil || !strings.Contains(err.Error(), "fr/closed.tmpl") {
		t.Errorf("third language without closed: %v", err)
	}
	if _, err := LoadPhrasesFS(Overlay(third)); err == nil || !strings.Contains(err.Error(), "fr/chat") {
		t.Errorf("third language without chat phrases: %v", err)
	}
}

// The logo, when configured, is the only image: the reader's client loads
// it, and its alt text is the organisation's name.
func TestLogoIsShownWithTheOrgName(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	org := Org{Name: "Acme & Co", LogoURL: "https://acme.example/logo.png"}
	r, err := s.Render("es", "ack", sample{ID: "INC-000001", ReporterName: "Ana", Org: org})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.HTML, `<img src="https://acme.example/logo.png" alt="Acme &amp; Co"`) || !strings.Contains(r.Text, "Acme & Co") {
		t.Fatalf("logo or name missing:\n%s", r.HTML)
	}
	without, _ := s.Render("es", "ack", sample{ID: "INC-000001", ReporterName: "Ana"})
	if strings.Contains(without.HTML, "<img") || !strings.Contains(without.Text, "El centro de atención a usuarios") {
		t.Fatalf("without org settings:\n%s", without.Text)
	}
}

func TestSignInMailCarriesTheLink(t *testing.T) {
	s, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for lang, word := range map[string]string{"en": "sign in", "es": "entrar"} {
		r, err := s.Render(lang, "signin", sample{SignInURL: "https://desk.test/portal/login/TOKEN"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(strings.TrimSpace(r.Text), "https://desk.test/portal/login/TOKEN") || !strings.Contains(r.HTML, `href="https://desk.test/portal/login/TOKEN"`) ||
			!strings.Contains(strings.ToLower(r.Subject), word) || strings.Contains(r.Text, "INC-") {
			t.Errorf("%s sign-in mail:\n%s\n%s\n%s", lang, r.Subject, r.Text, r.HTML)
		}
	}
}
