package kb

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/intakebot/intakebot/intake"
)

func TestFilesRoundTrip(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	in := []Article{
		{ID: "printer-jam", Texts: map[intake.Lang]Text{
			intake.English: {Title: "Printer jam", Body: "1. Open the tray.\n\n---\n\nA rule above.\n"},
			intake.Spanish: {Title: "Atascos de impresora", Body: "Ábrela: *con cuidado*.\n"},
		}, Tags: []string{"printer"}, Categories: []string{"hardware"}, CIs: []string{"printer", "prn-2f"},
			Audience: Public, Author: "ana", Created: created, Updated: created.Add(time.Hour), Version: 3},
		{ID: "runbook", Texts: map[intake.Lang]Text{intake.Spanish: {Title: "Procedimiento", Body: ""}}, Audience: Internal},
	}
	fsys := fstest.MapFS{}
	for _, a := range in {
		files, err := FormatFiles(a)
		if err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			fsys[name] = &fstest.MapFile{Data: data}
		}
	}
	if len(fsys) != 3 {
		t.Fatalf("files: %v", fsys)
	}
	out, err := ReadFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestSeedIsValid(t *testing.T) {
	seed, err := Seed()
	if err != nil {
		t.Fatal(err)
	}
	if len(seed) < 12 {
		t.Errorf("seed has %d articles, want a dozen", len(seed))
	}
	for _, a := range seed {
		if len(a.Langs()) != 2 {
			t.Errorf("seed article %s is not in both languages", a.ID)
		}
	}
}

func TestReadFSReportsBadFiles(t *testing.T) {
	good := "---\nid: ok\nlang: en\ntitle: Fine\naudience: public\n---\nbody\n"
	for name, tc := range map[string]struct{ file, data, want string }{
		"no front matter":  {"a.en.md", "# just markdown\n", "must start with"},
		"unclosed":         {"a.en.md", "---\nid: a\n", "no closing"},
		"bad yaml":         {"a.en.md", "---\nid: [\n---\n", "front matter"},
		"unknown key":      {"a.en.md", "---\nid: a\nlang: en\ntitle: T\naudience: public\nauthr: x\n---\n", "authr"},
		"bad language":     {"a.fr.md", "---\nid: a\nlang: fr\ntitle: T\naudience: public\n---\n", "not en or es"},
		"no title":         {"a.en.md", "---\nid: a\nlang: en\naudience: public\n---\n", "no title"},
		"bad audience":     {"a.en.md", "---\nid: a\nlang: en\ntitle: T\naudience: all\n---\n", "audience"},
		"wrong file name":  {"b.en.md", "---\nid: a\nlang: en\ntitle: T\naudience: public\n---\n", "named a.en.md"},
		"languages differ": {"ok.es.md", "---\nid: ok\nlang: es\ntitle: Bien\naudience: internal\n---\n", "differ"},
	} {
		_, err := ReadFS(fstest.MapFS{"ok.en.md": {Data: []byte(good)}, tc.file: {Data: []byte(tc.data)}})
		if err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.file) {
			t.Errorf("%s: error %v, want ErrInvalid naming %s and saying %q", name, err, tc.file, tc.want)
		}
	}
	// A file that ends right after the closing fence is fine.
	arts, err := ReadFS(fstest.MapFS{"ok.en.md": {Data: []byte("---\nid: ok\nlang: en\ntitle: Fine\naudience: public\n---")}})
	if err != nil || len(arts) != 1 || arts[0].Texts[intake.English].Body != "" {
		t.Errorf("fence at end: %+v %v", arts, err)
	}
}

func TestParseFilesRefusesTwoTextsInOneLanguage(t *testing.T) {
	doc := []byte("---\nid: a\nlang: en\ntitle: T\naudience: public\n---\n")
	_, err := ParseFiles(map[string][]byte{"a.en.md": doc, "copy/a.en.md": doc})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "second en text") {
		t.Errorf("got %v", err)
	}
}
