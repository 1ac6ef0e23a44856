package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/intakebot/intakebot/intake"
	slackapi "github.com/slack-go/slack"
)

// HandleSlash answers a slash command (/incident): it opens the report
// form, with the command's text as the description. The answer is the
// command's response body, or nil for none.
func (b *Bot) HandleSlash(ctx context.Context, cmd slackapi.SlashCommand) (any, error) {
	if err := b.Connect(ctx); err != nil {
		return nil, err
	}
	if cmd.UserID == "" || cmd.TriggerID == "" {
		return nil, fmt.Errorf("%w: a slash command needs user_id and trigger_id", ErrBadPayload)
	}
	p := b.personOrID(ctx, cmd.UserID)
	lang := p.Lang
	if lang == "" {
		lang = intake.English
	}
	if _, err := b.api.OpenViewContext(ctx, cmd.TriggerID, b.reportModal(lang, cmd.Text)); err != nil {
		b.d.Log.Warn("slack views.open for /incident failed", "user", cmd.UserID, "err", err)
		return map[string]string{"response_type": "ephemeral", "text": b.text(lang, "failed", view{})}, nil
	}
	return nil, nil
}

// HandleInteraction handles a button click, a form submission or a
// shortcut (the JSON of the interaction payload). Effects are stored
// before it returns; messages to Slack follow the acknowledgment. The
// answer is the acknowledgment's body (form errors), or nil.
func (b *Bot) HandleInteraction(ctx context.Context, raw []byte) (any, error) {
	if err := b.Connect(ctx); err != nil {
		return nil, err
	}
	var cb slackapi.InteractionCallback
	if err := json.Unmarshal(raw, &cb); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	if cb.User.ID == "" {
		return nil, fmt.Errorf("%w: an interaction needs a user", ErrBadPayload)
	}
	switch cb.Type {
	case slackapi.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			if err := b.onAction(ctx, &cb, a); err != nil {
				return nil, err
			}
		}
	case slackapi.InteractionTypeViewSubmission:
		return b.onSubmit(ctx, &cb)
	case slackapi.InteractionTypeMessageAction:
		if cb.CallbackID == ShortcutCreate {
			return nil, b.onShortcut(ctx, &cb)
		}
	case slackapi.InteractionTypeShortcut:
		if cb.CallbackID == ShortcutReport {
			return b.HandleSlash(ctx, slackapi.SlashCommand{UserID: cb.User.ID, TriggerID: cb.TriggerID})
		}
	}
	return nil, nil
}

// onShortcut registers the message the shortcut was used on. Its author
// is the reporter (when a person); an agent using it on someone's message
// is recorded as the one who registered it.
func (b *Bot) onShortcut(ctx context.Context, cb *slackapi.InteractionCallback) error {
	msg := cb.Message
	channel := firstOf(cb.Channel.ID, cb.Container.ChannelID)
	if channel == "" || msg.Timestamp == "" {
		return fmt.Errorf("%w: a message shortcut needs the channel and message", ErrBadPayload)
	}
	reporter, agent := msg.User, ""
	if b.fromBot(msg.User, msg.BotID) {
		reporter = cb.User.ID
	} else if reporter != cb.User.ID {
		if a, ok, err := b.agent(ctx, cb.User.ID); err != nil {
			return err
		} else if ok {
			agent = a.Name
		}
	}
	key := "slack:shortcut:" + channel + ":" + msg.Timestamp
	root := thread{channel, firstOf(msg.ThreadTimestamp, msg.Timestamp)}
	return b.once(ctx, key, reporter, msg.Text, func(ctx context.Context) (intake.InboundRecord, error) {
		return b.report(ctx, key, reporter, agent, withFiles(msg.Text, msg.Files), root)
	})
}

