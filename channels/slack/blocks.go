package slack

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/intakebot/intakebot/intake"
	slackapi "github.com/slack-go/slack"
)

// Ids of what people click and submit. The incident id travels in the
// button's value or the modal's private metadata.
const (
	actionYes      = "survey_yes"
	actionNo       = "survey_no"
	actionRate     = "survey_rate_" // + 1..5
	actionTake     = "agent_take"
	actionAddNote  = "agent_action"
	actionSolution = "agent_solution"
	actionValidate = "agent_validate"
	actionEscalate = "agent_escalate"
	actionClose    = "agent_close"
	// actionWorkaround's value is "INC-000001 KE-000001": the known error
	// the card showed, so a click applies what the agent saw.
	actionWorkaround = "agent_workaround"
	// actionSolved + N is the reporter's "this solved my problem" on the
	// N-th article the acknowledgment offered; its value is "ID ARTICLE".
	actionSolved = "reporter_solved_"

	viewReport   = "intakebot_report"
	viewAction   = "intakebot_action"
	viewEscalate = "intakebot_escalate"
	// ShortcutCreate is the callback id of the "Create incident" message
	// shortcut in the app's manifest.
	ShortcutCreate = "intakebot_create_incident"
	// ShortcutReport is the callback id of an optional global shortcut
	// that opens the report form.
	ShortcutReport = "intakebot_report_incident"
)

// plain is a label or title (Slack allows 150 characters there);
// plainText is longer plain text (context elements take 2000).
func plain(s string) *slackapi.TextBlockObject { return plainText(s, 150) }

func plainText(s string, n int) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, intake.Clip(s, n), false, false)
}

func mrkdwn(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.MarkdownType, intake.Clip(s, 3000), false, false)
}

func section(s string) slackapi.Block { return slackapi.NewSectionBlock(mrkdwn(s), nil, nil) }

func button(id, label, value string, style slackapi.Style) *slackapi.ButtonBlockElement {
	b := slackapi.NewButtonBlockElement(id, value, plain(label))
	if style != "" {
		b = b.WithStyle(style)
	}
	return b
}

func actions(blockID string, elems ...slackapi.BlockElement) slackapi.Block {
	return slackapi.NewActionBlock(blockID, elems...)
}

// fields shows an incident's facts as "*label*\nvalue" pairs.
func (b *Bot) fields(lang intake.Lang, pairs ...string) slackapi.Block {
	var out []*slackapi.TextBlockObject
	for i := 0; i+1 < len(pairs); i += 2 {
		if pairs[i+1] == "" {
			continue
		}
		out = append(out, mrkdwn("*"+b.text(lang, pairs[i], view{})+"*\n"+pairs[i+1]))
	}
	return slackapi.NewSectionBlock(nil, out, nil)
}

func (b *Bot) label(name string, lang intake.Lang) string {
	if b.d.Labels == nil || name == "" {
		return esc(name)
	}
	return esc(b.d.Labels.Label(name, lang))
}

func (b *Bot) stateName(s intake.State, lang intake.Lang) string {
	return b.text(lang, "state_"+string(s), view{})
}

// ackBlocks acknowledge a report: id, category, priority and next steps.
func (b *Bot) ackBlocks(inc *intake.Incident, lang intake.Lang) (string, []slackapi.Block) {
	head := b.text(lang, string(intake.NoticeAck), viewOf(inc))
	next := "ack_next"
	if inc.ParentID != "" {
		next = "ack_outage" // a child of an outage: known, being worked on
	}
	blocks := []slackapi.Block{
		section(head),
		b.fields(lang, "category", b.label(inc.Category, lang), "priority", b.priorityName(inc.Priority, lang), "service", b.label(inc.CI, lang)),
		slackapi.NewContextBlock("", mrkdwn(b.text(lang, next, viewOf(inc)))),
	}
	// Public articles in the reporter's language above the threshold,
	// each with its button: nothing below it, a wrong one is worse.
	if offered := inc.ReporterSuggestions(b.d.Surveys.MinScore()); len(offered) > 0 {
		blocks = append(blocks, section(b.text(lang, "offer_articles", viewOf(inc))))
		for i, s := range offered {
			v := viewOf(inc)
			v.Title = esc(s.Title)
			blocks = append(blocks, slackapi.NewSectionBlock(mrkdwn("*"+v.Title+"*"), nil,
				slackapi.NewAccessory(button(actionSolved+strconv.Itoa(i+1), b.text(lang, "solved_button", v), inc.ID+" "+s.ID, slackapi.StylePrimary))))
		}
	}
	return head, blocks
}

