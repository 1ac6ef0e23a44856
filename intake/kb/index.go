package kb

import (
	"math"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/intakebot/intakebot/intake"
)

// BM25 parameters. k1 and b are the usual values; titleBoost makes a word
// in the title (or tags) count as much as titleBoost words of the body,
// because a title says what the article is about.
const (
	k1         = 1.2
	b          = 0.75
	titleBoost = 2.5
	// ciBoost and categoryBoost multiply the score of an article that
	// applies to the incident's CI or category. They multiply, rather than
	// add, so they reorder matching articles but never make an article
	// that shares no word with the report appear.
	ciBoost       = 1.3
	categoryBoost = 1.15
	// maxQueryTerms bounds the work per query and lets a bit mask record
	// which terms matched; a longer report keeps its first words.
	maxQueryTerms = 64
)

// Query is a search.
type Query struct {
	Text string
	// Lang restricts the search to texts in one language; empty searches all.
	Lang intake.Lang
	// CI and Category boost articles that apply to them.
	CI, Category string
	// PublicOnly leaves out internal articles (for reporter-facing use).
	PublicOnly bool
	// Limit caps the results; 0 means 10.
	Limit int
}

// Result is one article found, with why it was found.
type Result struct {
	ID       string      `json:"id"`
	Lang     intake.Lang `json:"lang"`
	Title    string      `json:"title"`
	Audience Audience    `json:"audience"`
	Score    float64     `json:"score"`
	// Terms are the (folded) words of the query that the article matched.
	Terms []string `json:"terms"`
	// Match is the share, from 0 to 1, of the query's information (the
	// idf of its terms; a word the KB never uses counts as the rarest)
	// that the article matched. A report full of words the KB does not
	// know ("the coffee machine is broken") scores low here even when one
	// common word matches, which is what keeps wrong suggestions away.
	Match float64 `json:"match"`
}

// doc is one article in one language.
type doc struct {
	id       string
	lang     intake.Lang
	title    string
	audience Audience
	cis      []string
	cats     []string
	lenTitle float64
	lenBody  float64
	terms    []string // distinct terms, to remove its postings on delete
}

type posting struct {
	doc             int32
	tfTitle, tfBody float32
}

// field statistics of one language, for idf and length normalisation.
type langStats struct {
	postings map[string][]posting
	docs     int
	sumTitle float64
	sumBody  float64
}

// Index is an in-memory BM25 index over articles, safe for concurrent use.
// Each language of an article is indexed on its own, with its own stemmer.
type Index struct {
	mu    sync.RWMutex
	docs  []*doc // nil where a doc was removed; slots are reused
	free  []int32
	byID  map[string][]int32
	langs map[intake.Lang]*langStats
	// accs recycles the per-query accumulators: allocating and zeroing two
	// arrays the size of the KB for every query dominated its cost.
	accs sync.Pool
}

// acc accumulates one query's scores by doc slot; after use only the
// touched slots are cleared, so reuse costs nothing per untouched doc.
type acc struct {
	scores  []float64
	masks   []uint64
	touched []int32
}

func (ix *Index) getAcc() *acc {
	a, _ := ix.accs.Get().(*acc)
	if a == nil {
		a = &acc{}
	}
	if n := len(ix.docs); len(a.scores) < n {
		a.scores = make([]float64, n)
		a.masks = make([]uint64, n)
	}
	return a
}

func (ix *Index) putAcc(a *acc) {
	for _, slot := range a.touched {
		a.scores[slot], a.masks[slot] = 0, 0
	}
	a.touched = a.touched[:0]
	ix.accs.Put(a)
}

// NewIndex returns an index holding articles.
func NewIndex(articles ...Article) *Index {
	ix := &Index{byID: map[string][]int32{}, langs: map[intake.Lang]*langStats{}}
	for _, l := range intake.Langs() {
		ix.langs[l] = &langStats{postings: map[string][]posting{}}
	}
	for _, a := range articles {
		ix.Put(a)
	}
	return ix
}

// Len returns how many articles the index holds.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return len(ix.byID)
}

// Put adds a, replacing any article with the same id.
func (ix *Index) Put(a Article) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.remove(a.ID)
	for _, l := range a.Langs() {
		st := ix.langs[l]
		t := a.Texts[l]
		titleText := t.Title + " " + strings.Join(a.Tags, " ")
		titleToks := Analyze(l, titleText)
		bodyToks := Analyze(l, t.Body)
		d := &doc{id: a.ID, lang: l, title: t.Title, audience: a.Audience,
			cis: slices.Clone(a.CIs), cats: slices.Clone(a.Categories),
			lenTitle: float64(len(titleToks)), lenBody: float64(len(bodyToks))}
		tf := map[string]*posting{}
		count := func(toks []Token, title bool) {
			for _, tok := range toks {
				p := tf[tok.Term]
				if p == nil {
					p = &posting{}
					tf[tok.Term] = p
					d.terms = append(d.terms, tok.Term)
				}
				if title {
					p.tfTitle++
				} else {
					p.tfBody++
				}
			}
		}
		count(titleToks, true)
		count(bodyToks, false)
		var slot int32
		if n := len(ix.free); n > 0 {
			slot, ix.free = ix.free[n-1], ix.free[:n-1]
			ix.docs[slot] = d
		} else {
			slot = int32(len(ix.docs))
			ix.docs = append(ix.docs, d)
		}
		for term, p := range tf {
			p.doc = slot
			st.postings[term] = append(st.postings[term], *p)
		}
		st.docs++
		st.sumTitle += d.lenTitle
		st.sumBody += d.lenBody
		ix.byID[a.ID] = append(ix.byID[a.ID], slot)
	}
}

