package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	slackchannel "github.com/intakebot/intakebot/channels/slack"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// SlackConfig is the slack: section.
type SlackConfig struct {
	// Mode is socket (Socket Mode: no public URL) or http (Events API).
	Mode          string `yaml:"mode"`
	AppToken      string `yaml:"app_token"`
	BotToken      string `yaml:"bot_token"`
	SigningSecret string `yaml:"signing_secret"`
	// APIURL overrides Slack's Web API base URL (proxies, tests).
	APIURL         string `yaml:"api_url"`
	TriageChannel  string `yaml:"triage_channel"`
	TriageLanguage string `yaml:"triage_language"`
	// Agents maps Slack user ids to agent names.
	Agents map[string]string `yaml:"agents"`
	// SurveyEmailReporters also asks e-mail reporters with a Slack account
	// (same address) the survey questions by DM.
	SurveyEmailReporters bool `yaml:"survey_email_reporters"`
}

func (c SlackConfig) enabled() bool { return c.BotToken != "" }

func (c SlackConfig) check() error {
	if !strings.HasPrefix(c.BotToken, "xoxb-") {
		return fmt.Errorf("slack.bot_token must be a bot token (xoxb-...)")
	}
	switch c.Mode {
	case "socket":
		if !strings.HasPrefix(c.AppToken, "xapp-") {
			return fmt.Errorf("slack.mode socket needs slack.app_token (xapp-..., with connections:write)")
		}
	case "http":
		if c.SigningSecret == "" {
			return fmt.Errorf("slack.mode http needs slack.signing_secret")
		}
	default:
		return fmt.Errorf("slack.mode must be socket or http, not %q", c.Mode)
	}
	if l := intake.Lang(c.TriageLanguage); !l.Valid() {
		return fmt.Errorf("slack.triage_language must be en or es, not %q", c.TriageLanguage)
	}
	return nil
}

// slackChannel is the Slack channel as serve runs it.
type slackChannel struct {
	bot *slackchannel.Bot
	api *slackapi.Client
	cfg SlackConfig
}

func newSlackChannel(ctx context.Context, cfg *Config, engine *workflow.Engine, store *redisstore.Store, ledger slackchannel.Ledger, links slackchannel.SurveyLinks,
	rules *intake.Rules, log *slog.Logger) (*slackChannel, error) {
	sc := cfg.Slack
	if !sc.enabled() {
		return nil, nil
	}
	if err := sc.check(); err != nil {
		return nil, err
	}
	phrases, err := templates.LoadPhrases()
	if err != nil {
		return nil, err
	}
	// No Slack call may hang a handler or the outbox for good.
	opts := []slackapi.Option{slackapi.OptionAppLevelToken(sc.AppToken), slackapi.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second})}
	if sc.APIURL != "" {
		opts = append(opts, slackapi.OptionAPIURL(sc.APIURL))
	}
	api := slackapi.New(sc.BotToken, opts...)
	bot := slackchannel.New(slackchannel.Config{
		TriageChannel: sc.TriageChannel, TriageLang: intake.Lang(sc.TriageLanguage), Agents: sc.Agents,
		Groups: cfg.Groups, SurveyEmailReporters: sc.SurveyEmailReporters,
	}, api, slackchannel.Deps{
		Incidents: engine, Surveys: engine, Work: engine, Agents: store, Ledger: ledger, State: store, Locks: store,
		Links: links, Labels: rules, Phrases: phrases, Log: log.With("channel", "slack"), Now: time.Now,
	})
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