// priorityName is the priority in the reporter's words ("High"), as in
// mail; the bare P2 when there is no phrase for it.
func (b *Bot) priorityName(p intake.Priority, lang intake.Lang) string {
	if s, err := b.d.Phrases.Text(string(lang), "priority_"+string(p), view{}); err == nil {
		return s
	}
	return string(p)
}

// promptBlocks ask one round of the validation (yes/no) or satisfaction
// (1-5) question: the buttons and the web link carry the round, so that
// they answer that round and no later one.
func (b *Bot) promptBlocks(inc *intake.Incident, step string, round int64, lang intake.Lang) (string, []slackapi.Block) {
	v := viewOf(inc)
	question := b.text(lang, step, v)
	value := surveyValue(inc.ID, round)
	var buttons []slackapi.BlockElement
	if step == intake.SurveyValidation {
		buttons = append(buttons, button(actionYes, b.text(lang, "yes", v), value, slackapi.StylePrimary),
			button(actionNo, b.text(lang, "no", v), value, slackapi.StyleDanger))
	} else {
		for r := 1; r <= 5; r++ {
			buttons = append(buttons, button(actionRate+strconv.Itoa(r), strconv.Itoa(r), value, ""))
		}
	}
	blocks := []slackapi.Block{section(question), actions("survey_"+step, buttons...)}
	if b.d.Links != nil && round > 0 {
		if url, err := b.d.Links.Link(inc.ID, step, round); err == nil {
			v.URL = url
			blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(b.text(lang, "web_link", v))))
		}
	}
	return question, blocks
}

// answeredBlocks replace a prompt once it is answered: the answer, no buttons.
func (b *Bot) answeredBlocks(inc *intake.Incident, step string, lang intake.Lang) (string, []slackapi.Block) {
	v := viewOf(inc)
	name := "answered_elsewhere"
	if s, ok := lastSurvey(inc, step); ok {
		switch {
		case step == intake.SurveySatisfaction:
			name, v.Rating = "answered_rating", s.Rating
		case s.Answer == "yes":
			name = "answered_yes"
		default:
			name = "answered_no"
		}
	}
	text := b.text(lang, name, v)
	return text, []slackapi.Block{section(text)}
}

