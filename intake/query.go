package intake

import "time"

// ListFilter selects incidents for a list; empty fields match everything.
type ListFilter struct {
	State    string
	Priority string
	Group    string
	Owner    string
	// Channel keeps the incidents reported through one channel.
	Channel string
	// SLA keeps the open incidents whose worst SLA status (Incident.SLAStatus)
	// is SLAWarning or SLABreached; closed ones leave the SLA lists.
	SLA string
	// Unassigned keeps the incidents no agent owns (Owner must be empty).
	Unassigned bool
	// Query keeps the incidents whose subject, description or comments hold
	// every word of it (EN/ES stems, accents and case folded; the last word
	// also as a prefix).
	Query string
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
	// ExpiresAt is when the agent's access (token and password) ends;
	// zero: never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	// TokenIssuedAt is when the current token was made (add or rotate).
	TokenIssuedAt time.Time `json:"token_issued_at,omitzero"`
	// LastUsedAt is when the agent last authenticated, give or take the
	// store's recording interval; zero: never.
	LastUsedAt time.Time `json:"last_used_at,omitzero"`
	// HasPassword says whether the agent has a password for the console.
	HasPassword bool `json:"has_password,omitempty"`
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
	// Round is the incident's survey round when the notice was queued (see
	// Incident.Round); zero for a notice queued before rounds existed.
	Round int64 `json:"round,omitempty"`
	// Action is the number (1-based) of the action a note (NoticeNote)
	// tells, recorded by the change that queued it; zero for other notices.
	Action int `json:"action,omitempty"`
	// Alert and Target, on an agent alert (NoticeAgentAlert): what it is
	// about, and the webhook URL it is posted to (a mail's recipient is
	// Email, its language Lang).
	Alert  Alert  `json:"alert,omitempty"`
	Target string `json:"target,omitempty"`
	// DueAt, Dead and Dropped are filled when the outbox is listed. A
	// dropped notice was not delivered on purpose: its question was
	// answered or replaced before its turn came (DropReason says which).
	DueAt      time.Time `json:"due_at,omitzero"`
	Dead       bool      `json:"dead,omitempty"`
	Dropped    bool      `json:"dropped,omitempty"`
	DroppedAt  time.Time `json:"dropped_at,omitzero"`
	DropReason string    `json:"drop_reason,omitempty"`
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
