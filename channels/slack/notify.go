package slack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
	slackapi "github.com/slack-go/slack"
)

// noticeEvent names our messages' metadata: it carries the outbox id, so
// that a message posted just before a crash is found, not posted again.
const noticeEvent = "intakebot_notice"

// postLock is how long one bot may hold the right to post a message.
const postLock = time.Minute

// Notifier delivers the reporter's messages (the outbox's slack route).
type Notifier struct{ b *Bot }

// Notifier returns the channel's notifier for reporter messages.
func (b *Bot) Notifier() Notifier { return Notifier{b} }

// Deliver posts one message to the reporter: in the report's thread, or
// in a DM that then becomes the incident's thread.
func (n Notifier) Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	b := n.b
	lang := msg.Lang
	if !lang.Valid() {
		lang = inc.Reporter.Language
	}
	var text string
	var blocks []slackapi.Block
	switch msg.Kind {
	case intake.NoticeAck:
		text, blocks = b.ackBlocks(inc, lang)
	case intake.NoticeValidation, intake.NoticeSatisfaction:
		text, blocks = b.promptBlocks(inc, msg.Kind.SurveyStep(), msg.Round, lang)
	case intake.NoticeRemindValidation, intake.NoticeRemindSatisfaction:
		text, blocks = b.promptBlocks(inc, msg.Kind.SurveyStep(), msg.Round, lang)
		text = b.text(lang, "reminder", viewOf(inc)) + " " + text
		blocks[0] = section(text)
	case intake.NoticeNote:
		note, err := msg.Note(inc)
		if err != nil {
			return err
		}
		text, blocks = b.noteBlocks(inc, note, lang)
	case intake.NoticeReopened, intake.NoticeClosed:
		text = b.text(lang, string(msg.Kind), viewOf(inc))
		blocks = []slackapi.Block{section(text)}
	default:
		return fmt.Errorf("%w: slack has no message %q", intake.ErrUndeliverable, msg.Kind)
	}
	// The organisation signs every message to a reporter, as in mail.
	blocks = append(blocks, slackapi.NewContextBlock("signature", mrkdwn(b.text(lang, "signature", view{Org: esc(b.cfg.OrgName)}))))
	at, err := b.threadOf(ctx, inc)
	if err != nil {
		return err
	}
	if at.Channel == "" {
		user := firstOf(msg.SlackID, inc.Reporter.SlackID)
		if user == "" {
			return fmt.Errorf("%w: %s has no Slack thread and no Slack user", intake.ErrUndeliverable, inc.ID)
		}
		if at.Channel, err = b.dm(ctx, user); err != nil {
			return err
		}
	}
	// The acknowledgment's portal button goes with it in a DM; in a
	// channel's thread it goes to the reporter alone, afterwards.
	var portal slackapi.Block
	if msg.Kind == intake.NoticeAck {
		if portal = b.portalButton(inc, lang); portal != nil {
			private, err := b.privateTo(ctx, at, inc.Reporter.SlackID)
			if err != nil {
				return err
			}
			if private {
				blocks = append(blocks[:len(blocks)-1:len(blocks)-1], portal, blocks[len(blocks)-1])
				portal = nil
			}
		}
	}
	posted, err := b.postOnce(ctx, msg.ID, msg.Attempt > 1, at, text, blocks)
	if user := firstOf(msg.SlackID, inc.Reporter.SlackID); errors.Is(err, intake.ErrUndeliverable) && at.TS != "" && user != "" {
		// The report's channel is closed to the bot (archived, the bot
		// removed): the reporter still hears from us, by DM.
		b.d.Log.Warn("slack thread unreachable; answering by DM", "incident", inc.ID, "err", err)
		if at.Channel, err = b.dm(ctx, user); err != nil {
			return err
		}
		at.TS = ""
		posted, err = b.postOnce(ctx, msg.ID+":dm", true, at, text, blocks)
	}
	if err != nil {
		return err
	}
	if at.TS == "" {
		// The first message of a DM opens the incident's thread.
		if err := b.d.State.LinkThread(ctx, inc.ID, posted.Channel, posted.TS); err != nil {
			return err
		}
	}
	if portal != nil && at.TS != "" {
		b.portalEphemeral(ctx, inc, lang, at, portal)
	}
	if step := msg.Kind.SurveyStep(); step != "" {
		return b.notePrompt(ctx, inc.ID, step, posted)
	}
	return nil
}

