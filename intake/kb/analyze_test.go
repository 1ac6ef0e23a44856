package kb

import (
	"slices"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

func TestFold(t *testing.T) {
	for in, want := range map[string]string{
		"Atascó":      "atasco",
		"CONTRASEÑA":  "contrasena",
		"Ñandú":       "nandu",
		"Über façade": "uber facade",
		"plain":       "plain",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

func terms(lang intake.Lang, s string) []string {
	var out []string
	for _, tok := range Analyze(lang, s) {
		out = append(out, tok.Term)
	}
	return out
}

// Word forms that must meet at one stem, so a query in one form finds an
// article written in another.
func TestStemmingSpanish(t *testing.T) {
	for _, group := range [][]string{
		{"atasca", "atascos", "atasco", "atascó", "atascada"},
		{"impresora", "impresoras"},
		{"conectar", "conecta", "conectarse", "conectado"},
		{"contraseña", "contraseñas", "contrasena"},
		{"sincroniza", "sincronizar", "sincronización"},
	} {
		want := terms(intake.Spanish, group[0])
		for _, w := range group[1:] {
			if got := terms(intake.Spanish, w); !slices.Equal(got, want) {
				t.Errorf("es %q -> %v, want %v (as %q)", w, got, want, group[0])
			}
		}
	}
}

func TestStemmingEnglish(t *testing.T) {
	for _, group := range [][]string{
		{"jam", "jams", "jammed", "jamming"},
		{"connect", "connects", "connected", "connecting", "connection"},
		{"printer", "printers"},
		{"sync", "syncing", "syncs"},
	} {
		want := terms(intake.English, group[0])
		for _, w := range group[1:] {
			if got := terms(intake.English, w); !slices.Equal(got, want) {
				t.Errorf("en %q -> %v, want %v (as %q)", w, got, want, group[0])
			}
		}
	}
}

func TestStopWordsAreDropped(t *testing.T) {
	if got := terms(intake.Spanish, "la impresora se atasca"); len(got) != 2 {
		t.Errorf("es: %v, want two terms (impresora, atasca)", got)
	}
	if got := terms(intake.English, "the printer is not working at all"); len(got) != 2 {
		t.Errorf("en: %v, want two terms (printer, working)", got)
	}
	if got := terms(intake.English, ""); len(got) != 0 {
		t.Errorf("empty text: %v", got)
	}
}
