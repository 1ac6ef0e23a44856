package portal_test

import (
	"testing"

	"github.com/intakebot/intakebot/channels/web/portal"
	"github.com/intakebot/intakebot/templates"
)

func TestPortalPagesExistInEveryLanguage(t *testing.T) {
	p, err := templates.LoadPortal(templates.Files(), portal.Funcs())
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Langs(); len(got) != 2 {
		t.Fatalf("languages %v", got)
	}
	for _, lang := range p.Langs() {
		if got := p.Names(lang); len(got) != 7 {
			t.Errorf("%s pages %v", lang, got)
		}
	}
}