// Delete removes the article id; removing an unknown id does nothing.
func (ix *Index) Delete(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.remove(id)
}

func (ix *Index) remove(id string) {
	for _, slot := range ix.byID[id] {
		d := ix.docs[slot]
		st := ix.langs[d.lang]
		for _, term := range d.terms {
			ps := slices.DeleteFunc(st.postings[term], func(p posting) bool { return p.doc == slot })
			if len(ps) == 0 {
				delete(st.postings, term)
			} else {
				st.postings[term] = ps
			}
		}
		st.docs--
		st.sumTitle -= d.lenTitle
		st.sumBody -= d.lenBody
		ix.docs[slot] = nil
		ix.free = append(ix.free, slot)
	}
	delete(ix.byID, id)
}

// Search returns the articles matching q, best first. An article found in
// both languages appears once, with its better-scoring language.
func (ix *Index) Search(q Query) []Result {
	limit := q.Limit
	if limit <= 0 {
		limit = 10
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	best := map[string]Result{}
	for _, l := range intake.Langs() {
		if q.Lang != "" && q.Lang != l {
			continue
		}
		for _, r := range ix.searchLang(l, q, limit) {
			if old, ok := best[r.ID]; !ok || r.Score > old.Score {
				best[r.ID] = r
			}
		}
	}
	out := make([]Result, 0, len(best))
	for _, r := range best {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Score != out[j].Score {
			return out[i].Score > out[j].Score
		}
		return out[i].ID < out[j].ID
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return out
}

func (ix *Index) searchLang(l intake.Lang, q Query, limit int) []Result {
	st := ix.langs[l]
	if st.docs == 0 {
		return nil
	}
	// Distinct query terms, each with the first surface word that made it.
	var terms, words []string
	for _, tok := range Analyze(l, q.Text) {
		if len(terms) == maxQueryTerms {
			break
		}
		if !slices.Contains(terms, tok.Term) {
			terms = append(terms, tok.Term)
			words = append(words, tok.Word)
		}
	}
	n := float64(st.docs)
	avgTitle := math.Max(st.sumTitle/n, 1)
	avgBody := math.Max(st.sumBody/n, 1)
	// Dense accumulators indexed by doc slot: far cheaper than a map when
	// a common word touches most of the KB.
	a := ix.getAcc()
	defer ix.putAcc(a)
	scores, masks := a.scores, a.masks
	idfs := make([]float64, len(terms))
	var totalIDF float64
	for i, term := range terms {
		ps := st.postings[term]
		df := float64(len(ps))
		idf := math.Log(1 + (n-df+0.5)/(df+0.5))
		idfs[i] = idf
		totalIDF += idf
		for _, p := range ps {
			d := ix.docs[p.doc]
			if q.PublicOnly && d.audience != Public {
				continue
			}
			tf := titleBoost*float64(p.tfTitle)/(1-b+b*d.lenTitle/avgTitle) +
				float64(p.tfBody)/(1-b+b*d.lenBody/avgBody)
			if masks[p.doc] == 0 {
				a.touched = append(a.touched, p.doc)
			}
			scores[p.doc] += idf * tf * (k1 + 1) / (tf + k1)
			masks[p.doc] |= 1 << uint(i)
		}
	}
	// Keep the best limit docs; only those become Results. Taking the top
	// limit of each language is enough for Search's merge, since an
	// article appears once per language.
	type scored struct {
		slot  int32
		score float64
	}
	better := func(x, y scored) bool {
		if x.score != y.score {
			return x.score > y.score
		}
		return ix.docs[x.slot].id < ix.docs[y.slot].id
	}
	var top []scored // sorted best first, at most limit long
	for _, slot := range a.touched {
		d := ix.docs[slot]
		score := scores[slot]
		if q.CI != "" && slices.Contains(d.cis, q.CI) {
			score *= ciBoost
		}
		if q.Category != "" && slices.Contains(d.cats, q.Category) {
			score *= categoryBoost
		}
		c := scored{slot, score}
		if len(top) == limit && !better(c, top[limit-1]) {
			continue
		}
		i := sort.Search(len(top), func(i int) bool { return better(c, top[i]) })
		if len(top) < limit {
			top = append(top, scored{})
		}
		copy(top[i+1:], top[i:])
		top[i] = c
	}
	out := make([]Result, 0, len(top))
	for _, c := range top {
		d := ix.docs[c.slot]
		r := Result{ID: d.id, Lang: l, Title: d.title, Audience: d.audience, Score: c.score}
		var matched float64
		for i, w := range words {
			if masks[c.slot]&(1<<uint(i)) != 0 {
				r.Terms = append(r.Terms, w)
				matched += idfs[i]
			}
		}
		r.Match = matched / totalIDF
		out = append(out, r)
	}
	return out
}

// Suggest returns up to three public articles in lang whose score reaches
// minScore: what a reporter may be shown. Below the threshold it returns
// nothing, because a wrong suggestion is worse than none.
func (ix *Index) Suggest(text string, lang intake.Lang, ci, category string, minScore float64) []Result {
	var out []Result
	for _, r := range ix.Search(Query{Text: text, Lang: lang, CI: ci, Category: category, PublicOnly: true, Limit: 3}) {
		if r.Score >= minScore {
			out = append(out, r)
		}
	}
	return out
}