// notePrompt remembers a posted question: each prompt, to close it when
// the question is answered or asked again, and the newest per step, the
// only one whose buttons still count.
func (b *Bot) notePrompt(ctx context.Context, id, step string, at thread) error {
	if err := b.d.State.SetSlackRef(ctx, id, "prompt:"+at.String(), step); err != nil {
		return err
	}
	return b.d.State.SetSlackRef(ctx, id, "latest_"+step, at.String())
}

// threadOf is where the incident's Slack conversation is: the thread the
// channel noted, else the one it was reported in, else none.
func (b *Bot) threadOf(ctx context.Context, inc *intake.Incident) (thread, error) {
	refs, err := b.d.State.SlackRefs(ctx, inc.ID)
	if err != nil {
		return thread{}, err
	}
	if t, ok := parseThread(refs["thread"]); ok {
		return t, nil
	}
	t, _ := parseThread(inc.Conversation)
	return t, nil
}

// dm opens (or finds) the DM channel with a user.
func (b *Bot) dm(ctx context.Context, user string) (string, error) {
	ch, _, _, err := b.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
	if err != nil {
		return "", slackError("conversations.open", err)
	}
	return ch.ID, nil
}

// postOnce posts a message whose metadata carries key. When an earlier
// attempt may have posted it (retry), it first looks for it in the thread
// or channel, so a crash between posting and recording sends nothing
// twice. A lock keeps two bots from posting it at the same time.
func (b *Bot) postOnce(ctx context.Context, key string, retry bool, at thread, text string, blocks []slackapi.Block) (thread, error) {
	token, err := b.d.Locks.Lock(ctx, "post:"+key, postLock)
	if err != nil {
		return thread{}, err
	}
	if token == "" {
		return thread{}, fmt.Errorf("another bot is posting %s", key)
	}
	defer func() {
		if err := b.d.Locks.Unlock(context.WithoutCancel(ctx), "post:"+key, token); err != nil {
			b.d.Log.Warn("slack post unlock", "key", key, "err", err)
		}
	}()
	if retry {
		if ts, err := b.findPosted(ctx, at, key); err != nil {
			return thread{}, err
		} else if ts != "" {
			return thread{at.Channel, ts}, nil
		}
	}
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...),
		slackapi.MsgOptionMetadata(slackapi.SlackMetadata{EventType: noticeEvent, EventPayload: map[string]any{"id": key}})}
	if at.TS != "" {
		opts = append(opts, slackapi.MsgOptionTS(at.TS))
	}
	channel, ts, err := b.api.PostMessageContext(ctx, at.Channel, opts...)
	if err != nil {
		return thread{}, slackError("chat.postMessage", err)
	}
	return thread{channel, ts}, nil
}

// findPosted returns the ts of our message with key in a thread (or in
// the channel's recent history), or "".
func (b *Bot) findPosted(ctx context.Context, at thread, key string) (string, error) {
	var msgs []slackapi.Message
	if at.TS != "" {
		replies, _, _, err := b.api.GetConversationRepliesContext(ctx, &slackapi.GetConversationRepliesParameters{
			ChannelID: at.Channel, Timestamp: at.TS, Limit: 200, IncludeAllMetadata: true})
		if err != nil {
			return "", slackError("conversations.replies", err)
		}
		msgs = replies
	} else {
		// A busy channel: look back a few pages, far enough for a retry
		// that comes within the outbox's backoff.
		cursor := ""
		for page := 0; page < 5; page++ {
			hist, err := b.api.GetConversationHistoryContext(ctx, &slackapi.GetConversationHistoryParameters{
				ChannelID: at.Channel, Limit: 200, Cursor: cursor, IncludeAllMetadata: true})
			if err != nil {
				return "", slackError("conversations.history", err)
			}
			msgs = append(msgs, hist.Messages...)
			if cursor = hist.ResponseMetaData.NextCursor; cursor == "" {
				break
			}
		}
	}
	for _, m := range msgs {
		if m.Metadata.EventType == noticeEvent && m.Metadata.EventPayload["id"] == key {
			return m.Timestamp, nil
		}
	}
	return "", nil
}

