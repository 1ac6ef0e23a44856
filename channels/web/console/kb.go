package console

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// KB keeps the knowledge base's articles; the store is one.
type KB interface {
	Articles(ctx context.Context) ([]kb.Article, error)
	Article(ctx context.Context, id string) (kb.Article, error)
	CreateArticle(ctx context.Context, a kb.Article, now time.Time) (kb.Article, error)
	UpdateArticle(ctx context.Context, a kb.Article, now time.Time) (kb.Article, error)
	SolvedCounts(ctx context.Context) (map[string]int64, error)
}

// kbNew is the address of the form for a new article. An article id is
// lowercase letters, digits and dashes, so "_new" can never be one.
const kbNew = "/console/kb/_new"

func (s *Server) kbRoutes() {
	if s.d.KB == nil || s.d.KBIndex == nil {
		return
	}
	s.mux.HandleFunc("GET /console/kb", s.agent(s.kbList))
	s.mux.HandleFunc("POST /console/kb", s.agent(s.kbEditor(s.kbSave)))
	s.mux.HandleFunc("GET "+kbNew, s.agent(s.kbEditor(s.kbForm)))
	s.mux.HandleFunc("GET /console/kb/{id}", s.agent(s.kbView))
	s.mux.HandleFunc("GET /console/kb/{id}/edit", s.agent(s.kbEditor(s.kbForm)))
	s.mux.HandleFunc("POST /console/kb/{id}", s.agent(s.kbEditor(s.kbSave)))
}

// editor tells whether the agent may change the knowledge base.
func (m me) editor() bool { return m.Admin || m.Editor }

// kbEditor lets only admins and editors through; anyone else gets 403.
func (s *Server) kbEditor(h agentHandler) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, m me) {
		if !m.editor() {
			s.errorPage(w, r, http.StatusForbidden, "error.editors")
			return
		}
		h(w, r, m)
	}
}

// kbRow is one article in the list, in the agent's language when it has it.
type kbRow struct {
	ID, Title string
	Lang      intake.Lang
	Langs     []intake.Lang
	Audience  kb.Audience
	Solved    int64
	Version   int
	// Score and Terms, when the list is a search's answer.
	Score float64
	Terms []string
}

type kbListView struct {
	Query  string
	Search bool
	Rows   []kbRow
	Editor bool
}

func (s *Server) kbList(w http.ResponseWriter, r *http.Request, m me) {
	ctx := r.Context()
	all, err := s.d.KB.Articles(ctx)
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	solved, err := s.d.KB.SolvedCounts(ctx)
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	byID := map[string]kb.Article{}
	for _, a := range all {
		byID[a.ID] = a
	}
	row := func(a kb.Article) kbRow {
		t, l := a.Text(intake.Lang(m.lang))
		return kbRow{ID: a.ID, Title: t.Title, Lang: l, Langs: a.Langs(), Audience: a.Audience, Solved: solved[a.ID], Version: a.Version}
	}
	v := kbListView{Query: strings.TrimSpace(r.URL.Query().Get("q")), Editor: m.editor()}
	if len(v.Query) > intake.MaxNameBytes*5 {
		v.Query = intake.Clip(v.Query, intake.MaxNameBytes*5)
	}
	if v.Query != "" {
		v.Search = true
		for _, res := range s.d.KBIndex.Search(kb.Query{Text: v.Query, Limit: 20}) {
			a, ok := byID[res.ID]
			if !ok {
				continue // a known error or a change not yet followed
			}
			rw := row(a)
			rw.Title, rw.Lang, rw.Score, rw.Terms = res.Title, res.Lang, res.Score, res.Terms
			v.Rows = append(v.Rows, rw)
		}
	} else {
		for _, a := range all {
			v.Rows = append(v.Rows, row(a))
		}
	}
	s.render(w, r, http.StatusOK, m.lang, "kb", s.view(r, m, "kb", v))
}

// kbText is one language of an article as the page shows it: the body
// rendered from Markdown and sanitised (kb.Renderer, bluemonday).
type kbText struct {
	Lang  intake.Lang
	Title string
	HTML  template.HTML
}

type kbArticleView struct {
	Article kb.Article
	Texts   []kbText
	Solved  int64
	Editor  bool
	Saved   bool
}

