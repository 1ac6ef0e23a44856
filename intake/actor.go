package intake

// ActorKind says who is acting on an incident.
type ActorKind string

// The kinds of actor.
const (
	// ActorAgent is a help-desk agent, identified by name.
	ActorAgent ActorKind = "agent"
	// ActorReporter is the incident's reporter, already verified by the
	// channel (sender address, reply token, Slack user or signed link).
	ActorReporter ActorKind = "reporter"
	// ActorSystem is the bot itself (timeouts, system events).
	ActorSystem ActorKind = "system"
	// ActorParticipant is someone else in the conversation (a colleague in
	// copy): what they say is kept, but they answer no survey.
	ActorParticipant ActorKind = "participant"
)

// Actor is who does something to an incident, and through which channel.
type Actor struct {
	Kind  ActorKind
	Name  string
	Admin bool
	// Via is how the act reached us: "api", "cli", "email", "slack", "web",
	// or "phone" when an agent records what a reporter said on the phone.
	Via string
	// Ref identifies the source message of the act (a Message-ID, a Slack
	// event id): an act with a Ref already applied to the incident is not
	// applied again, so a redelivered message changes nothing twice.
	Ref string
	// Round is the survey round a reporter's answer was asked in, when the
	// channel knows it (a signed link, a Slack button): an answer for a
	// round that is not the open one is refused with CodeReplaced. Zero
	// answers whatever question is open (a mail reply, a phone call).
	Round int64
}
