package surveylink

import (
	"io"
	"testing"

	"github.com/intakebot/intakebot/templates"
)

// TestEveryPageRendersWithPageData renders every page of every language
// with the handler's own data type, so that a template using a field the
// handler does not have fails here rather than in front of a reporter.
func TestEveryPageRendersWithPageData(t *testing.T) {
	p, err := templates.LoadPages()
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range p.Langs() {
		for _, name := range p.Names(lang) {
			for _, d := range []pageData{{}, {ID: "INC-000001", Step: StepSatisfaction, Rating: 3, TooLarge: true}} {
				if err := p.Render(io.Discard, lang, name, d); err != nil {
					t.Errorf("%s/%s: %v", lang, name, err)
				}
			}
		}
	}
}
