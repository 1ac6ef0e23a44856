// Package intake is the help-desk domain: what an incident is and how a
// report becomes one (classification, configuration item, priority, language).
// It knows nothing about Redis, HTTP, mail or Slack.
package intake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Channel is where a report came from. The reporter is answered on the
// Route of the same name, when there is one (see Route).
type Channel string

// The channels a report may arrive on.
const (
	ChannelEmail Channel = "email"
	ChannelSlack Channel = "slack"
	ChannelWeb   Channel = "web"
	ChannelPhone Channel = "phone"
	ChannelEvent Channel = "event"
	// ChannelPortal is the reporters' self-service portal (/portal/).
	ChannelPortal Channel = "portal"
)

// Valid reports whether c is one of the channels a report may arrive on.
func (c Channel) Valid() bool {
	switch c {
	case ChannelEmail, ChannelSlack, ChannelWeb, ChannelPhone, ChannelEvent, ChannelPortal:
		return true
	}
	return false
}

// Lang is a language the bot speaks to reporters.
type Lang string

// The languages every reporter-facing text exists in.
const (
	English Lang = "en"
	Spanish Lang = "es"
)

// Langs lists every supported language; templates must exist in each.
func Langs() []Lang { return []Lang{English, Spanish} }

// Valid reports whether l is a supported language.
func (l Lang) Valid() bool { return l == English || l == Spanish }

// Level grades impact and urgency.
type Level string

// The three levels of the ITIL impact x urgency matrix.
const (
	High   Level = "high"
	Medium Level = "medium"
	Low    Level = "low"
)

// Valid reports whether l is high, medium or low.
func (l Level) Valid() bool { return l == High || l == Medium || l == Low }

// Priority is P1 (most urgent) to P5.
type Priority string

// Valid reports whether p is P1..P5.
func (p Priority) Valid() bool {
	return len(p) == 2 && p[0] == 'P' && p[1] >= '1' && p[1] <= '5'
}

// Reporter is the person (or system) who reported the incident.
type Reporter struct {
	Name     string `json:"name"`
	Email    string `json:"email,omitempty"`
	SlackID  string `json:"slack_id,omitempty"`
	Language Lang   `json:"language"`
}

// Action is an agent's note on the work done: diagnosis, tasks, the solution.
// Actions are internal unless Public: an action the agent marked "tell the
// reporter" is sent to the reporter (NoticeNote) and shown to them.
type Action struct {
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Text   string    `json:"text"`
	// Public marks a note "tell the reporter": the portal shows it. Other
	// actions are the agents' working notes and stay internal.
	Public bool `json:"public,omitempty"`
}

// Comment is something the reporter (or another participant) said after the
// report. Via says how it arrived (email, slack, web, phone).
type Comment struct {
	Author string    `json:"author"`
	At     time.Time `json:"at"`
	Text   string    `json:"text"`
	Via    string    `json:"via,omitempty"`
}

// SurveyResult is one answer to the validation (yes/no) or satisfaction
// (rating) question.
type SurveyResult struct {
	Step     string    `json:"step"`
	Answer   string    `json:"answer,omitempty"` // "yes" or "no" for validation
	Rating   int       `json:"rating,omitempty"` // 1..5 for satisfaction
	Comment  string    `json:"comment,omitempty"`
	At       time.Time `json:"at"`
	Via      string    `json:"via"`                // email, slack, web, phone
	Recorder string    `json:"recorder,omitempty"` // the agent who took a phone answer
}

// Attachment is a file that came with a report or a later message. Its
// content is kept up to a configured size and read on its own (Content is
// not part of the incident's JSON).
type Attachment struct {
	Index     int       `json:"index"`
	Name      string    `json:"name"`
	Type      string    `json:"type"`
	Size      int64     `json:"size"`
	Truncated bool      `json:"truncated,omitempty"` // only the first bytes were kept
	Via       string    `json:"via,omitempty"`
	At        time.Time `json:"at"`
	Content   []byte    `json:"-"`
}

// Suggestion kinds: a knowledge-base article, or a known error (an id
// starting "KE-").
const (
	SuggestArticle    = "article"
	SuggestKnownError = "known_error"
)

// Suggestion is a knowledge-base entry that matched a report at
// registration: an agent sees why (Terms, Score); a public article in the
// reporter's language above the configured score is also offered to the
// reporter (ReporterSuggestions).
type Suggestion struct {
	Kind   string   `json:"kind"`
	ID     string   `json:"id"`
	Title  string   `json:"title"`
	Lang   Lang     `json:"lang"`
	Public bool     `json:"public"`
	Score  float64  `json:"score"`
	Terms  []string `json:"terms,omitempty"`
}

