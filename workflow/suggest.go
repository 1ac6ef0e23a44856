package workflow

import (
	"context"
	"fmt"
	"strings"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// KB finds knowledge-base articles (and known errors, ids "KE-") for a
// report; *kb.Index is one. It is in memory: searching costs no round trip.
type KB interface {
	Search(q kb.Query) []kb.Result
}

// SolvedCounter counts how often an article solved a reporter's problem.
type SolvedCounter interface {
	CountSolved(ctx context.Context, articleID string) (int64, error)
}

// Suggestions configures what the engine suggests at registration.
type Suggestions struct {
	Index KB
	// MinScore is the score a public article needs before the reporter is
	// offered it (kb.suggest.min_score).
	MinScore float64
	// Counter counts solved-by-article; nil counts nothing.
	Counter SolvedCounter
}

// maxAgentSuggestions is how many entries an agent sees on a new incident:
// enough to pick from, few enough to read. searchDepth is how far one
// search looks so that the public articles a reporter may be offered are
// among its results even behind internal articles and known errors.
const (
	maxAgentSuggestions = 5
	searchDepth         = 20
)

// UseKB makes registration store suggestions on every incident. Call it
// before the engine is used.
func (e *Engine) UseKB(s Suggestions) { e.kb = s }

// MinScore is the score a public article needs before a reporter is
// offered it.
func (e *Engine) MinScore() float64 { return e.kb.MinScore }

// suggest searches the index for the report, once, in the reporter's
// language (the language the report was written in): analysing the text
// (stemming) is most of a search's cost. The agents get the best
// maxAgentSuggestions entries whatever their audience; the public
// articles that pass the threshold, up to three, are kept too, so that
// what the reporter is offered (Incident.ReporterSuggestions) is what
// kb.Index.Suggest gives, unless more than searchDepth-3 internal entries
// outrank them.
func (e *Engine) suggest(inc *intake.Incident) []intake.Suggestion {
	if e.kb.Index == nil {
		return nil
	}
	q := kb.Query{Text: inc.Subject + "\n" + inc.Description, CI: inc.CI, Category: inc.Category, Limit: searchDepth}
	if inc.Reporter.Language.Valid() {
		q.Lang = inc.Reporter.Language
	}
	var out []intake.Suggestion
	offered := 0
	for i, r := range e.kb.Index.Search(q) {
		offer := r.Audience == kb.Public && r.Score >= e.kb.MinScore && !strings.HasPrefix(r.ID, "KE-") && offered < intake.MaxReporterSuggestions
		if offer {
			offered++
		}
		if i < maxAgentSuggestions || offer {
			out = append(out, suggestionOf(r))
		}
	}
	return out
}

// Bounds on what one suggestion stores. The suggestions are a field of
// the incident's hash, and Redis keeps a hash compact only while every
// field stays under hash-max-listpack-value (1024 bytes recommended, see
// the README's memory figures): a long report matching dozens of words
// must not double every incident's memory.
const (
	maxSuggestionTerms = 6
	maxSuggestionTitle = 100
)

func suggestionOf(r kb.Result) intake.Suggestion {
	kind := intake.SuggestArticle
	if strings.HasPrefix(r.ID, "KE-") {
		kind = intake.SuggestKnownError
	}
	terms := r.Terms
	if len(terms) > maxSuggestionTerms {
		terms = terms[:maxSuggestionTerms]
	}
	return intake.Suggestion{Kind: kind, ID: r.ID, Title: intake.Clip(r.Title, maxSuggestionTitle), Lang: r.Lang, Public: r.Audience == kb.Public,
		Score: float64(int64(r.Score*100+0.5)) / 100, Terms: terms}
}

// Solved records that a suggested article solved the reporter's problem:
// an action says so, the incident goes to the satisfaction survey, and
// the article's solved count goes up (once, however often it is sent:
// give by.Ref the source's id). Only an article the reporter was offered
// counts.
func (e *Engine) Solved(ctx context.Context, id string, by intake.Actor, articleID string) (intake.Changed, error) {
	inc, err := e.Get(ctx, id)
	if err != nil {
		return intake.Changed{}, err
	}
	var chosen *intake.Suggestion
	for _, s := range inc.ReporterSuggestions(e.kb.MinScore) {
		if s.ID == articleID {
			chosen = &s
			break
		}
	}
	if chosen == nil {
		return intake.Changed{}, fmt.Errorf("%w: article %q was not suggested to the reporter of %s", intake.ErrInvalid, intake.Clip(articleID, 80), id)
	}
	ch := Change{Note: chosen.ID, Action: &intake.Action{Author: by.Name, Text: SolvedActionText(chosen.ID, chosen.Title)}}
	res, err := e.applied(ctx, id, Event{Kind: intake.EventSolved, Actor: by}, ch)
	if err != nil || res.Duplicate || e.kb.Counter == nil {
		return res.Changed, err
	}
	// The count lives with the KB, on another Redis node than the incident
	// may: it follows the change rather than joining its script, and a
	// crash in between loses one count, never an answer.
	if _, err := e.kb.Counter.CountSolved(ctx, chosen.ID); err != nil {
		return res.Changed, fmt.Errorf("%s solved, but its article's count was not updated: %w", id, err)
	}
	return res.Changed, nil
}

// SolvedActionText is the action recorded when the reporter says an
// article solved the problem. It is in English like every stored note; the
// console words the history entry (event "solved") in the agent's language.
func SolvedActionText(articleID, title string) string {
	return fmt.Sprintf("Solved by the reporter with article %s (%s)", articleID, title)
}