// errMessageGone is an update of a message someone deleted.
var errMessageGone = errors.New("the message is gone")

// slackError keeps Slack's wait on a 429 for the outbox, and marks what
// can never work (a channel that does not exist, a token without the
// scope) as undeliverable.
func slackError(method string, err error) error {
	var limited *slackapi.RateLimitedError
	if errors.As(err, &limited) {
		return &intake.RetryLater{After: limited.RetryAfter, Err: fmt.Errorf("slack %s: %w", method, err)}
	}
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		switch se.Err {
		case "channel_not_found", "not_in_channel", "is_archived", "user_not_found", "missing_scope", "invalid_blocks", "msg_too_long", "no_text":
			return fmt.Errorf("%w: slack %s: %s", intake.ErrUndeliverable, method, se.Err)
		case "message_not_found", "cant_update_message":
			return fmt.Errorf("%w: slack %s: %s", errMessageGone, method, se.Err)
		}
	}
	return fmt.Errorf("slack %s: %w", method, err)
}

// Watcher keeps Slack in step with incidents (the outbox's watch route):
// the triage message shows the incident as it is, prompts that were
// answered elsewhere lose their buttons, and e-mail reporters with a Slack
// account get the survey questions by DM too.
type Watcher struct{ b *Bot }

// Watcher returns the channel's watcher of change notices.
func (b *Bot) Watcher() Watcher { return Watcher{b} }

// Deliver brings Slack up to date with one incident.
func (w Watcher) Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	b := w.b
	refs, err := b.d.State.SlackRefs(ctx, inc.ID)
	if err != nil {
		return err
	}
	// Each step on its own: a triage channel the bot was removed from must
	// not keep reporters' prompts from being closed or asked.
	var errs []error
	if b.cfg.TriageChannel != "" {
		errs = append(errs, b.syncTriage(ctx, inc, refs))
	}
	errs = append(errs, b.closeStalePrompts(ctx, inc, refs))
	if b.cfg.SurveyEmailReporters && inc.ReplyChannel() == intake.ChannelEmail {
		errs = append(errs, b.promptByDM(ctx, inc, refs))
	}
	return errors.Join(errs...)
}

// syncTriage posts the incident's triage message once, then updates it.
func (b *Bot) syncTriage(ctx context.Context, inc *intake.Incident, refs map[string]string) error {
	text, blocks := b.triageBlocks(inc)
	if t, ok := parseThread(refs["triage"]); ok {
		_, _, _, err := b.api.UpdateMessageContext(ctx, t.Channel, t.TS,
			slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...))
		if err == nil {
			return b.announceFlags(ctx, inc, refs)
		}
		if err = slackError("chat.update", err); !errors.Is(err, errMessageGone) {
			return err
		}
		// Someone deleted the card: agents get a new one.
		b.d.Log.Warn("slack triage card is gone; posting a new one", "incident", inc.ID)
		return b.postTriage(ctx, inc, refs, "triage:"+inc.ID+":after:"+t.TS, true, text, blocks)
	}
	// The first bot to claim the post posts at once; any other (or a
	// retry after a crash) looks for the card first, under the lock.
	first, err := b.d.State.ClaimSlackRef(ctx, inc.ID, "triage_posting", "1")
	if err != nil {
		return err
	}
	return b.postTriage(ctx, inc, refs, "triage:"+inc.ID, !first, text, blocks)
}

func (b *Bot) postTriage(ctx context.Context, inc *intake.Incident, refs map[string]string, key string, search bool, text string, blocks []slackapi.Block) error {
	posted, err := b.postOnce(ctx, key, search, thread{Channel: b.cfg.TriageChannel}, text, blocks)
	if err != nil {
		return err
	}
	if err := b.d.State.SetSlackRef(ctx, inc.ID, "triage", posted.String()); err != nil {
		return err
	}
	refs["triage"] = posted.String()
	return b.announceFlags(ctx, inc, refs)
}

