package intake

import "time"

// ListFilter selects incidents for a list; empty fields match everything.
type ListFilter struct {
	State    string
	Priority string
	Group    string
	Owner    string
	// Before is the cursor: only incidents numbered below it (0: newest).
	Before int64
	Limit  int
}

// Page is one page of a list, newest first. Next is the cursor for the
// following page, 0 when there is none.
type Page struct {
	Incidents []*Incident `json:"incidents"`
	Next      int64       `json:"-"`
}

// Agent is a help-desk agent allowed to use the API.
type Agent struct {
	Name      string    `json:"name"`
	Admin     bool      `json:"admin"`
	CreatedAt time.Time `json:"created_at"`
	// Editor lets a non-admin agent change the knowledge base.
	Editor bool `json:"editor,omitempty"`
}

// Notice is a message to a reporter waiting in the outbox. It is written in
// the same atomic step as the change that caused it; ID is its idempotency
// key (incident, kind and incident version).
type Notice struct {
	ID        string     `json:"id"`
	Incident  string     `json:"incident"`
	Kind      NoticeKind `json:"kind"`
	Route     Route      `json:"channel"`
	Lang      Lang       `json:"lang"`
	Email     string     `json:"email,omitempty"`
	SlackID   string     `json:"slack_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	// DueAt and Dead are filled when the outbox is listed.
	DueAt time.Time `json:"due_at,omitzero"`
	Dead  bool      `json:"dead,omitempty"`
}

// Inbound outcomes: what became of a message that reached the bot.
const (
	OutcomeCreated      = "created"
	OutcomeAppended     = "appended"
	OutcomeSurveyAnswer = "survey_answer"
	OutcomeIgnored      = "ignored"
	OutcomeQuarantined  = "quarantined"
)

// InboundRecord is the recorded outcome of one inbound message.
type InboundRecord struct {
	ID        string    `json:"id"`  // position in the ledger, also the list cursor
	Key       string    `json:"key"` // the message's claim key (Message-ID or hash)
	At        time.Time `json:"at"`
	Channel   Channel   `json:"channel"`
	Source    string    `json:"source"` // e.g. mailbox/uidvalidity/uid
	MessageID string    `json:"message_id,omitempty"`
	From      string    `json:"from,omitempty"`
	Subject   string    `json:"subject,omitempty"`
	Outcome   string    `json:"outcome"`
	Incident  string    `json:"incident,omitempty"`
	Step      string    `json:"step,omitempty"`
	Reason    string    `json:"reason,omitempty"`
}