// onSubmit handles the report, action and escalation forms.
func (b *Bot) onSubmit(ctx context.Context, cb *slackapi.InteractionCallback) (any, error) {
	values := cb.View.State
	value := func(block string) string {
		if values == nil {
			return ""
		}
		a := values.Values[block][block]
		return strings.TrimSpace(firstOf(a.Value, a.SelectedOption.Value))
	}
	switch cb.View.CallbackID {
	case viewReport:
		lang := intake.Lang(cb.View.PrivateMetadata)
		if !lang.Valid() {
			lang = intake.English
		}
		desc := value("description")
		if desc == "" {
			return slackapi.NewErrorsViewSubmissionResponse(map[string]string{"description": b.text(lang, "modal_required", view{})}), nil
		}
		urgency := intake.Level(value("urgency"))
		if !urgency.Valid() {
			urgency = ""
		}
		key := "slack:view:" + cb.View.ID
		ci := value("ci")
		return nil, b.once(ctx, key, cb.User.ID, desc, func(ctx context.Context) (intake.InboundRecord, error) {
			return b.report(ctx, key, cb.User.ID, "", desc, thread{}, func(r *intake.Report) {
				r.Urgency, r.CI = urgency, intake.Clip(ci, intake.MaxNameBytes)
			})
		})
	case viewAction, viewEscalate:
		id := cb.View.PrivateMetadata
		field := "text"
		if cb.View.CallbackID == viewEscalate {
			field = "level"
		}
		by, ok, err := b.agent(ctx, cb.User.ID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return slackapi.NewErrorsViewSubmissionResponse(map[string]string{field: b.text(b.cfg.TriageLang, "not_agent", view{ID: id})}), nil
		}
		// A form submitted twice (or delivered twice) acts once.
		by.Ref = "slack:view:" + cb.View.ID
		if cb.View.CallbackID == viewAction {
			add := b.d.Work.AddAction
			if ticked(values, publicBlock) {
				add = b.d.Work.AddPublicNote
			}
			_, err = add(ctx, id, by, value("text"))
		} else {
			level, _ := strconv.Atoi(value("level"))
			_, err = b.d.Work.Escalate(ctx, id, by, value("group"), level, "")
		}
		if msg, refused := b.refusal(err, id); refused {
			return slackapi.NewErrorsViewSubmissionResponse(map[string]string{field: msg}), nil
		}
		return nil, err
	}
	return nil, nil
}

// onAction handles one button.
func (b *Bot) onAction(ctx context.Context, cb *slackapi.InteractionCallback, a *slackapi.BlockAction) error {
	switch {
	case a.ActionID == actionPortal:
		return nil // a URL button: Slack opened the link
	case a.ActionID == actionYes || a.ActionID == actionNo || strings.HasPrefix(a.ActionID, actionRate):
		id, round, err := parseSurveyValue(a.Value)
		if err != nil {
			return fmt.Errorf("%w: button %s carries no incident id and round: %v", ErrBadPayload, a.ActionID, err)
		}
		return b.onSurvey(ctx, cb, a, id, round)
	case strings.HasPrefix(a.ActionID, actionSolved):
		id, article, ok := strings.Cut(a.Value, " ")
		if _, err := intake.ParseID(id); err != nil || !ok || article == "" {
			return fmt.Errorf("%w: button %s carries no incident and article", ErrBadPayload, a.ActionID)
		}
		return b.onSolved(ctx, cb, a, id, article)
	}
	if a.ActionID == actionWorkaround {
		id, ke, _ := strings.Cut(a.Value, " ")
		if _, err := intake.ParseID(id); err != nil || ke == "" {
			return fmt.Errorf("%w: button %s carries no incident and known error ids", ErrBadPayload, a.ActionID)
		}
		return b.onAgentButton(ctx, cb, a, id, ke)
	}
	if _, err := intake.ParseID(a.Value); err != nil {
		return fmt.Errorf("%w: button %s carries no incident id", ErrBadPayload, a.ActionID)
	}
	switch {
	case strings.HasPrefix(a.ActionID, "agent_"):
		return b.onAgentButton(ctx, cb, a, a.Value, "")
	}
	return nil
}