// announceFlags posts each SLA warning or breach once, in the thread of
// the incident's triage card, so that agents are told, not only shown.
func (b *Bot) announceFlags(ctx context.Context, inc *intake.Incident, refs map[string]string) error {
	card, ok := parseThread(refs["triage"])
	if !ok {
		return nil
	}
	for _, flag := range sortedFlags(inc.Flags) {
		if refs["announced_"+flag] != "" {
			continue
		}
		v := viewOf(inc)
		v.State = b.text(b.cfg.TriageLang, "flag_"+flag, v)
		text := b.text(b.cfg.TriageLang, "flag_raised", v)
		if _, err := b.postOnce(ctx, "flag:"+inc.ID+":"+flag, true, card, text, []slackapi.Block{section(text)}); err != nil {
			return err
		}
		if err := b.d.State.SetSlackRef(ctx, inc.ID, "announced_"+flag, "1"); err != nil {
			return err
		}
	}
	return nil
}

func sortedFlags(flags map[string]time.Time) []string {
	out := make([]string, 0, len(flags))
	for f := range flags {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		return flags[out[i]].Before(flags[out[j]]) || flags[out[i]].Equal(flags[out[j]]) && out[i] < out[j]
	})
	return out
}

// closeStalePrompts removes the buttons of prompts whose question is no
// longer open (answered on the web, by mail, by phone, or by the other
// prompt) or was asked again in a newer prompt.
func (b *Bot) closeStalePrompts(ctx context.Context, inc *intake.Incident, refs map[string]string) error {
	for name, step := range refs {
		ref, ok := strings.CutPrefix(name, "prompt:")
		at, valid := parseThread(ref)
		if !ok || !valid || refs["done_"+ref] != "" {
			continue
		}
		superseded := refs["latest_"+step] != ref
		if string(inc.State) == step && !superseded {
			continue
		}
		if err := b.closePromptAt(ctx, inc, step, at, superseded); err != nil {
			return err
		}
	}
	return nil
}

// closePromptAt replaces a prompt's buttons with the answer (or, for a
// prompt asked again later, a pointer to the newer one), once.
func (b *Bot) closePromptAt(ctx context.Context, inc *intake.Incident, step string, at thread, superseded bool) error {
	text, blocks := b.answeredBlocks(inc, step, inc.Reporter.Language)
	if superseded {
		text = b.text(inc.Reporter.Language, "superseded", viewOf(inc))
		blocks = []slackapi.Block{section(text)}
	}
	_, _, _, err := b.api.UpdateMessageContext(ctx, at.Channel, at.TS, slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(blocks...))
	if err != nil && !errors.Is(slackError("chat.update", err), errMessageGone) {
		return slackError("chat.update", err)
	}
	return b.d.State.SetSlackRef(ctx, inc.ID, "done_"+at.String(), "1")
}

func roundOf(inc *intake.Incident, step string) string {
	return inc.EnteredAt[intake.State(step)].UTC().Format(time.RFC3339Nano)
}

// promptByDM asks an e-mail reporter who is also a Slack user the open
// survey question in a DM, once per round.
func (b *Bot) promptByDM(ctx context.Context, inc *intake.Incident, refs map[string]string) error {
	step := string(inc.State)
	if step != intake.SurveyValidation && step != intake.SurveySatisfaction || inc.Reporter.Email == "" {
		return nil
	}
	round := roundOf(inc, step)
	if refs["dm_"+step] == round {
		return nil
	}
	user, err := b.api.GetUserByEmailContext(ctx, inc.Reporter.Email)
	if err != nil {
		var se slackapi.SlackErrorResponse
		if errors.As(err, &se) && se.Err == "users_not_found" {
			return nil // not a Slack user: the mail is the only way
		}
		return slackError("users.lookupByEmail", err)
	}
	channel, err := b.dm(ctx, user.ID)
	if err != nil {
		return err
	}
	text, blocks := b.promptBlocks(inc, step, inc.Round, inc.Reporter.Language)
	posted, err := b.postOnce(ctx, "dm:"+inc.ID+":"+step+":"+round, true, thread{Channel: channel}, text, blocks)
	if err != nil {
		return err
	}
	if err := b.notePrompt(ctx, inc.ID, step, posted); err != nil {
		return err
	}
	// A reply under the prompt is a comment on the incident.
	if err := b.d.State.LinkThread(ctx, inc.ID, posted.Channel, posted.TS); err != nil {
		return err
	}
	return b.d.State.SetSlackRef(ctx, inc.ID, "dm_"+step, round)
}
