package main

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/portallink"
	"github.com/intakebot/intakebot/channels/web/portal"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/templates"
)

// Sign-in links a portal address may be mailed, and sign-in requests one
// client address may make, in a window.
const (
	portalMailsPerAddress = 5
	portalAsksPerClient   = 30
	portalWindow          = 15 * time.Minute
)

// newPortalSigner signs the portal's links (web.portal), with the survey
// links' key and lifetime for incident links; nil when the portal is off.
func newPortalSigner(cfg *config.Config, key []byte, base string) (*portallink.Signer, error) {
	if !cfg.Web.Portal.Enabled {
		return nil, nil
	}
	s, err := portallink.New(key, base, time.Now)
	if err != nil {
		return nil, err
	}
	if ttl := time.Duration(cfg.Web.LinkTTL); ttl > 0 {
		s.IncidentLife = ttl
	}
	return s, nil
}

// newPortal builds the reporters' portal (web.portal). Without e-mail no
// sign-in link can go out: the mail links still open incidents, and the
// start says so.
func newPortal(cfg *config.Config, c *core, ch *channels, signer *portallink.Signer, log *slog.Logger) (http.Handler, error) {
	pages, err := templates.LoadPortal(cfg.Templates.FS(), portal.Funcs())
	if err != nil {
		return nil, err
	}
	if ch.signIn == nil {
		log.Warn("web.portal: no e-mail channel (email.smtp), so the portal cannot mail sign-in links")
	}
	var services []string
	for _, ci := range cfg.CIs {
		services = append(services, ci.Name)
	}
	secure := strings.HasPrefix(cfg.Web.BaseURL, "https://")
	sessions := webui.NewSessions(c.rdb, cfg.Redis.Prefix, time.Duration(cfg.Web.Session.Idle), time.Duration(cfg.Web.Session.Absolute), secure, time.Now)
	sessions.Path, sessions.Cookie, sessions.Space = "/portal/", "intakebot_portal", "portal"
	return portal.New(portal.Deps{
		Engine: c.engine, Lister: c.store, Files: c.store, Articles: c.store, Links: c.store, Mailer: ch.signIn, Pages: pages, Signer: signer,
		Sessions:  sessions,
		MailLimit: webui.NewLimiter(c.rdb, cfg.Redis.Prefix, portalMailsPerAddress, portalWindow),
		AddrLimit: webui.NewLimiter(c.rdb, cfg.Redis.Prefix, portalAsksPerClient, portalWindow),
		Services:  services, Labels: c.rules, Org: cfg.Org.Name, Secure: secure, Log: log, Now: time.Now,
	}), nil
}