// triageBlocks show an incident to agents, with the buttons that fit its state.
func (b *Bot) triageBlocks(inc *intake.Incident) (string, []slackapi.Block) {
	lang := b.cfg.TriageLang
	v := viewOf(inc)
	head := b.text(lang, "triage", v)
	owner := esc(inc.Owner)
	if owner == "" {
		owner = "_" + b.text(lang, "nobody", v) + "_"
	}
	group := b.label(inc.Group, lang)
	if inc.Level > 0 {
		group += " · L" + strconv.Itoa(inc.Level)
	}
	reporter := esc(firstOf(inc.Reporter.Name, inc.Reporter.Email))
	if inc.Reporter.SlackID != "" {
		reporter = "<@" + inc.Reporter.SlackID + ">"
	}
	blocks := []slackapi.Block{
		section(head),
		b.fields(lang, "state", "*"+b.stateName(inc.State, lang)+"*", "priority", string(inc.Priority),
			"category", b.label(inc.Category, lang), "service", b.label(inc.CI, lang),
			"owner", owner, "group", group, "reporter", reporter, "known_error", inc.KnownError),
	}
	var marks []string
	for _, flag := range sortedFlags(inc.Flags) {
		marks = append(marks, ":warning: "+b.text(lang, "flag_"+flag, v))
	}
	if inc.Repeats > 0 {
		v.Rating = inc.Repeats
		marks = append(marks, b.text(lang, "repeats", v))
	}
	if len(marks) > 0 {
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(strings.Join(marks, " · "))))
	}
	if desc := intake.Clip(inc.Description, 500); desc != "" && desc != inc.Subject {
		blocks = append(blocks, slackapi.NewContextBlock("", plainText(desc, 2000)))
	}
	// What the knowledge base found at registration, and why (score,
	// matching words), so the agent can start from it.
	if len(inc.Suggestions) > 0 {
		lines := []string{"*" + b.text(lang, "suggested", v) + "*"}
		for _, s := range inc.Suggestions {
			lines = append(lines, fmt.Sprintf("• %s `%s` · %.1f · %s", esc(s.Title), esc(s.ID), s.Score, esc(strings.Join(s.Terms, ", "))))
		}
		blocks = append(blocks, slackapi.NewContextBlock("", mrkdwn(strings.Join(lines, "\n"))))
	}
	var buttons []slackapi.BlockElement
	add := func(id, phrase string, style slackapi.Style) {
		buttons = append(buttons, button(id, b.text(lang, phrase, v), inc.ID, style))
	}
	switch inc.State {
	case intake.Analysis:
		add(actionTake, "triage_take", slackapi.StylePrimary)
		add(actionAddNote, "triage_action", "")
		add(actionSolution, "triage_solution", "")
		add(actionEscalate, "triage_escalate", "")
	case intake.Solution:
		add(actionTake, "triage_take", "")
		add(actionAddNote, "triage_action", "")
		add(actionValidate, "triage_validate", slackapi.StylePrimary)
		add(actionEscalate, "triage_escalate", "")
	case intake.Review:
		add(actionClose, "triage_close", slackapi.StylePrimary)
	}
	if b.d.Workarounds != nil && inc.KnownError != "" && (inc.State == intake.Analysis || inc.State == intake.Solution) {
		v.KnownError = inc.KnownError
		buttons = append(buttons, button(actionWorkaround, b.text(lang, "triage_workaround", v), inc.ID+" "+inc.KnownError, ""))
	}
	if len(buttons) > 0 {
		blocks = append(blocks, actions("triage", buttons...))
	}
	return head, blocks
}

// reportModal is the /incident form.
func (b *Bot) reportModal(lang intake.Lang, initial string) slackapi.ModalViewRequest {
	v := view{}
	desc := slackapi.NewPlainTextInputBlockElement(nil, "description")
	desc.Multiline = true
	desc.InitialValue = intake.Clip(initial, 3000)
	ci := slackapi.NewPlainTextInputBlockElement(nil, "ci")
	var opts []*slackapi.OptionBlockObject
	for _, l := range []intake.Level{intake.High, intake.Medium, intake.Low} {
		opts = append(opts, slackapi.NewOptionBlockObject(string(l), plain(b.text(lang, "urgency_"+string(l), v)), nil))
	}
	urgency := slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, nil, "urgency", opts...)
	ciBlock := slackapi.NewInputBlock("ci", plain(b.text(lang, "modal_ci", v)), nil, ci)
	ciBlock.Optional = true
	urgencyBlock := slackapi.NewInputBlock("urgency", plain(b.text(lang, "modal_urgency", v)), nil, urgency)
	urgencyBlock.Optional = true
	return slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      viewReport,
		PrivateMetadata: string(lang),
		Title:           plain(intake.Clip(b.text(lang, "modal_title", v), 24)),
		Submit:          plain(b.text(lang, "modal_submit", v)),
		Close:           plain(b.text(lang, "modal_cancel", v)),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			slackapi.NewInputBlock("description", plain(b.text(lang, "modal_description", v)), nil, desc),
			ciBlock, urgencyBlock,
		}},
	}
}

// actionModal asks an agent for an action's text, and whether the
// reporter is told it (a public note).
func (b *Bot) actionModal(id string) slackapi.ModalViewRequest {
	lang, v := b.cfg.TriageLang, view{ID: id}
	text := slackapi.NewPlainTextInputBlockElement(nil, "text")
	text.Multiline = true
	public := slackapi.NewInputBlock(publicBlock, plain(b.text(lang, "action_public_label", v)), nil,
		slackapi.NewCheckboxGroupsBlockElement(publicBlock,
			slackapi.NewOptionBlockObject(publicBlock, plain(b.text(lang, "action_public", v)), nil)))
	public.Optional = true
	return slackapi.ModalViewRequest{
		Type: slackapi.VTModal, CallbackID: viewAction, PrivateMetadata: id,
		Title:  plain(intake.Clip(b.text(lang, "action_title", v), 24)),
		Submit: plain(b.text(lang, "action_submit", v)),
		Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
			slackapi.NewInputBlock("text", plain(b.text(lang, "action_text", v)), nil, text),
			public,
		}},
	}
}

