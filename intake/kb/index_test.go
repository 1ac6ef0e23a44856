package kb

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
)

func article(id string, lang intake.Lang, title, body string, cis ...string) Article {
	return Article{ID: id, Texts: map[intake.Lang]Text{lang: {Title: title, Body: body}}, CIs: cis, Audience: Public}
}

func ids(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

func TestSpanishQueryFindsOtherWordForms(t *testing.T) {
	seed, err := Seed()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(seed...)
	res := ix.Search(Query{Text: "la impresora se atasca", Lang: intake.Spanish})
	if len(res) == 0 || res[0].ID != "printer-jam" || res[0].Title != "Atascos de impresora" {
		t.Fatalf("got %+v, want Atascos de impresora first", res)
	}
	if !slices.Equal(res[0].Terms, []string{"impresora", "atasca"}) {
		t.Errorf("matching terms %v, want [impresora atasca]", res[0].Terms)
	}
	if res[0].Lang != intake.Spanish || res[0].Score <= 0 || res[0].Match <= 0 || res[0].Match > 1 {
		t.Errorf("result %+v", res[0])
	}
}

func TestTitleOutranksBody(t *testing.T) {
	ix := NewIndex(
		article("in-body", intake.English, "Office moves", "When the office moves, the printer goes with it, and so do the desks and phones."),
		article("in-title", intake.English, "Printer setup", "Follow these steps when the device is new, and ask the desk if stuck."),
	)
	if got := ids(ix.Search(Query{Text: "printer"})); !slices.Equal(got, []string{"in-title", "in-body"}) {
		t.Errorf("got %v, want the title match first", got)
	}
}

func TestCIAndCategoryBoostReorderButNeverAdd(t *testing.T) {
	// Same text, so without a boost the tie goes to the smaller id.
	wifi := article("a-wifi", intake.English, "Connection drops", "The connection drops every hour.", "wifi")
	vpn := article("b-vpn", intake.English, "Connection drops", "The connection drops every hour.", "vpn")
	vpn.Categories = []string{"network"}
	other := article("c-other", intake.English, "Toner", "Cartridges in the cabinet.", "vpn")
	other.Categories = []string{"network"}
	ix := NewIndex(wifi, vpn, other)
	plain := ix.Search(Query{Text: "connection drops"})
	if !slices.Equal(ids(plain), []string{"a-wifi", "b-vpn"}) {
		t.Fatalf("without boost: %v", ids(plain))
	}
	for _, q := range []Query{{Text: "connection drops", CI: "vpn"}, {Text: "connection drops", Category: "network"}} {
		boosted := ix.Search(q)
		if !slices.Equal(ids(boosted), []string{"b-vpn", "a-wifi"}) {
			t.Errorf("%+v: %v, want [b-vpn a-wifi] (c-other shares no word)", q, ids(boosted))
			continue
		}
		if boosted[0].Score <= plain[1].Score || boosted[1].Score != plain[0].Score {
			t.Errorf("%+v: scores %v %v, plain %v %v", q, boosted[0].Score, boosted[1].Score, plain[1].Score, plain[0].Score)
		}
	}
}

func TestFiltersAndLanguages(t *testing.T) {
	both := Article{ID: "both", Audience: Internal, Texts: map[intake.Lang]Text{
		intake.English: {Title: "Printer jam", Body: "Open the tray."},
		intake.Spanish: {Title: "Atasco de impresora", Body: "Abre la bandeja."},
	}}
	ix := NewIndex(both, article("pub", intake.English, "Printer toner", "Replace it."))
	if got := ids(ix.Search(Query{Text: "printer"})); len(got) != 2 {
		t.Errorf("all: %v", got)
	}
	if got := ids(ix.Search(Query{Text: "printer", PublicOnly: true})); !slices.Equal(got, []string{"pub"}) {
		t.Errorf("public only: %v", got)
	}
	if got := ids(ix.Search(Query{Text: "impresora atascada", Lang: intake.Spanish})); !slices.Equal(got, []string{"both"}) {
		t.Errorf("spanish: %v", got)
	}
	if got := ix.Search(Query{Text: "impresora atascada", Lang: intake.English}); len(got) != 0 {
		t.Errorf("spanish words in the english index: %+v", got)
	}
	// An article in both languages appears once.
	if got := ids(ix.Search(Query{Text: "printer impresora jam atasco"})); !slices.Equal(got, []string{"both", "pub"}) {
		t.Errorf("both languages: %v", got)
	}
	if got := ix.Search(Query{Text: "the of and"}); len(got) != 0 {
		t.Errorf("stop words only: %+v", got)
	}
	if got := ix.Suggest("printer jam", intake.English, "", "", 0); !slices.Equal(ids(got), []string{"pub"}) {
		t.Errorf("suggest must leave internal articles out: %v", ids(got))
	}
	if got := ix.Suggest("printer", intake.English, "", "", 1000); len(got) != 0 {
		t.Errorf("suggest below the threshold: %+v", got)
	}
}

func TestPutReplacesAndDeleteRemoves(t *testing.T) {
	ix := NewIndex(article("a", intake.English, "Printer jam", "Open the tray."))
	ix.Put(article("a", intake.English, "Scanner", "Scan to folder."))
	if ix.Len() != 1 {
		t.Fatalf("len %d", ix.Len())
	}
	if got := ix.Search(Query{Text: "printer"}); len(got) != 0 {
		t.Errorf("old text still found: %+v", got)
	}
	if got := ids(ix.Search(Query{Text: "scanner"})); !slices.Equal(got, []string{"a"}) {
		t.Errorf("new text: %v", got)
	}
	ix.Delete("a")
	ix.Delete("unknown")
	if ix.Len() != 0 || len(ix.Search(Query{Text: "scanner"})) != 0 {
		t.Errorf("deleted article still there")
	}
	// The freed slot is reused and statistics stay sane.
	ix.Put(article("b", intake.English, "Scanner", "Scan."))
	if got := ids(ix.Search(Query{Text: "scan"})); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after reuse: %v", got)
	}
}

