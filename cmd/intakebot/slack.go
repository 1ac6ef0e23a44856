package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/intakebot/intakebot/channels/portallink"
	slackchannel "github.com/intakebot/intakebot/channels/slack"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// slackChannel is the Slack channel as serve runs it.
type slackChannel struct {
	bot *slackchannel.Bot
	api *slackapi.Client
	cfg config.Slack
}

func newSlackChannel(ctx context.Context, cfg *config.Config, engine *workflow.Engine, store *redisstore.Store, ledger slackchannel.Ledger, links slackchannel.SurveyLinks,
	portalLinks *portallink.Signer, rules *intake.Rules, log *slog.Logger) (*slackChannel, error) {
	sc := cfg.Slack
	if !sc.Enabled() { // Validate checked the tokens and the mode
		return nil, nil
	}
	phrases, err := templates.LoadPhrasesFS(cfg.Templates.FS())
	if err != nil {
		return nil, err
	}
	// No Slack call may hang a handler or the outbox for good.
	opts := []slackapi.Option{slackapi.OptionAppLevelToken(sc.AppToken), slackapi.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second})}
	if sc.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(sc.APIURL))
	}
	api := slackapi.New(sc.BotToken, opts...)
	deps := slackchannel.Deps{
		Incidents: engine, Surveys: engine, Work: engine, Agents: store, Ledger: ledger, State: store, Locks: store,
		Links: links, Labels: rules, Phrases: phrases, Log: log.With("channel", "slack"), Now: time.Now,
		Workarounds: workflow.NewKnownErrors(engine, store),
	}
	if portalLinks != nil { // a nil signer must not become a non-nil interface
		deps.Portal = portalLinks
	}
	bot := slackchannel.New(slackchannel.Config{
		TriageChannel: sc.TriageChannel, TriageLang: intake.Lang(sc.TriageLanguage), Agents: sc.Agents,
		Groups: cfg.Groups, SurveyEmailReporters: sc.SurveyEmailReporters, OrgName: cfg.Org.Name,
	}, api, deps)
	// Connecting waits for the first event: Slack being down at start
	// must not keep the rest of the bot from running.
	return &slackChannel{bot: bot, api: api, cfg: sc}, nil
}

// run reads Socket Mode until ctx ends (http mode is served by the HTTP
// server instead).
func (s *slackChannel) run(ctx context.Context) error {
	if s.cfg.Mode != "socket" {
		return nil
	}
	return s.bot.RunSocket(ctx, socketmode.New(s.api))
}