// onSurvey records the reporter's answer to the round of the question
// the button was posted for. Anyone else is told, privately, that only the
// reporter answers; a second click on the same prompt changes nothing; a
// button of a replaced round (or of a prompt posted before buttons
// carried a round) is refused privately and changes nothing.
func (b *Bot) onSurvey(ctx context.Context, cb *slackapi.InteractionCallback, a *slackapi.BlockAction, id string, round int64) error {
	user := cb.User.ID
	where := thread{firstOf(cb.Container.ChannelID, cb.Channel.ID), firstOf(cb.Container.MessageTs, cb.Message.Timestamp)}
	inc, err := b.d.Incidents.Get(ctx, id)
	if errors.Is(err, intake.ErrNotFound) {
		return fmt.Errorf("%w: no incident %s", ErrBadPayload, id)
	}
	if err != nil {
		return err
	}
	lang := inc.Reporter.Language
	reporter, err := b.isReporter(ctx, inc, user)
	if err != nil {
		return err
	}
	if !reporter {
		b.afterAck(func(ctx context.Context) {
			b.ephemeral(ctx, where, user, b.langOfUser(ctx, user, lang), "not_reporter", viewOf(inc))
		})
		return nil
	}
	step := intake.SurveyValidation
	if strings.HasPrefix(a.ActionID, actionRate) {
		step = intake.SurveySatisfaction
	}
	if string(inc.State) == step && round != inc.Round {
		b.afterAck(func(ctx context.Context) { b.ephemeral(ctx, where, user, lang, "replaced", viewOf(inc)) })
		return nil
	}
	refs, err := b.d.State.SlackRefs(ctx, id)
	if err != nil {
		return err
	}
	if refs["prompt:"+where.String()] != "" && refs["latest_"+step] != where.String() {
		// The question was asked again in a newer prompt: only that one counts.
		b.afterAck(func(ctx context.Context) {
			if err := b.closePromptAt(ctx, inc, step, where, true); err != nil {
				b.d.Log.Warn("slack prompt update failed", "incident", id, "err", err)
			}
		})
		return nil
	}
	// The round goes with the answer: the store refuses it atomically if
	// a newer round opened since the check above.
	by := intake.Actor{Kind: intake.ActorReporter, Name: firstOf(inc.Reporter.Name, inc.Reporter.Email, user), Via: "slack",
		Ref: "slack:click:" + where.TS + ":" + a.ActionID, Round: round}
	switch {
	case a.ActionID == actionYes:
		_, err = b.d.Surveys.AnswerValidation(ctx, id, by, true, "")
	case a.ActionID == actionNo:
		_, err = b.d.Surveys.AnswerValidation(ctx, id, by, false, "")
	default:
		rating, _ := strconv.Atoi(strings.TrimPrefix(a.ActionID, actionRate))
		_, err = b.d.Surveys.Rate(ctx, id, by, rating, "")
	}
	if err != nil && !errors.Is(err, intake.ErrConflict) && !errors.Is(err, intake.ErrForbidden) && !errors.Is(err, intake.ErrInvalid) {
		return err
	}
	if refused := (*intake.Refusal)(nil); errors.As(err, &refused) && refused.Code == intake.CodeReplaced {
		b.afterAck(func(ctx context.Context) { b.ephemeral(ctx, where, user, lang, "replaced", viewOf(inc)) })
		return nil
	}
	if err != nil {
		b.d.Log.Info("slack survey click changed nothing", "incident", id, "user", user, "err", err)
	}
	// Answered now or before: the prompt shows the answer and loses its buttons.
	b.afterAck(func(ctx context.Context) {
		inc, err := b.d.Incidents.Get(ctx, id)
		if err == nil {
			err = b.closePromptAt(ctx, inc, step, where, false)
		}
		if err != nil {
			b.d.Log.Warn("slack prompt update failed", "incident", id, "err", err)
		}
	})
	return nil
}

// onSolved records the reporter's "this solved my problem" on an article
// the acknowledgment offered. Anyone else is told privately that only the
// reporter answers; a click after an agent asked to validate changes
// nothing and says the question is no longer open.
func (b *Bot) onSolved(ctx context.Context, cb *slackapi.InteractionCallback, a *slackapi.BlockAction, id, article string) error {
	user := cb.User.ID
	where := thread{firstOf(cb.Container.ChannelID, cb.Channel.ID), firstOf(cb.Container.MessageTs, cb.Message.Timestamp)}
	inc, err := b.d.Incidents.Get(ctx, id)
	if errors.Is(err, intake.ErrNotFound) {
		return fmt.Errorf("%w: no incident %s", ErrBadPayload, id)
	}
	if err != nil {
		return err
	}
	lang := inc.Reporter.Language
	reporter, err := b.isReporter(ctx, inc, user)
	if err != nil {
		return err
	}
	if !reporter {
		b.afterAck(func(ctx context.Context) {
			b.ephemeral(ctx, where, user, b.langOfUser(ctx, user, lang), "not_reporter", viewOf(inc))
		})
		return nil
	}
	by := intake.Actor{Kind: intake.ActorReporter, Name: firstOf(inc.Reporter.Name, inc.Reporter.Email, user), Via: "slack",
		Ref: "slack:click:" + where.TS + ":" + a.ActionID}
	_, err = b.d.Surveys.Solved(ctx, id, by, article)
	phrase := "solved_done"
	switch {
	case errors.Is(err, intake.ErrConflict), errors.Is(err, intake.ErrForbidden), errors.Is(err, intake.ErrInvalid):
		b.d.Log.Info("slack solved click changed nothing", "incident", id, "user", user, "err", err)
		phrase = "not_open"
	case err != nil:
		return err
	}
	b.afterAck(func(ctx context.Context) { b.ephemeral(ctx, where, user, lang, phrase, viewOf(inc)) })
	return nil
}

