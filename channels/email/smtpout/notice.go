package smtpout

import (
	"context"
	"fmt"
	"strings"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
)

// Mail is one message to a reporter, written and ready to compose.
type Mail struct {
	// ID is the outbox message's idempotency key; the Message-ID is
	// derived from it.
	ID         string
	IncidentID string
	Kind       intake.NoticeKind
	Lang       intake.Lang
	// Email is the recipient's address; Name their name, used when the
	// address carries none.
	Email   string
	Name    string
	Subject string
	Text    string
	// HTML is the HTML part; empty: one derived from Text.
	HTML string
	// From is the help-desk address the reporter wrote to, if any: the
	// answer goes out from it.
	From string
	// InReplyTo and References thread the answer under the reporter's own
	// mail (Message-IDs without angle brackets).
	InReplyTo  string
	References []string
}

// SurveyLinks signs the web link of one round of a survey question.
type SurveyLinks interface {
	Link(incidentID, step string, round int64) (string, error)
}

// SolvedLinks signs the "this solved my problem" link of an article
// offered to a reporter.
type SolvedLinks interface {
	SolvedLink(incidentID, articleID string) (string, error)
}

// Labeler names categories and configuration items in the reporter's
// language (intake.Rules does).
type Labeler interface {
	Label(name string, lang intake.Lang) string
}

// Renderer writes the mail of a notice from the templates.
type Renderer struct {
	Texts *templates.Set
	// Links signs survey links; nil leaves them out.
	Links SurveyLinks
	// Labels names categories and items; nil shows their ids.
	Labels Labeler
	// Org is the organisation that signs every mail.
	Org templates.Org
	// ConsoleURL links an agent alert to the incident's console page
	// (web.base_url + /console/incidents/ID); nil: no link.
	ConsoleURL func(id string) string
	// Solved signs "this solved my problem" links; nil offers no articles.
	Solved SolvedLinks
	// MinScore is the score an article needs to be offered to a reporter
	// (kb.suggest.min_score).
	MinScore float64
}

// offeredArticle is a knowledge-base article the acknowledgment offers,
// with its signed "this solved my problem" link.
type offeredArticle struct {
	N         int // its number, for a reply "solved N"
	ID, Title string
	SolvedURL string
}

// noticeData is what templates may use.
type noticeData struct {
	ID, Subject, Category, CI, ReporterName, Owner string
	// Priority and State are in words ("High", "Waiting for your
	// confirmation"); PriorityID is the bare P1..P5.
	Priority, PriorityID, State string
	// SurveyURL is the signed web link of a survey question, when links
	// are configured.
	SurveyURL string
	// Solution is what was done, as the reporter may read it (see
	// solutionNote).
	Solution string
	// Note is the public note a note mail (intake.NoticeNote) tells: an
	// action the agent marked "tell the reporter", never another one.
	Note string
	Org  templates.Org
	// Agent alerts only: the alert (intake.Alert), the incident's group,
	// the reporter's words with a "no", and the incident's console page.
	Alert, Group, Reason, ConsoleURL string
	// Articles are offered in the acknowledgment: public, in the
	// reporter's language, above the threshold; at most three.
	Articles []offeredArticle
	// Outage is the incident this one is grouped under (a known outage
	// being worked on), or "".
	Outage string
}