// escalateModal asks an agent for the group and level to escalate to.
func (b *Bot) escalateModal(id string) slackapi.ModalViewRequest {
	lang, v := b.cfg.TriageLang, view{ID: id}
	var groups []*slackapi.OptionBlockObject
	for _, g := range b.cfg.Groups {
		groups = append(groups, slackapi.NewOptionBlockObject(g, plain(b.label(g, lang)), nil))
	}
	var levels []*slackapi.OptionBlockObject
	for l := 1; l <= 3; l++ {
		levels = append(levels, slackapi.NewOptionBlockObject(strconv.Itoa(l), plain("L"+strconv.Itoa(l)), nil))
	}
	groupBlock := slackapi.NewInputBlock("group", plain(b.text(lang, "escalate_group", v)), nil,
		slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, nil, "group", groups...))
	groupBlock.Optional = true
	levelBlock := slackapi.NewInputBlock("level", plain(b.text(lang, "escalate_level", v)), nil,
		slackapi.NewOptionsSelectBlockElement(slackapi.OptTypeStatic, nil, "level", levels...))
	levelBlock.Optional = true
	var blocks []slackapi.Block
	if len(groups) > 0 {
		blocks = append(blocks, groupBlock)
	}
	blocks = append(blocks, levelBlock)
	return slackapi.ModalViewRequest{
		Type: slackapi.VTModal, CallbackID: viewEscalate, PrivateMetadata: id,
		Title:  plain(intake.Clip(b.text(lang, "escalate_title", v), 24)),
		Submit: plain(b.text(lang, "escalate_submit", v)),
		Blocks: slackapi.Blocks{BlockSet: blocks},
	}
}

// lastSurvey is the newest answer to a step.
func lastSurvey(inc *intake.Incident, step string) (intake.SurveyResult, bool) {
	for i := len(inc.Surveys) - 1; i >= 0; i-- {
		if inc.Surveys[i].Step == step {
			return inc.Surveys[i], true
		}
	}
	return intake.SurveyResult{}, false
}

// surveyValue is a survey button's value: the incident and the round of
// the question ("INC-000123:2"). A button without a round (posted before
// buttons carried one) answers no round.
func surveyValue(id string, round int64) string {
	if round <= 0 {
		return id
	}
	return id + ":" + strconv.FormatInt(round, 10)
}

// parseSurveyValue reads a survey button's value; round is 0 when the
// value carries none.
func parseSurveyValue(value string) (id string, round int64, err error) {
	id, r, hasRound := strings.Cut(value, ":")
	if _, err := intake.ParseID(id); err != nil {
		return "", 0, err
	}
	if hasRound {
		round, err = strconv.ParseInt(r, 10, 64)
		if err != nil || round <= 0 || strconv.FormatInt(round, 10) != r {
			return "", 0, fmt.Errorf("%w: %q is not a survey round", intake.ErrInvalid, intake.Clip(r, 20))
		}
	}
	return id, round, nil
}

// publicBlock is the action form's "tell the reporter" checkbox (block,
// element and option share the name).
const publicBlock = "public"

// noteBlocks is a public note as the reporter reads it: which incident,
// then the agent's words, quoted.
func (b *Bot) noteBlocks(inc *intake.Incident, note intake.Action, lang intake.Lang) (string, []slackapi.Block) {
	head := b.text(lang, "note", viewOf(inc))
	lines := strings.Split(strings.TrimSpace(strings.ReplaceAll(note.Text, "\r\n", "\n")), "\n")
	for i, l := range lines {
		lines[i] = "> " + esc(l)
	}
	quoted := strings.Join(lines, "\n")
	return head + "\n" + quoted, []slackapi.Block{section(head), section(quoted)}
}