func (s *Server) kbView(w http.ResponseWriter, r *http.Request, m me) {
	ctx := r.Context()
	a, err := s.d.KB.Article(ctx, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	solved, err := s.d.KB.SolvedCounts(ctx)
	if err != nil {
		s.fail(w, r, m.lang, err)
		return
	}
	v := kbArticleView{Article: a, Solved: solved[a.ID], Editor: m.editor(), Saved: r.URL.Query().Get("saved") == "1"}
	render := kb.NewRenderer()
	langs := a.Langs()
	// The agent's language first.
	slices.SortStableFunc(langs, func(x, y intake.Lang) int {
		switch {
		case string(x) == m.lang:
			return -1
		case string(y) == m.lang:
			return 1
		}
		return 0
	})
	for _, l := range langs {
		body, err := render.Render(a.Texts[l].Body)
		if err != nil {
			s.fail(w, r, m.lang, err)
			return
		}
		// Safe to mark as HTML: Render sanitised it with bluemonday.
		v.Texts = append(v.Texts, kbText{Lang: l, Title: a.Texts[l].Title, HTML: template.HTML(body)}) // #nosec G203 -- sanitised by kb.Renderer
	}
	s.render(w, r, http.StatusOK, m.lang, "article", s.view(r, m, "kb", v))
}

// kbFormView is the article form: new (ID empty) or an edit; Form keeps
// what was typed when a save was refused.
type kbFormView struct {
	New  bool
	Form map[string]string
}

func formOf(a kb.Article) map[string]string {
	f := map[string]string{"id": a.ID, "audience": string(a.Audience), "tags": strings.Join(a.Tags, ", "),
		"categories": strings.Join(a.Categories, ", "), "cis": strings.Join(a.CIs, ", "), "version": strconv.Itoa(a.Version)}
	for l, t := range a.Texts {
		f["title_"+string(l)], f["body_"+string(l)] = t.Title, t.Body
	}
	return f
}

func (s *Server) kbForm(w http.ResponseWriter, r *http.Request, m me) {
	v := kbFormView{New: r.PathValue("id") == "", Form: map[string]string{"audience": string(kb.Internal)}}
	if !v.New {
		a, err := s.d.KB.Article(r.Context(), r.PathValue("id"))
		if err != nil {
			s.fail(w, r, m.lang, err)
			return
		}
		v.Form = formOf(a)
	}
	s.render(w, r, http.StatusOK, m.lang, "articleform", s.view(r, m, "kb", v))
}

// commaList reads a comma-separated field.
func commaList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// kbSave creates (POST /console/kb) or updates (POST /console/kb/{id}) an
// article. The version the form was loaded at goes with an update, so an
// editor never overwrites a colleague's save unknowingly.
func (s *Server) kbSave(w http.ResponseWriter, r *http.Request, m me) {
	f := r.PostForm
	form := map[string]string{}
	for _, k := range []string{"id", "audience", "tags", "categories", "cis", "version", "title_en", "body_en", "title_es", "body_es"} {
		form[k] = strings.ReplaceAll(f.Get(k), "\r\n", "\n")
	}
	isNew := r.PathValue("id") == ""
	if !isNew {
		form["id"] = r.PathValue("id")
	}
	a := kb.Article{ID: strings.TrimSpace(form["id"]), Audience: kb.Audience(form["audience"]), Tags: commaList(form["tags"]),
		Categories: commaList(form["categories"]), CIs: commaList(form["cis"]), Author: m.Name, Texts: map[intake.Lang]kb.Text{}}
	for _, l := range intake.Langs() {
		t := kb.Text{Title: strings.TrimSpace(form["title_"+string(l)]), Body: strings.TrimSpace(form["body_"+string(l)])}
		if t.Title != "" || t.Body != "" {
			a.Texts[l] = t
		}
	}
	var err error
	if !isNew {
		if a.Version, err = strconv.Atoi(form["version"]); err != nil || a.Version < 1 {
			s.kbRefused(w, r, m, isNew, form, http.StatusBadRequest, s.d.Pages.Word(m.lang, "error.badform"))
			return
		}
	}
	var saved kb.Article
	if isNew {
		saved, err = s.d.KB.CreateArticle(r.Context(), a, s.d.Now())
	} else {
		saved, err = s.d.KB.UpdateArticle(r.Context(), a, s.d.Now())
	}
	switch {
	case err == nil:
		// This bot's index at once, so the editor finds what they saved;
		// the others follow the change stream.
		s.d.KBIndex.Put(saved)
		s.d.Log.Info("console: article saved", "article", saved.ID, "version", saved.Version, "by", m.Name)
		http.Redirect(w, r, "/console/kb/"+saved.ID+"?saved=1", http.StatusSeeOther)
	case errors.Is(err, intake.ErrInvalid):
		// The validation message names the field; it is in English, so
		// the agent's language introduces it.
		s.kbRefused(w, r, m, isNew, form, http.StatusBadRequest, s.d.Pages.Word(m.lang, "kb.invalid")+" "+err.Error())
	case errors.Is(err, intake.ErrConflict):
		s.kbRefused(w, r, m, isNew, form, http.StatusConflict, s.d.Pages.Word(m.lang, "kb.conflict"))
	default:
		s.fail(w, r, m.lang, err)
	}
}

func (s *Server) kbRefused(w http.ResponseWriter, r *http.Request, m me, isNew bool, form map[string]string, status int, text string) {
	page := s.view(r, m, "kb", kbFormView{New: isNew, Form: form})
	page.Error = text
	s.render(w, r, status, m.lang, "articleform", page)
}