// Render writes the mail for msg about inc, in the language recorded when
// the notice was queued. Survey links are signed now, at delivery, for the
// round the notice asks (msg.Round): the link answers that round only.
func (r Renderer) Render(msg intake.Outgoing, inc *intake.Incident) (Mail, error) {
	label := func(name string) string {
		if r.Labels == nil || name == "" {
			return name
		}
		return r.Labels.Label(name, msg.Lang)
	}
	lang := string(msg.Lang)
	data := noticeData{
		ID: inc.ID, Subject: inc.Subject, Category: label(inc.Category), Priority: string(inc.Priority),
		CI: label(inc.CI), ReporterName: inc.Reporter.Name, Owner: inc.Owner,
		PriorityID: string(inc.Priority), State: string(inc.State), Solution: solutionNote(inc), Org: r.Org,
		Outage: inc.ParentID,
	}
	if msg.Kind == intake.NoticeNote {
		note, err := msg.Note(inc)
		if err != nil {
			return Mail{}, err
		}
		data.Note = strings.TrimSpace(note.Text)
	}
	if w := r.Texts.Word(lang, "priority_"+string(inc.Priority)); w != "" {
		data.Priority = w
	}
	if w := r.Texts.Word(lang, "state_"+string(inc.State)); w != "" {
		data.State = w
	}
	// A question of an incident that entered its step before rounds were
	// numbered (round 0) gets no link: no link could answer it, and the
	// reporter can still answer by mail.
	if step := msg.Kind.SurveyStep(); r.Links != nil && step != "" && msg.Round > 0 {
		url, err := r.Links.Link(inc.ID, step, msg.Round)
		if err != nil {
			return Mail{}, fmt.Errorf("sign survey link: %w", err)
		}
		data.SurveyURL = url
	}
	if msg.Kind == intake.NoticeAgentAlert {
		data.Alert, data.Group = string(msg.Alert), inc.Group
		if msg.Alert == intake.AlertRejected {
			data.Reason = rejection(inc)
		}
		if r.ConsoleURL != nil {
			data.ConsoleURL = r.ConsoleURL(inc.ID)
		}
	}
	if msg.Kind == intake.NoticeAck && r.Solved != nil {
		for i, s := range inc.ReporterSuggestions(r.MinScore) {
			url, err := r.Solved.SolvedLink(inc.ID, s.ID)
			if err != nil {
				return Mail{}, fmt.Errorf("sign solved link: %w", err)
			}
			data.Articles = append(data.Articles, offeredArticle{N: i + 1, ID: s.ID, Title: s.Title, SolvedURL: url})
		}
	}
	text, err := r.Texts.Render(lang, string(msg.Kind), data)
	if err != nil {
		return Mail{}, fmt.Errorf("render %s/%s: %w", msg.Lang, msg.Kind, err)
	}
	if msg.Kind == intake.NoticeAgentAlert {
		// To an agent: not addressed by the reporter's name, nor threaded
		// under the reporter's mails.
		return Mail{ID: msg.ID, IncidentID: msg.IncidentID, Kind: msg.Kind, Lang: msg.Lang, Email: msg.Email,
			Subject: text.Subject, Text: text.Text, HTML: text.HTML, From: inc.Mailbox}, nil
	}
	return Mail{
		ID: msg.ID, IncidentID: msg.IncidentID, Kind: msg.Kind, Lang: msg.Lang,
		Email: msg.Email, Name: inc.Reporter.Name, Subject: text.Subject, Text: text.Text, HTML: text.HTML,
		From: inc.Mailbox, InReplyTo: last(inc.MailIDs), References: inc.MailIDs,
	}, nil
}

// solutionNote is what the validation question tells the reporter was
// done: the note the agent gave when moving the incident to validation,
// the latest such move (after a "no" the incident comes back and is
// solved again). Only that note is public. Actions are the agents' working
// notes and stay internal, so when the move carried no note the mail says
// nothing about what was done rather than show an action.
func solutionNote(inc *intake.Incident) string {
	for i := len(inc.History) - 1; i >= 0; i-- {
		if h := inc.History[i]; h.To == intake.Validation {
			return strings.TrimSpace(h.Note)
		}
	}
	return ""
}

// rejection is what the reporter said with their latest "no".
func rejection(inc *intake.Incident) string {
	for i := len(inc.Surveys) - 1; i >= 0; i-- {
		if s := inc.Surveys[i]; s.Step == intake.SurveyValidation && s.Answer == "no" {
			return strings.TrimSpace(s.Comment)
		}
	}
	return ""
}

func last(list []string) string {
	if len(list) == 0 {
		return ""
	}
	return list[len(list)-1]
}

// Notifier delivers the outbox's e-mail route: it writes each notice's
// mail and sends it. It has the method set of workflow.Notifier.
type Notifier struct {
	Sender *Sender
	Render Renderer
}

// Deliver writes the mail for msg and sends it. A notice that cannot be
// written (no template) fails like a delivery, and is retried.
func (n Notifier) Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	if inc == nil {
		return fmt.Errorf("smtpout: %s: %w: no incident to write about", msg.ID, ErrPermanent)
	}
	m, err := n.Render.Render(msg, inc)
	if err != nil {
		return fmt.Errorf("smtpout: %s: %w", msg.ID, err)
	}
	return n.Sender.Send(ctx, m)
}
