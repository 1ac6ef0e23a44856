package slack

import (
	"context"
	"errors"
	"fmt"
	"html"
	"regexp"
	"strings"

	"github.com/intakebot/intakebot/intake"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// ErrBadPayload marks an event that cannot be read; sending it again
// would not help, so it is answered (400, or acknowledged) and logged.
var ErrBadPayload = errors.New("bad slack payload")

// HandleEvent handles one Events API callback (the JSON of its envelope's
// payload). It returns nil once the event's effect is stored, or was
// stored before (Slack retried it): only then may it be acknowledged. An
// error other than ErrBadPayload means nothing final happened; Slack's
// retry will try again and find whatever part was already done.
func (b *Bot) HandleEvent(ctx context.Context, raw []byte) error {
	if err := b.Connect(ctx); err != nil {
		return err
	}
	ev, err := slackevents.ParseEvent(raw, slackevents.OptionNoVerifyToken())
	if err != nil {
		return fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID == "" {
		return fmt.Errorf("%w: not an event callback with an event_id", ErrBadPayload)
	}
	key := "slack:event:" + cb.EventID
	switch e := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		return b.onMessage(ctx, key, e)
	case *slackevents.AppMentionEvent:
		if b.fromBot(e.User, e.BotID) {
			return nil
		}
		return b.onMention(ctx, key, e)
	}
	return nil // an event the app does not act on
}

// fromBot tells the bot's own messages and other bots' apart from people's.
func (b *Bot) fromBot(user, botID string) bool {
	return botID != "" || user == "" || user == b.self
}

func (b *Bot) onMessage(ctx context.Context, key string, m *slackevents.MessageEvent) error {
	switch m.SubType {
	case "", "file_share", "thread_broadcast":
	case "message_changed":
		return b.onEdit(ctx, key, m)
	default:
		return nil // joins, deletions, bot messages, ...
	}
	if b.fromBot(m.User, m.BotID) {
		return nil
	}
	text := m.Text
	var files []slackapi.File
	if m.Message != nil {
		files = m.Message.Files
	}
	dm := m.ChannelType == "im"
	if !dm && strings.Contains(text, "<@"+b.self+">") {
		return nil // the app_mention event of the same message handles it
	}
	return b.onSaid(ctx, key, said{user: m.User, text: withFiles(text, files), channel: m.Channel,
		ts: m.TimeStamp, threadTS: m.ThreadTimeStamp, reports: dm})
}

func (b *Bot) onMention(ctx context.Context, key string, m *slackevents.AppMentionEvent) error {
	text := strings.TrimSpace(strings.ReplaceAll(m.Text, "<@"+b.self+">", ""))
	return b.onSaid(ctx, key, said{user: m.User, text: withFiles(text, m.Files), channel: m.Channel,
		ts: m.TimeStamp, threadTS: m.ThreadTimeStamp, mentioned: true, reports: true})
}

// said is a person's message that may concern the bot.
type said struct {
	user, text, channel, ts, threadTS string
	// mentioned: addressed to the bot. reports: outside an incident's
	// thread it opens an incident (a DM, a mention); else it is chatter.
	mentioned, reports bool
}

// onSaid makes a message in an incident's thread a comment on it, and
// any other message addressed to the bot a new report.
func (b *Bot) onSaid(ctx context.Context, key string, s said) error {
	if b.d.Portal != nil && (s.reports || s.mentioned) && asksForPortal(s.text) {
		return b.givePortalLink(ctx, key, s)
	}
	if s.threadTS != "" {
		id, err := b.d.State.IncidentOfThread(ctx, s.channel, s.threadTS)
		if err != nil {
			return err
		}
		if id != "" {
			return b.once(ctx, key, s.user, s.text, func(ctx context.Context) (intake.InboundRecord, error) {
				return b.comment(ctx, key, id, s.user, s.text, s.mentioned, thread{s.channel, s.threadTS})
			})
		}
	}
	if !s.reports {
		return nil // channel chatter not addressed to the bot
	}
	root := thread{s.channel, firstOf(s.threadTS, s.ts)}
	return b.once(ctx, key, s.user, s.text, func(ctx context.Context) (intake.InboundRecord, error) {
		return b.report(ctx, key, s.user, "", s.text, root)
	})
}

// onEdit keeps the edit of a report, or of a message in its thread, as a
// comment: the incident's text stays what it was, and nothing is lost.
func (b *Bot) onEdit(ctx context.Context, key string, m *slackevents.MessageEvent) error {
	msg := m.Message
	if msg == nil || b.fromBot(msg.User, msg.BotID) {
		return nil
	}
	if m.PreviousMessage != nil && m.PreviousMessage.Text == msg.Text {
		return nil // an unfurl or a reaction, not a new text
	}
	var id string
	for _, ts := range []string{msg.Timestamp, msg.ThreadTimestamp} {
		if ts == "" {
			continue
		}
		found, err := b.d.State.IncidentOfThread(ctx, m.Channel, ts)
		if err != nil {
			return err
		}
		if id = found; id != "" {
			break
		}
	}
	if id == "" {
		return nil
	}
	return b.once(ctx, key, msg.User, msg.Text, func(ctx context.Context) (intake.InboundRecord, error) {
		return b.comment(ctx, key, id, msg.User, "(edited) "+cleanText(msg.Text), false, thread{})
	})
}

// once runs work for an inbound event unless its outcome is already
// recorded, then records the outcome.
func (b *Bot) once(ctx context.Context, key, user, text string, work func(ctx context.Context) (intake.InboundRecord, error)) error {
	source := strings.ReplaceAll(key, ":", "/")
	prior, err := b.d.Ledger.Begin(ctx, key, source, b.d.Now())
	if err != nil {
		return err
	}
	if prior != nil && prior.Outcome != "" {
		b.d.Log.Info("slack event seen before", "key", key, "outcome", prior.Outcome, "incident", prior.Incident)
		return nil
	}
	rec, err := work(ctx)
	if err != nil {
		return err
	}
	rec.At, rec.Channel, rec.Source, rec.From = b.d.Now().UTC(), intake.ChannelSlack, source, user
	rec.Subject = intake.Clip(firstLine(cleanText(text)), 200)
	if _, err := b.d.Ledger.Record(ctx, key, rec); err != nil {
		return err
	}
	b.d.Log.Info("slack inbound", "key", key, "outcome", rec.Outcome, "incident", rec.Incident, "reason", rec.Reason)
	return nil
}

// report registers a new incident; at is the thread its answers join
// (none: the acknowledgment opens a DM). agent names the agent who
// reported on someone's behalf.
func (b *Bot) report(ctx context.Context, key, user, agent, text string, at thread, extra ...func(*intake.Report)) (intake.InboundRecord, error) {
	p := b.personOrID(ctx, user)
	// Over-long fields are clipped rather than refused: a report must not
	// be lost for its size.
	rep := intake.Report{
		Channel:     intake.ChannelSlack,
		Reporter:    intake.Reporter{Name: intake.Clip(p.Name, intake.MaxNameBytes), Email: p.Email, SlackID: p.ID, Language: p.Lang},
		Description: intake.Clip(cleanText(text), intake.MaxTextBytes), Key: key, Agent: agent,
	}
	if at.Channel != "" {
		rep.Conversation = at.String()
	}
	for _, f := range extra {
		f(&rep)
	}
	inc, err := b.d.Incidents.Register(ctx, rep)
	if errors.Is(err, intake.ErrInvalid) && rep.Reporter.Email != "" {
		// An address the rules refuse must not cost the report.
		rep.Reporter.Email = ""
		inc, err = b.d.Incidents.Register(ctx, rep)
	}
	if errors.Is(err, intake.ErrInvalid) {
		// Nothing to register (an empty mention, say): the person is told.
		lang := p.Lang
		if lang == "" {
			lang = intake.English
		}
		if at.Channel != "" {
			b.afterAck(func(ctx context.Context) { b.ephemeral(ctx, at, user, lang, "describe_problem", view{}) })
		}
		return intake.InboundRecord{Outcome: intake.OutcomeIgnored, Reason: err.Error()}, nil
	}
	if err != nil {
		return intake.InboundRecord{}, err
	}
	if at.Channel != "" {
		if err := b.d.State.LinkThread(ctx, inc.ID, at.Channel, at.TS); err != nil {
			return intake.InboundRecord{}, err
		}
	}
	return intake.InboundRecord{Outcome: intake.OutcomeCreated, Incident: inc.ID}, nil
}

// comment adds what someone wrote in an incident's thread. The reporter's
// words are comments; someone else's count only when addressed to the bot
// (a mention), as a participant's. The reporter writing in the thread of a
// closed incident reports anew: a new incident, linked to the old one,
// which then owns the thread.
func (b *Bot) comment(ctx context.Context, key, id, user, text string, mentioned bool, at thread) (intake.InboundRecord, error) {
	inc, err := b.d.Incidents.Get(ctx, id)
	if err != nil {
		return intake.InboundRecord{}, err
	}
	if inc.State == intake.Closed && inc.Reporter.SlackID == user && at.Channel != "" {
		return b.report(ctx, key, user, "", text, at, func(r *intake.Report) { r.RelatedID = id })
	}
	kind := intake.ActorReporter
	if inc.Reporter.SlackID != user {
		if !mentioned {
			return intake.InboundRecord{Outcome: intake.OutcomeIgnored, Incident: id, Reason: "not the reporter, and not addressed to the bot"}, nil
		}
		kind = intake.ActorParticipant
	}
	p := b.personOrID(ctx, user)
	by := intake.Actor{Kind: kind, Name: p.Name, Via: "slack", Ref: key}
	if _, err := b.d.Incidents.Comment(ctx, id, by, cleanText(text)); err != nil {
		if errors.Is(err, intake.ErrInvalid) || errors.Is(err, intake.ErrConflict) {
			return intake.InboundRecord{Outcome: intake.OutcomeIgnored, Incident: id, Reason: err.Error()}, nil
		}
		return intake.InboundRecord{}, err
	}
	return intake.InboundRecord{Outcome: intake.OutcomeAppended, Incident: id}, nil
}

// withFiles names the files shared with a message: the text keeps what
// was shared even though the files stay in Slack.
func withFiles(text string, files []slackapi.File) string {
	for _, f := range files {
		text += fmt.Sprintf("\n[file: %s]", firstOf(f.Name, f.Title, f.ID))
	}
	return text
}

var slackMarkup = regexp.MustCompile(`<([@#!])?([^>|]*)(?:\|([^>]*))?>`)

// cleanText turns Slack's markup into plain text: <url|label> becomes
// "label (url)", mentions keep their id, entities are decoded.
func cleanText(s string) string {
	s = slackMarkup.ReplaceAllStringFunc(s, func(m string) string {
		p := slackMarkup.FindStringSubmatch(m)
		switch {
		case p[1] == "@" || p[1] == "#":
			return p[1] + firstOf(p[3], p[2])
		case p[1] == "!":
			return "@" + firstOf(p[3], p[2])
		case p[3] != "":
			return p[3] + " (" + p[2] + ")"
		}
		return p[2]
	})
	return strings.TrimSpace(html.UnescapeString(s))
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
