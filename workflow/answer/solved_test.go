package answer

import "testing"

func TestSolved(t *testing.T) {
	for _, c := range []struct {
		text string
		n    int
		ok   bool
	}{
		{"solved", 1, true},
		{"Solved!", 1, true},
		{"\n\n  SOLVED 2\nthanks, the article helped", 2, true},
		{"resuelto", 1, true},
		{"Resuelto #3.", 3, true},
		{"resuelta nº 2", 0, false}, // "nº" is not a form we read: asked by mail, answered as a comment
		{"Resuelto número 2", 2, true},
		{"solucionado", 1, true},
		{"solved?", 0, false},
		{"not solved", 0, false},
		{"no resuelto", 0, false},
		{"solved 0", 0, false},
		{"solved 12", 0, false},
		{"it is solved", 0, false},
		{"the printer is still jammed\nsolved", 0, false},
		{"", 0, false},
	} {
		n, ok := Solved(c.text)
		if n != c.n || ok != c.ok {
			t.Errorf("Solved(%q) = %d, %v; want %d, %v", c.text, n, ok, c.n, c.ok)
		}
	}
}