func TestValidate(t *testing.T) {
	good := article("ok-1", intake.English, "T", "")
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func(*Article){
		"bad id":       func(a *Article) { a.ID = "Bad ID/../x" },
		"empty id":     func(a *Article) { a.ID = "" },
		"no texts":     func(a *Article) { a.Texts = nil },
		"bad language": func(a *Article) { a.Texts = map[intake.Lang]Text{"fr": {Title: "x"}} },
		"no title":     func(a *Article) { a.Texts = map[intake.Lang]Text{intake.English: {Body: "x"}} },
		"bad audience": func(a *Article) { a.Audience = "everyone" },
		"no audience":  func(a *Article) { a.Audience = "" },
	} {
		a := good
		mutate(&a)
		if err := a.Validate(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// generated builds n articles from a vocabulary with a Zipf-like spread,
// so some words are in most articles and most words in few.
func generated(n int) ([]Article, []string) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := make([]string, 5000)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("w%sx%d", strings.Repeat("a", i%5), i)
	}
	zipf := func() string {
		return vocab[int(float64(len(vocab))*rng.Float64()*rng.Float64()*rng.Float64())]
	}
	words := func(k int) string {
		ws := make([]string, k)
		for i := range ws {
			ws[i] = zipf()
		}
		return strings.Join(ws, " ")
	}
	out := make([]Article, n)
	for i := range out {
		lang := intake.Langs()[i%2]
		out[i] = article(fmt.Sprintf("gen-%d", i), lang, words(6), words(150))
	}
	queries := make([]string, 200)
	for i := range queries {
		queries[i] = words(8)
	}
	return out, queries
}

// BenchmarkSearch10k searches 10,000 generated articles with 8-word
// queries and reports the 95th percentile latency.
func BenchmarkSearch10k(b *testing.B) {
	arts, queries := generated(10000)
	ix := NewIndex(arts...)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		ix.Search(Query{Text: queries[i%len(queries)], Limit: 10})
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "p95-µs")
}

// Searches run while the change stream updates the index (run with -race);
// every search still sees a consistent index.
func TestConcurrentSearchAndPut(t *testing.T) {
	seed, err := Seed()
	if err != nil {
		t.Fatal(err)
	}
	ix := NewIndex(seed...)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if w == 0 {
					ix.Put(article(fmt.Sprintf("extra-%d", i%20), intake.Spanish, "Impresora nueva", "La impresora se atasca."))
					continue
				}
				res := ix.Search(Query{Text: "la impresora se atasca", Lang: intake.Spanish, Limit: 30})
				if len(res) == 0 || !slices.Contains(ids(res), "printer-jam") {
					t.Errorf("search lost the seed article: %v", ids(res))
					return
				}
			}
		}()
	}
	wg.Wait()
	if ix.Len() != len(seed)+20 {
		t.Errorf("len %d", ix.Len())
	}
}