// MaxReporterSuggestions is how many articles a reporter is offered at
// most: more would bury the one that helps.
const MaxReporterSuggestions = 3

// ReporterSuggestions are the suggestions the reporter may be shown: public
// articles in the reporter's language whose score reaches minScore, at
// most MaxReporterSuggestions, best first. Nothing below the threshold: a
// wrong suggestion is worse than none.
func (inc *Incident) ReporterSuggestions(minScore float64) []Suggestion {
	if inc.ParentID != "" {
		// A report of a known outage is told the outage is being worked
		// on; an article that claims to fix it would contradict that.
		return nil
	}
	var out []Suggestion
	for _, s := range inc.Suggestions {
		if s.Kind == SuggestArticle && s.Public && s.Lang == inc.Reporter.Language && s.Score >= minScore {
			out = append(out, s)
			if len(out) == MaxReporterSuggestions {
				break
			}
		}
	}
	return out
}

// HistoryEntry is one change of an incident, in order.
type HistoryEntry struct {
	At    time.Time `json:"at"`
	Actor string    `json:"actor"`
	Event string    `json:"event"`
	From  State     `json:"from,omitempty"`
	To    State     `json:"to,omitempty"`
	Note  string    `json:"note,omitempty"`
	Via   string    `json:"via,omitempty"`
	// Detail says what else changed, old -> new ("owner: alice -> bob").
	Detail string `json:"detail,omitempty"`
}

// Incident is a registered report and everything that happened to it.
type Incident struct {
	ID          string   `json:"id"`
	Channel     Channel  `json:"channel"`
	Reporter    Reporter `json:"reporter"`
	Subject     string   `json:"subject"`
	Description string   `json:"description"`
	CI          string   `json:"ci"`
	Category    string   `json:"category"`
	Impact      Level    `json:"impact"`
	Urgency     Level    `json:"urgency"`
	Priority    Priority `json:"priority"`
	Group       string   `json:"group"`
	Level       int      `json:"level"`
	Owner       string   `json:"owner"`
	State       State    `json:"state"`

	ReportedAt   time.Time           `json:"reported_at"`
	RegisteredAt time.Time           `json:"registered_at"`
	EnteredAt    map[State]time.Time `json:"entered_at"`
	ClosedAt     *time.Time          `json:"closed_at,omitempty"`

	Actions     []Action       `json:"actions"`
	Comments    []Comment      `json:"comments"`
	Surveys     []SurveyResult `json:"surveys"`
	Attachments []Attachment   `json:"attachments"`
	ReopenCount int            `json:"reopen_count"`
	// Flags are marks the bot set, with when: SLA warnings and breaches
	// (sla_response_warning, sla_resolution_breach, ...).
	Flags map[string]time.Time `json:"flags,omitempty"`
	// Repeats counts how often the alert behind an event incident fired
	// again while it was open.
	Repeats   int    `json:"repeats,omitempty"`
	RelatedID string `json:"related_id,omitempty"`
	// Suggestions are the knowledge-base articles and known errors that
	// matched the report when it was registered, best first, with why.
	Suggestions []Suggestion `json:"suggestions,omitempty"`
	// KnownError is the id of the known error (KE-000001) the incident is
	// linked to, if any: its workaround applies here.
	KnownError string `json:"known_error,omitempty"`
	// ParentID is the incident this one is grouped under (one outage,
	// many reports): agents work the parent, and its validation and
	// closure reach this one. Children are the incidents grouped under
	// this one, oldest first.
	ParentID string   `json:"parent_id,omitempty"`
	Children []string `json:"children,omitempty"`
	// RegisteredBy is the agent who registered the report, if an agent did.
	RegisteredBy string `json:"registered_by,omitempty"`
	// Mailbox is the help-desk address the report was sent to, if any.
	Mailbox string `json:"mailbox,omitempty"`
	// MailIDs are the Message-IDs of the mails the reporter sent about it,
	// oldest first, so that our answers thread under them.
	MailIDs []string `json:"mail_ids,omitempty"`
	// Conversation is the chat thread the report was made in (Slack:
	// CHANNEL/TS), if any: answers to the reporter join it.
	Conversation string         `json:"conversation,omitempty"`
	History      []HistoryEntry `json:"history"`

	// Round numbers the survey questions asked about the incident: it goes
	// up by one each time the incident enters validation or satisfaction.
	// While the incident is in one of those steps, Round is the number of
	// the question open now; a link or a button carries the round it was
	// made for, and an answer for another round is refused (the question
	// was replaced by a newer one). Zero: no question asked yet.
	Round int64 `json:"round,omitempty"`

	// Version counts the changes applied; it lets readers tell stale copies.
	Version int64 `json:"version"`

	// reporterHash stands for Reporter.Email in an archived incident's
	// stub (Tombstone.Stub): see IsReporter.
	reporterHash string
}