// isReporter tells whether a Slack user is the incident's reporter: the
// same Slack user, or, for a report by e-mail, a user with that address.
func (b *Bot) isReporter(ctx context.Context, inc *intake.Incident, user string) (bool, error) {
	if inc.Reporter.SlackID != "" {
		return inc.Reporter.SlackID == user, nil
	}
	if inc.Reporter.Email == "" {
		return false, nil
	}
	p, err := b.person(ctx, user)
	if err != nil {
		return false, err
	}
	return p.Email != "" && strings.EqualFold(p.Email, inc.Reporter.Email), nil
}

func (b *Bot) langOfUser(ctx context.Context, user string, fallback intake.Lang) intake.Lang {
	if p, err := b.person(ctx, user); err == nil && p.Lang != "" {
		return p.Lang
	}
	return fallback
}

// onAgentButton applies an agent's button through the workflow rules; a
// refusal is explained privately. Buttons that need more open a form.
// ke is the known error a workaround button names.
func (b *Bot) onAgentButton(ctx context.Context, cb *slackapi.InteractionCallback, a *slackapi.BlockAction, id, ke string) error {
	user := cb.User.ID
	where := thread{firstOf(cb.Container.ChannelID, cb.Channel.ID), ""}
	lang := b.cfg.TriageLang
	by, ok, err := b.agent(ctx, user)
	if err != nil {
		return err
	}
	if !ok {
		b.afterAck(func(ctx context.Context) { b.ephemeral(ctx, where, user, lang, "not_agent", view{ID: id}) })
		return nil
	}
	by.Ref = "slack:click:" + cb.Container.MessageTs + ":" + a.ActionID + ":" + cb.ActionTs
	switch a.ActionID {
	case actionAddNote, actionEscalate:
		modal := b.actionModal(id)
		if a.ActionID == actionEscalate {
			modal = b.escalateModal(id)
		}
		// The trigger lives 3 seconds: the form opens before the ack.
		if _, err := b.api.OpenViewContext(ctx, cb.TriggerID, modal); err != nil {
			b.d.Log.Warn("slack views.open failed", "incident", id, "err", err)
			b.afterAck(func(ctx context.Context) { b.ephemeral(ctx, where, user, lang, "failed", view{ID: id}) })
		}
		return nil
	case actionTake:
		_, err = b.d.Work.Assign(ctx, id, by, by.Name, "")
	case actionSolution:
		_, err = b.d.Work.Move(ctx, id, by, intake.Solution, "")
	case actionValidate:
		_, err = b.d.Work.Move(ctx, id, by, intake.Validation, "")
	case actionClose:
		_, err = b.d.Work.Move(ctx, id, by, intake.Closed, "")
	case actionWorkaround:
		if b.d.Workarounds == nil {
			return nil
		}
		_, err = b.d.Workarounds.ApplyWorkaround(ctx, id, by, ke)
	default:
		return nil
	}
	if msg, refused := b.refusal(err, id); refused {
		b.afterAck(func(ctx context.Context) { b.ephemeralText(ctx, where, user, msg) })
		return nil
	}
	return err
}

// refusal explains, in the triage language, why the workflow refused.
func (b *Bot) refusal(err error, id string) (string, bool) {
	var refused *intake.Refusal
	lang := b.cfg.TriageLang
	switch {
	case errors.As(err, &refused):
		v := view{ID: id, State: b.stateName(refused.State, lang)}
		switch refused.Code {
		case intake.CodeLocked:
			return b.text(lang, "refused_locked", v), true
		case intake.CodeClosed:
			return b.text(lang, "refused_closed", v), true
		case intake.CodeForbidden:
			return b.text(lang, "refused_forbidden", v), true
		}
		return b.text(lang, "refused", v), true
	case errors.Is(err, intake.ErrInvalid), errors.Is(err, intake.ErrNotFound):
		b.d.Log.Info("slack agent input refused", "incident", id, "err", err)
		return b.text(lang, "invalid_input", view{ID: id}), true
	}
	return "", false
}

func (b *Bot) ephemeral(ctx context.Context, where thread, user string, lang intake.Lang, phrase string, v view) {
	b.ephemeralText(ctx, where, user, b.text(lang, phrase, v))
}

func (b *Bot) ephemeralText(ctx context.Context, where thread, user, text string) {
	if where.Channel == "" {
		return
	}
	if _, err := b.api.PostEphemeralContext(ctx, where.Channel, user, slackapi.MsgOptionText(text, false)); err != nil {
		b.d.Log.Warn("slack ephemeral failed", "user", user, "err", err)
	}
}

// ticked tells whether the form's checkbox named name (block, element and
// option alike) was ticked.
func ticked(state *slackapi.ViewState, name string) bool {
	if state == nil {
		return false
	}
	for _, o := range state.Values[name][name].SelectedOptions {
		if o.Value == name {
			return true
		}
	}
	return false
}
