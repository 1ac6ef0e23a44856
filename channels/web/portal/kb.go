package portal

import (
	"html/template"
	"net/http"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// articleView is a public article as a reporter reads it, and, when it
// was opened from one of the reporter's incidents that offers it, the
// form to say it solved the problem.
type articleView struct {
	ID    string
	Title string
	Lang  string // the language of the text shown (it may differ from the page's)
	HTML  template.HTML
	// From is the incident the article was opened from, when it is the
	// reporter's and offers this article; nil otherwise.
	From *intake.Incident
	// Solvable: From still takes "this solved my problem".
	Solvable bool
}

// article shows a public knowledge-base article in the page's language
// (or its other one when it has only that). An internal article, a known
// error or an unknown id is "not found" (404): a reporter must not learn
// which internal articles exist.
func (s *Server) article(w http.ResponseWriter, r *http.Request, m me) {
	if s.d.Articles == nil {
		s.errorPage(w, r, http.StatusNotFound, "error.notfound")
		return
	}
	a, err := s.d.Articles.Article(r.Context(), r.PathValue("id"))
	if err == nil && a.Audience != kb.Public {
		err = intake.ErrNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	text, lang := a.Text(intake.Lang(m.lang))
	body, err := s.markdown.Render(text.Body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// Safe to mark as HTML: Render sanitised it with bluemonday.
	v := articleView{ID: a.ID, Title: text.Title, Lang: string(lang), HTML: template.HTML(body)} // #nosec G203 -- sanitised by kb.Renderer
	if from := r.URL.Query().Get("from"); from != "" {
		// Only the reporter's own incident, and only if it offered this
		// article; anything else shows the article alone.
		if inc, err := s.d.Engine.Get(r.Context(), from); err == nil && inc.IsReporter(m.Email) {
			if _, ok := offered(inc, s.d.Engine.MinScore(), a.ID); ok {
				v.From, v.Solvable = inc, solvable(inc)
			}
		}
	}
	s.render(w, http.StatusOK, "article", s.view(r, m, "incident", v))
}
