package slack

import (
	"context"
	"strings"
	"unicode"

	"github.com/intakebot/intakebot/intake"
	slackapi "github.com/slack-go/slack"
)

// PortalLinks signs the reporters' portal links (portallink.Signer): the
// link that opens one incident for its reporter, and a single-use sign-in
// link. Both sign in whoever follows them as email, so the bot shows them
// only where nobody but that person can see them.
type PortalLinks interface {
	Incident(id, email string) (string, error)
	SignInURL(email string) (string, error)
}

// actionPortal is the acknowledgment's "View in the portal" URL button:
// Slack opens the link itself and still reports the click, which changes
// nothing.
const actionPortal = "reporter_portal"

// portalButton is the reporter's link to their incident in the portal, as
// a URL button; nil when the portal is off or the reporter's address is
// unknown (no address, no portal account).
func (b *Bot) portalButton(inc *intake.Incident, lang intake.Lang) slackapi.Block {
	if b.d.Portal == nil || inc.Reporter.Email == "" {
		return nil
	}
	link, err := b.d.Portal.Incident(inc.ID, inc.Reporter.Email)
	if err != nil {
		// An address the signer refuses costs the button, not the message.
		b.d.Log.Warn("slack portal link", "incident", inc.ID, "err", err)
		return nil
	}
	btn := slackapi.NewButtonBlockElement(actionPortal, inc.ID, plain(b.text(lang, "portal_button", viewOf(inc)))).WithURL(link)
	return actions("portal", btn)
}

// privateTo tells whether at is the DM between the bot and user, the one
// place a message with someone's portal link may go: in a channel thread
// anyone could follow it and be signed in as the reporter.
func (b *Bot) privateTo(ctx context.Context, at thread, user string) (bool, error) {
	if at.Channel == "" || user == "" {
		return at.Channel == "", nil // no thread yet: the message opens a DM
	}
	dm, err := b.dm(ctx, user)
	if err != nil {
		return false, err
	}
	return dm == at.Channel, nil
}

// asksForPortal tells whether a message is the reporter asking for their
// portal link: the single word "portal" (the same in English and
// Spanish), in any case, with punctuation around it.
func asksForPortal(text string) bool {
	w := strings.TrimFunc(text, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) })
	return strings.EqualFold(w, "portal")
}

// givePortalLink answers "portal" with a sign-in link bound to the
// asker's own Slack address, shown only to them (an ephemeral message in
// the conversation they asked in). Without an address they are told why
// there is no link. The answer is recorded once; Slack's retry of the
// same event sends nothing more.
func (b *Bot) givePortalLink(ctx context.Context, key string, s said) error {
	return b.once(ctx, key, s.user, s.text, func(ctx context.Context) (intake.InboundRecord, error) {
		p := b.personOrID(ctx, s.user)
		lang := p.Lang
		if lang == "" {
			lang = intake.English
		}
		where := thread{s.channel, s.threadTS}
		phrase, v := "portal_no_email", view{}
		if p.Email != "" {
			link, err := b.d.Portal.SignInURL(p.Email)
			if err == nil {
				phrase, v = "portal_signin", view{URL: esc(link)}
			} else {
				b.d.Log.Warn("slack portal sign-in link", "user", s.user, "err", err)
			}
		}
		b.afterAck(func(ctx context.Context) {
			text := b.text(lang, phrase, v)
			opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, false)}
			if where.TS != "" {
				opts = append(opts, slackapi.MsgOptionTS(where.TS))
			}
			if _, err := b.api.PostEphemeralContext(ctx, where.Channel, s.user, opts...); err != nil {
				b.d.Log.Warn("slack ephemeral failed", "user", s.user, "err", err)
			}
		})
		return intake.InboundRecord{Outcome: intake.OutcomeIgnored, Reason: "asked for a portal link (" + phrase + ")"}, nil
	})
}

// portalEphemeral shows the reporter alone the portal button of an
// acknowledgment posted in a channel's thread. It is a courtesy: a failure
// is logged, and the acknowledgment stands.
func (b *Bot) portalEphemeral(ctx context.Context, inc *intake.Incident, lang intake.Lang, at thread, portal slackapi.Block) {
	text := b.text(lang, "portal_private", viewOf(inc))
	if _, err := b.api.PostEphemeralContext(ctx, at.Channel, inc.Reporter.SlackID, slackapi.MsgOptionText(text, false),
		slackapi.MsgOptionBlocks(section(text), portal), slackapi.MsgOptionTS(at.TS)); err != nil {
		b.d.Log.Warn("slack portal ephemeral failed", "incident", inc.ID, "err", err)
	}
}
