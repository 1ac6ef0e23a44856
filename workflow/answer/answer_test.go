package answer

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

var cases = []struct {
	in      string
	kind    Kind
	rating  int
	comment string
}{
	// Yes, English and Spanish, any case, accents and punctuation.
	{"yes", Yes, 0, ""},
	{"YES.", Yes, 0, ""},
	{"Yes!", Yes, 0, ""},
	{"¡Sí!", Yes, 0, ""},
	{"si", Yes, 0, ""},
	{"SI", Yes, 0, ""},
	{"Sí, ya funciona, gracias", Yes, 0, "gracias"},
	{"ya funciona", Yes, 0, ""},
	{"Funciona perfectamente, gracias!", Yes, 0, "perfectamente, gracias"},
	{"it works", Yes, 0, ""},
	{"Works now, thanks a lot", Yes, 0, "thanks a lot"},
	{"resuelto", Yes, 0, ""},
	{"Solucionado 👍", Yes, 0, "👍"},
	{"solved", Yes, 0, ""},
	{"Fixed.", Yes, 0, ""},
	{"Sí, no hay problema", Yes, 0, "no hay problema"},
	{"one more thing: it works", Yes, 0, "one more thing"},
	// No, and negations that must not read as Yes.
	{"no", No, 0, ""},
	{"NO", No, 0, ""},
	{"No funciona", No, 0, ""},
	{"no funciona todavía", No, 0, "todavía"},
	{"Todavía no", No, 0, ""},
	{"aún no", No, 0, ""},
	{"Aun no.", No, 0, ""},
	{"sigue fallando", No, 0, ""},
	{"Sigue sin funcionar", No, 0, ""},
	{"still broken", No, 0, ""},
	{"not working", No, 0, ""},
	{"Doesn't work", No, 0, ""},
	{"it’s not fixed", No, 0, "it’s"},
	{"Nope", No, 0, ""},
	{"No, sigue igual. Reinicié a las 10:30", No, 0, "Reinicié a las 10:30"},
	{"no está resuelto", No, 0, ""},
	{"Uno de los equipos sigue fallando", No, 0, "Uno de los equipos"},
	// Ratings.
	{"5", Rating, 5, ""},
	{"1", Rating, 1, ""},
	{"4/5", Rating, 4, ""},
	{"4 / 5", Rating, 4, ""},
	{"4 de 5", Rating, 4, ""},
	{"3 out of 5", Rating, 3, ""},
	{"cinco", Rating, 5, ""},
	{"Five!", Rating, 5, ""},
	{"Cuatro, muy amables", Rating, 4, "muy amables"},
	{"★★★★", Rating, 4, ""},
	{"★★★☆☆", Rating, 3, ""},
	{"⭐⭐⭐⭐⭐ excelente", Rating, 5, "excelente"},
	{"4 stars - great service", Rating, 4, "great service"},
	{"Le doy un 4, muy rápido", Rating, 4, "Le doy un, muy rápido"},
	{"2 estrellas", Rating, 2, ""},
	// Ambiguous or empty: Unclear, text kept whole.
	{"", Unclear, 0, ""},
	{"   ", Unclear, 0, ""},
	{"yes and no", Unclear, 0, "yes and no"},
	{"Sí y no", Unclear, 0, "Sí y no"},
	{"3 or 4", Unclear, 0, "3 or 4"},
	{"3, 4", Unclear, 0, "3, 4"},
	{"entre 3 y 4", Unclear, 0, "entre 3 y 4"},
	{"7/5", Unclear, 0, "7/5"},
	{"0 estrellas", Unclear, 0, "0 estrellas"},
	{"4/10", Unclear, 0, "4/10"},
	{"sí, un 4", Unclear, 0, "sí, un 4"},
	{"gracias por todo", Unclear, 0, "gracias por todo"},
	{"¿Quién es?", Unclear, 0, "¿Quién es?"},
	{"Llamadme al 600 123 456", Unclear, 0, "Llamadme al 600 123 456"},
}

func TestParse(t *testing.T) {
	for _, tt := range cases {
		t.Run(tt.in, func(t *testing.T) {
			got := Parse(tt.in)
			want := Answer{Kind: tt.kind, Rating: tt.rating, Comment: tt.comment}
			if got != want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Yes: "yes", No: "no", Rating: "rating", Unclear: "unclear", Kind(42): "unclear"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}

// FuzzAnswer checks what must hold for any reply: no panic, a rating only
// with Kind Rating and always within 1-5, valid UTF-8 comments, and nothing
// lost when the reply is Unclear.
//
// Besides the table's replies it is seeded with real reply bodies (copied
// into testdata/ with their licence): whole, and each of their first lines,
// since a survey answer is usually one short line on top of quoted mail.
func FuzzAnswer(f *testing.F) {
	for _, tt := range cases {
		f.Add(tt.in)
	}
	paths, err := filepath.Glob(filepath.Join("testdata", "*", "*.txt"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no reply fixtures in testdata: %v", err)
	}
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(raw))
		lines := strings.Split(string(raw), "\n")
		for _, l := range lines[:min(len(lines), 3)] {
			f.Add(l)
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		a := Parse(in)
		if (a.Kind == Rating) != (a.Rating != 0) || a.Rating < 0 || a.Rating > 5 {
			t.Fatalf("Parse(%q) = %+v: rating inconsistent with kind", in, a)
		}
		if utf8.ValidString(in) && !utf8.ValidString(a.Comment) {
			t.Fatalf("Parse(%q): invalid UTF-8 comment %q", in, a.Comment)
		}
		if a.Kind == Unclear && a.Comment != strings.Join(strings.Fields(in), " ") {
			t.Fatalf("Parse(%q): unclear answer lost text: %q", in, a.Comment)
		}
		if len(a.Comment) > len(in) && !strings.Contains(in, a.Comment) {
			t.Fatalf("Parse(%q): comment %q longer than input", in, a.Comment)
		}
	})
}