// FormatID renders the incident number n as INC-000123 (at least 6 digits).
func FormatID(n int64) string { return fmt.Sprintf("INC-%06d", n) }

// ParseID returns the number inside an incident id, or an error naming what
// is wrong with it.
func ParseID(id string) (int64, error) {
	digits, ok := strings.CutPrefix(id, "INC-")
	if !ok || len(digits) < 6 {
		return 0, fmt.Errorf("%w: %q is not an incident id like INC-000123", ErrInvalid, id)
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n <= 0 || FormatID(n) != id {
		return 0, fmt.Errorf("%w: %q is not an incident id like INC-000123", ErrInvalid, id)
	}
	return n, nil
}

// ReplyChannel is the channel the reporter is answered on: the one they
// wrote from when we can answer there, else e-mail, else Slack, else none.
func (inc *Incident) ReplyChannel() Channel {
	switch {
	case inc.Channel == ChannelSlack && inc.Reporter.SlackID != "":
		return ChannelSlack
	case inc.Reporter.Email != "":
		return ChannelEmail
	case inc.Reporter.SlackID != "":
		return ChannelSlack
	}
	return ""
}

// Outgoing is a notice handed to a channel: what must be told (Kind),
// about which incident, to whom, in which language and for which round of
// a survey. The channel renders it in its own form (a mail from the
// templates, Slack blocks) with the incident it is delivered with. ID is
// its idempotency key: a channel must not send the same ID twice.
type Outgoing struct {
	ID         string     `json:"id"`
	IncidentID string     `json:"incident"`
	Kind       NoticeKind `json:"kind"`
	Route      Route      `json:"channel"`
	Lang       Lang       `json:"lang"`
	Email      string     `json:"email,omitempty"`
	SlackID    string     `json:"slack_id,omitempty"`
	Attempt    int        `json:"attempt"`
	// Round is the number of the survey question a survey notice asks
	// (Incident.Round when it was queued; zero for other notices): a link
	// or a button made for it answers that round and no other.
	Round int64 `json:"round,omitempty"`
	// Action, on a note (NoticeNote), is the number (1-based) of the
	// action in Incident.Actions that the note tells: see Note.
	Action int `json:"action,omitempty"`
	// Alert and Target: see Notice.
	Alert  Alert  `json:"alert,omitempty"`
	Target string `json:"target,omitempty"`
}

// Note returns the public note a NoticeNote tells the reporter, from the
// incident it is delivered with. It fails (ErrUndeliverable) when the
// notice names no public action of inc: an internal action must never
// reach a reporter, whatever the outbox record says.
func (m Outgoing) Note(inc *Incident) (Action, error) {
	if inc == nil || m.Action < 1 || m.Action > len(inc.Actions) {
		return Action{}, fmt.Errorf("%w: %s names no action of its incident", ErrUndeliverable, m.ID)
	}
	a := inc.Actions[m.Action-1]
	if !a.Public {
		return Action{}, fmt.Errorf("%w: %s names an internal action", ErrUndeliverable, m.ID)
	}
	return a, nil
}

// Outgoing is the notice as a channel receives it, with the incident as
// it is at delivery (the language is the one recorded when it was queued).
// A survey notice queued before rounds were recorded asks the incident's
// current round (the dispatcher drops it when its step is no longer open).
func (q Notice) Outgoing(inc *Incident) Outgoing {
	msg := Outgoing{
		ID: q.ID, IncidentID: q.Incident, Kind: q.Kind, Route: q.Route, Lang: q.Lang,
		Email: q.Email, SlackID: q.SlackID, Attempt: q.Attempts, Action: q.Action, Alert: q.Alert, Target: q.Target,
	}
	if q.Kind.SurveyStep() != "" {
		msg.Round = q.Round
		if msg.Round == 0 && inc != nil {
			msg.Round = inc.Round
		}
	}
	return msg
}

// Stale says why a survey notice (question or reminder) must not be
// delivered to an incident as it is now, or "" when it may: its step is
// no longer open (answered, or the case moved on), or a newer round of
// the question was asked since it was queued. Other notices are never
// stale.
func (q Notice) Stale(inc *Incident) string {
	step := q.Kind.SurveyStep()
	switch {
	case step == "" || inc == nil:
		return ""
	case string(inc.State) != step:
		return "question no longer open: the incident is in " + string(inc.State)
	case q.Round != 0 && q.Round != inc.Round:
		return fmt.Sprintf("question replaced: round %d was asked, round %d is open", q.Round, inc.Round)
	}
	return ""
}
