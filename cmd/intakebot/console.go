package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/web/console"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
)

// Sign-in failures allowed per account and per client address in a window.
const (
	loginFailures = 10
	loginWindow   = 15 * time.Minute
)

// newLive makes every change of an incident reach the consoles of every
// bot: the watch route's notices are published on Redis (and still go to
// Slack's triage channel when Slack is on), and the hub hands them to the
// open consoles. Run it with ch.start. The watch route is drained like
// every other route: a commit wakes its drain loop at once.
func newLive(cfg *config.Config, c *core, ch *channels, log *slog.Logger) {
	ch.notifiers[intake.RouteWatch] = console.Both{Consoles: console.NewPublisher(c.rdb, cfg.Redis.Prefix), Other: ch.notifiers[intake.RouteWatch]}
	ch.live = console.NewHub(c.rdb, cfg.Redis.Prefix, log)
}

// ssoFlowTTL is how long a person may take at the identity provider.
const ssoFlowTTL = 10 * time.Minute

// newConsole builds the agents' console (web.console); base is the bot's
// address, where the identity provider sends people back.
func newConsole(cfg *config.Config, c *core, ch *channels, base string, log *slog.Logger) (http.Handler, error) {
	pages, err := templates.LoadConsole(console.Funcs())
	if err != nil {
		return nil, err
	}
	timers, err := cfg.WorkflowTimers()
	if err != nil {
		return nil, err
	}
	secure := strings.HasPrefix(cfg.Web.BaseURL, "https://")
	var cats []string
	for _, cat := range cfg.Categories {
		cats = append(cats, cat.Name)
	}
	if cfg.DefaultCategory != "" && len(cats) > 0 {
		cats = append(cats, cfg.DefaultCategory)
	}
	var sso *console.SSO
	if o := cfg.Web.OIDC; o.Enabled() {
		clientSecret, err := secret(o.ClientSecret, o.ClientSecretFile)
		if err != nil {
			return nil, fmt.Errorf("web.oidc.client_secret_file: %w", err)
		}
		sso = console.NewSSO(console.SSOConfig{Issuer: o.Issuer, ClientID: o.ClientID, ClientSecret: clientSecret,
			RedirectURL: strings.TrimSuffix(base, "/") + "/console/login/oidc/callback", AgentsClaim: o.AgentsClaim, AdminGroup: o.AdminGroup,
			Client: &http.Client{Timeout: 15 * time.Second}}, webui.NewFlows(c.rdb, cfg.Redis.Prefix, ssoFlowTTL))
	}
	return console.New(console.Deps{
		Engine: c.engine, Grouping: c.engine, Lister: c.store, Files: c.store, Agents: c.store, Admin: c.store, Pages: pages,
		Sessions: webui.NewSessions(c.rdb, cfg.Redis.Prefix, time.Duration(cfg.Web.Session.Idle), time.Duration(cfg.Web.Session.Absolute), secure, time.Now),
		Limiter:  webui.NewLimiter(c.rdb, cfg.Redis.Prefix, loginFailures, loginWindow), SSO: sso,
		Changes: ch.live, Timers: timers, Labels: c.rules, Groups: cfg.Groups, Categories: cats,
		KnownErrors: c.store, KEOps: workflow.NewKnownErrors(c.engine, c.store),
		KB: c.store, KBIndex: c.kb, MinScore: c.engine.MinScore(), Secure: secure, Log: log, Now: time.Now,
	}), nil
}

// printConsoleLogin gives the embedded admin a fresh random password and
// prints where the console is and how to sign in (local mode only). base
// is the bot's real address: http.listen may name port 0.
func printConsoleLogin(ctx context.Context, base string, c *core, stdout io.Writer) error {
	password, err := webui.RandomToken()
	if err != nil {
		return err
	}
	password = password[:20]
	if err := c.store.SetPassword(ctx, "admin", password); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "The console is at %s/console/ (sign in as admin, password %s)\n", strings.TrimSuffix(base, "/"), password)
	return nil
}
