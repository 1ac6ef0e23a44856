package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// KBStore keeps the knowledge base's articles.
type KBStore interface {
	CreateArticle(ctx context.Context, a kb.Article, now time.Time) (kb.Article, error)
	UpdateArticle(ctx context.Context, a kb.Article, now time.Time) (kb.Article, error)
	DeleteArticle(ctx context.Context, id string) error
	Article(ctx context.Context, id string) (kb.Article, error)
}

// KBLister lists every article.
type KBLister interface {
	Articles(ctx context.Context) ([]kb.Article, error)
}

// KBSolved reads how often each article solved a reporter's problem.
type KBSolved interface {
	SolvedCounts(ctx context.Context) (map[string]int64, error)
}

// KBDeps is what the knowledge-base endpoints need. With no Store they are
// not served.
type KBDeps struct {
	Store  KBStore
	Lister KBLister
	// Index answers searches from memory; the bot keeps it fresh from the
	// change stream, and the API updates it at once after its own writes
	// so an editor finds what they just saved.
	Index *kb.Index
	// Solved gives each article's "this solved my problem" count; nil
	// shows none.
	Solved KBSolved
	Now    func() time.Time
}

// solvedCounts is every article's solved count, empty without a source.
func (s *Server) solvedCounts(ctx context.Context) (map[string]int64, error) {
	if s.d.KB.Solved == nil {
		return map[string]int64{}, nil
	}
	return s.d.KB.Solved.SolvedCounts(ctx)
}

// kbRoutes registers /api/v1/kb/*: any agent reads and searches; admins
// and agents with the editor flag write.
func (s *Server) kbRoutes() {
	if s.d.KB.Store == nil {
		return
	}
	r := kb.NewRenderer()
	s.route("GET /api/v1/kb/articles", s.agent(s.kbList))
	s.route("POST /api/v1/kb/articles", s.agent(s.kbEditor(s.kbCreate)))
	s.route("GET /api/v1/kb/articles/{id}", s.agent(func(w http.ResponseWriter, req *http.Request, by intake.Actor) { s.kbGet(w, req, r) }))
	s.route("PUT /api/v1/kb/articles/{id}", s.agent(s.kbEditor(s.kbUpdate)))
	s.route("DELETE /api/v1/kb/articles/{id}", s.agent(s.kbEditor(s.kbDelete)))
	s.route("GET /api/v1/kb/search", s.agent(s.kbSearch))
}

// kbEditor lets the handler run only for admins and editors.
func (s *Server) kbEditor(h agentHandler) agentHandler {
	return func(w http.ResponseWriter, r *http.Request, by intake.Actor) {
		if !by.Admin {
			a, err := s.d.Agents.Agent(r.Context(), by.Name)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if !a.Editor {
				writeError(w, http.StatusForbidden, "forbidden", "only admins and editors change the knowledge base")
				return
			}
		}
		h(w, r, by)
	}
}

// articleBody is what a client may set; the store sets the timestamps and
// the version (a version sent on update must be the stored one).
type articleBody struct {
	ID         string                  `json:"id"`
	Texts      map[intake.Lang]kb.Text `json:"texts"`
	Tags       []string                `json:"tags"`
	Categories []string                `json:"categories"`
	CIs        []string                `json:"cis"`
	Audience   kb.Audience             `json:"audience"`
	Author     string                  `json:"author"`
	Version    int                     `json:"version"`
}

func (b articleBody) article(by intake.Actor) kb.Article {
	a := kb.Article{ID: b.ID, Texts: b.Texts, Tags: b.Tags, Categories: b.Categories, CIs: b.CIs,
		Audience: b.Audience, Author: b.Author, Version: b.Version}
	if a.Author == "" {
		a.Author = by.Name
	}
	return a
}

func (s *Server) kbList(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	list, err := s.d.KB.Lister.Articles(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	solved, err := s.solvedCounts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"articles": list, "solved": solved})
}

func (s *Server) kbCreate(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b articleBody
	if !s.decode(w, r, &b) {
		return
	}
	a, err := s.d.KB.Store.CreateArticle(r.Context(), b.article(by), s.d.KB.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.KB.Index.Put(a)
	writeJSON(w, http.StatusCreated, a)
}

func (s *Server) kbUpdate(w http.ResponseWriter, r *http.Request, by intake.Actor) {
	var b articleBody
	if !s.decode(w, r, &b) {
		return
	}
	id := r.PathValue("id")
	if b.ID != "" && b.ID != id {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("the body's id %q is not the path's %q", b.ID, id))
		return
	}
	b.ID = id
	a, err := s.d.KB.Store.UpdateArticle(r.Context(), b.article(by), s.d.KB.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.KB.Index.Put(a)
	writeJSON(w, http.StatusOK, a)
}

func (s *Server) kbDelete(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	id := r.PathValue("id")
	if err := s.d.KB.Store.DeleteArticle(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.d.KB.Index.Delete(id)
	writeJSON(w, http.StatusOK, map[string]string{"deleted": id})
}

// kbGet answers the article and, per language, its body as sanitised HTML.
func (s *Server) kbGet(w http.ResponseWriter, r *http.Request, render *kb.Renderer) {
	a, err := s.d.KB.Store.Article(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	html := map[intake.Lang]string{}
	for l, t := range a.Texts {
		if html[l], err = render.Render(t.Body); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	solved, err := s.solvedCounts(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"article": a, "html": html, "solved": solved[a.ID]})
}

// kbSearch answers GET /api/v1/kb/search?q=&lang=&ci=&category=&limit=.
func (s *Server) kbSearch(w http.ResponseWriter, r *http.Request, _ intake.Actor) {
	v := r.URL.Query()
	q := kb.Query{Text: v.Get("q"), Lang: intake.Lang(v.Get("lang")), CI: v.Get("ci"), Category: v.Get("category")}
	if q.Text == "" {
		writeError(w, http.StatusBadRequest, "invalid", "q (the text to search for) is required")
		return
	}
	if q.Lang != "" && !q.Lang.Valid() {
		writeError(w, http.StatusBadRequest, "invalid", fmt.Sprintf("lang %q is not en or es", q.Lang))
		return
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "invalid", "limit must be a number from 1 to 100")
			return
		}
		q.Limit = n
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": s.d.KB.Index.Search(q)})
}
