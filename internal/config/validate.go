package config

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode"

	"github.com/intakebot/intakebot/channels/email/imapwatch"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/robfig/cron/v3"
)

// minKeyBytes is the shortest signing key accepted (web.link_key,
// email.reply_key): an HMAC-SHA256 key shorter than its output weakens it.
const minKeyBytes = 32

// Validate checks every field and the fields that only make sense
// together, and returns every problem found (nil when there is none).
func (c *Config) Validate() Problems {
	v := &validator{}
	v.server(c)
	v.outbox(c)
	v.retention(c)
	if ms := c.KB.Suggest.MinScore; ms <= 0 || ms != ms {
		v.add("kb.suggest.min_score", "must be above 0, not %v: every article would be offered to reporters", ms)
	}
	v.email(c)
	v.surveys(c)
	v.slack(c.Slack)
	v.events(c.Events)
	v.notify(c)
	v.grouping(c.Grouping)
	v.org(c.Org)
	v.templates(c.Templates)
	if _, err := c.Rules(); err != nil {
		v.add("groups/categories/cis/priority", "%v", err)
	}
	if _, err := c.WorkflowTimers(); err != nil {
		v.add("", "%v", err) // the message names its key
	}
	return v.probs
}

type validator struct{ probs Problems }

func (v *validator) add(key, format string, args ...any) {
	v.probs = append(v.probs, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// cron checks a robfig/cron schedule.
func (v *validator) cron(key, spec string) {
	if _, err := cron.ParseStandard(spec); err != nil {
		v.add(key, "%q is not a schedule (e.g. \"@every 30s\" or \"*/5 * * * *\"): %v", spec, err)
	}
}

// key checks an optional base64 signing key.
func (v *validator) key(name, value string) {
	raw, err := base64.StdEncoding.DecodeString(value)
	switch {
	case err != nil:
		v.add(name, "is not base64: %v", err)
	case len(raw) > 0 && len(raw) < minKeyBytes:
		v.add(name, "has %d bytes, at least %d are needed (e.g. head -c 32 /dev/urandom | base64)", len(raw), minKeyBytes)
	}
}

func loopback(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

func (v *validator) server(c *Config) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Log.Level)); err != nil {
		v.add("log.level", "must be debug, info, warn or error, not %q", c.Log.Level)
	}
	if f := strings.ToLower(c.Log.Format); f != "text" && f != "json" && f != "" {
		v.add("log.format", "must be text or json, not %q", c.Log.Format)
	}
	if !intake.Lang(c.Language.Default).Valid() {
		v.add("language.default", "must be en or es, not %q", c.Language.Default)
	}
	host, _, err := net.SplitHostPort(c.HTTP.Listen)
	if err != nil {
		v.add("http.listen", "%q is not host:port: %v", c.HTTP.Listen, err)
	}
	if c.Web.BaseURL == "" && err == nil && !loopback(host) {
		// Survey links in mail would point at 0.0.0.0 or [::]: nobody can
		// open them.
		v.add("web.base_url", "must be set when http.listen (%s) is not a loopback address: survey links in mail start with it (e.g. https://helpdesk.example.com; INTAKEBOT_WEB_BASE_URL)", c.HTTP.Listen)
	}
	if c.Web.BaseURL != "" {
		if u, err := url.Parse(c.Web.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("web.base_url", "%q is not an absolute http(s) URL", c.Web.BaseURL)
		}
	}
	v.key("web.link_key", c.Web.LinkKey)
	if c.Web.Console.Enabled || c.Web.Portal.Enabled {
		idle, abs := c.Web.Session.Idle, c.Web.Session.Absolute
		if idle < Duration(time.Minute) {
			v.add("web.session.idle", "must be at least 1m, not %s", idle)
		}
		if abs < idle {
			v.add("web.session.absolute", "(%s) must not be shorter than web.session.idle (%s)", abs, idle)
		}
	}
	v.oidc(c.Web.OIDC)
	if c.Redis.URL != "" {
		// Connect only parses and builds a client; it dials on first use.
		if rdb, err := redisstore.Connect(c.Redis.URL); err != nil {
			v.add("redis.url", "%v", err)
		} else {
			rdb.Close()
		}
	}
	if tz := c.Display.TimeZone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil {
			v.add("display.time_zone", "%q is not a time zone (an IANA name like Europe/Madrid, or UTC)", tz)
		}
	}
	if c.HTTP.ShutdownTimeout <= 0 {
		v.add("http.shutdown_timeout", "must be above 0, not %s", c.HTTP.ShutdownTimeout)
	}
	if c.LocalMode() {
		for key, addr := range map[string]string{"local.imap_listen": c.Local.IMAPListen, "local.smtp_listen": c.Local.SMTPListen} {
			if host, _, err := net.SplitHostPort(addr); err != nil {
				v.add(key, "%q is not host:port: %v", addr, err)
			} else if !loopback(host) {
				v.add(key, "%q: the local mail server speaks without TLS, so it listens on loopback only", addr)
			}
		}
		if d := c.Local.Domain; strings.TrimSpace(d) == "" || strings.ContainsAny(d, "@ <>\t") {
			v.add("local.domain", "%q is not a mail domain", d)
		}
		v.cron("local.poll", c.Local.Poll)
	}
}

// oidc: single sign-on is all or nothing, and the provider is reached
// over https (its answers sign people in) unless it runs on this machine.
func (v *validator) oidc(o OIDC) {
	if !o.Enabled() {
		return
	}
	if o.Issuer == "" {
		v.add("web.oidc.issuer", "is required for single sign-on (the provider's issuer URL, e.g. https://login.example.com/realms/helpdesk)")
	} else if u, err := url.Parse(o.Issuer); err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && loopback(u.Hostname()))) {
		v.add("web.oidc.issuer", "%q must be an https URL (http only for a provider on this machine)", o.Issuer)
	}
	if o.ClientID == "" {
		v.add("web.oidc.client_id", "is required for single sign-on (the console's client id at the provider)")
	}
	switch {
	case o.ClientSecret == "" && o.ClientSecretFile == "":
		v.add("web.oidc.client_secret_file", "is required for single sign-on (a file holding the client secret; or INTAKEBOT_WEB_OIDC_CLIENT_SECRET)")
	case o.ClientSecretFile != "":
		if _, err := os.Stat(o.ClientSecretFile); err != nil {
			v.add("web.oidc.client_secret_file", "%v", err)
		}
	}
	if strings.TrimSpace(o.AgentsClaim) == "" {
		v.add("web.oidc.agents_claim", "must name the ID token claim that holds the agent's name (e.g. preferred_username or email)")
	}
}

// outbox: a lease that runs out before a delivery could end makes
// Dispatcher.Drain claim and postpone the same message forever without
// ever sending it.
// retention: a schedule with nothing to archive, or nowhere to write,
// would fail every time it runs.
func (v *validator) retention(c *Config) {
	r := c.Retention
	if r.ClosedAfter < 0 {
		v.add("retention.closed_after", "must not be negative, not %s", r.ClosedAfter)
	}
	if r.Schedule == "" {
		return
	}
	v.cron("retention.schedule", r.Schedule)
	if r.ClosedAfter <= 0 {
		v.add("retention.schedule", "is set but retention.closed_after is off: set it (e.g. 400d) or empty the schedule")
	}
	if strings.TrimSpace(r.Dir) == "" {
		v.add("retention.dir", "is empty: the archive needs a directory")
	}
}

func (v *validator) outbox(c *Config) {
	v.cron("outbox.poll", c.Outbox.Poll)
	lease, timeout := c.Outbox.Lease, c.Outbox.DeliveryTimeout
	if timeout <= 0 {
		v.add("outbox.delivery_timeout", "must be above 0, not %s: a hung server would hold the outbox for good", timeout)
	}
	if lease <= timeout {
		v.add("outbox.lease", "(%s) must be longer than outbox.delivery_timeout (%s): a claimed message must outlive its delivery, or the outbox claims and postpones it forever without sending it (the default lease is 5m)", lease, timeout)
	}
}

func (v *validator) email(c *Config) {
	e := c.Email
	if !e.Enabled() {
		return
	}
	if len(e.Mailboxes) == 0 || e.SMTP.Host == "" {
		v.add("email", "configure both email.mailboxes (to read reports) and email.smtp.host (to answer them)")
	}
	if e.From != "" {
		if _, err := mail.ParseAddress(e.From); err != nil {
			v.add("email.from", "%q is not a mail address: %v", e.From, err)
		}
	}
	v.key("email.reply_key", e.ReplyKey)
	v.mailServer("email.smtp", e.SMTP)
	names := map[string]bool{}
	for i, mb := range e.Mailboxes {
		key := fmt.Sprintf("email.mailboxes[%d]", i)
		if mb.Name == "" {
			v.add(key+".name", "is required: it names the mailbox in logs, metrics and Redis")
		} else if names[mb.Name] {
			v.add(key+".name", "%q is the name of another mailbox too", mb.Name)
		}
		names[mb.Name] = true
		if _, err := mail.ParseAddress(mb.Address); err != nil {
			v.add(key+".address", "%q is not a mail address: %v", mb.Address, err)
		}
		if mb.IMAP.Host == "" {
			v.add(key+".imap.host", "is required")
		}
		v.mailServer(key+".imap", mb.IMAP.Server)
		if mb.Poll != "" {
			v.cron(key+".poll", mb.Poll)
		}
		if every := time.Duration(mb.CheckEvery); every != 0 && (every < 10*time.Millisecond || every > time.Minute) {
			v.add(key+".check_every", "(%s) must be between 10ms and 1m, or unset to use IDLE", every)
		}
	}
	if e.Workers < 1 {
		v.add("email.workers", "must be at least 1, not %d", e.Workers)
	}
	// A bot whose renewals fail gives the mailbox up a third of the lease
	// before it expires, and then needs up to the watcher's logout grace to
	// stop: with a shorter lease another bot could read the mailbox while
	// the first still files its batch.
	if minLease := 3 * imapwatch.DefaultLogoutGrace; time.Duration(e.MailboxLease) < minLease {
		v.add("email.mailbox_lease", "(%s) must be at least %s (three times the time a watcher takes to stop), or two bots could work one mailbox's batch at once", e.MailboxLease, minLease)
	}
	if e.Caps.Window <= 0 && (e.Caps.PerRecipient > 0 || e.Caps.PerIncident > 0) {
		v.add("email.caps.window", "must be above 0 when email.caps.per_recipient or per_incident is set")
	}
}

// server checks a mail server's TLS mode and password file.
func (v *validator) mailServer(key string, s Server) {
	if s.PasswordFile != "" {
		// Read at start; a missing secret should show in config check.
		if _, err := os.Stat(s.PasswordFile); err != nil {
			v.add(key+".password_file", "%v", err)
		}
	}
	if !s.TLS.Valid() {
		v.add(key+".tls", "must be implicit, starttls or none, not %q", s.TLS)
		return
	}
	if s.Host != "" && s.TLS.InClear(s.Host) {
		v.add(key+".tls", "none sends the password in clear: only for a server on this machine, not %s", s.Host)
	}
}

// surveys: a survey link must work for as long as the question it
// answers is open, and a reminder must come before the step's timeout.
func (v *validator) surveys(c *Config) {
	v.cron("timers.tick", c.Timers.Tick)
	ttl := c.Web.LinkTTL
	if ttl <= 0 {
		v.add("web.link_ttl", "must be above 0, not %s", ttl)
	}
	steps := []struct {
		name, timeoutKey string
		remind           []Duration
		timeout          Duration
	}{
		{string(intake.Validation), "timers.validation.accept_after", c.Timers.Validation.RemindAfter, c.Timers.Validation.AcceptAfter},
		{string(intake.Satisfaction), "timers.satisfaction.close_after", c.Timers.Satisfaction.RemindAfter, c.Timers.Satisfaction.CloseAfter},
	}
	for _, s := range steps {
		remindKey := "timers." + s.name + ".remind_after"
		last := Duration(0)
		for i, r := range s.remind {
			if r < 0 || (r > 0 && r <= last) {
				v.add(fmt.Sprintf("%s[%d]", remindKey, i), "(%s) must come after the reminder before it (%s)", r, last)
			}
			if s.timeout > 0 && r >= s.timeout {
				v.add(fmt.Sprintf("%s[%d]", remindKey, i), "(%s) is not before %s (%s): that reminder would never go out", r, s.timeoutKey, s.timeout)
			}
			last = max(last, r)
		}
		if s.timeout < 0 {
			v.add(s.timeoutKey, "must not be negative")
		}
		// The link in the first question must still work when the step
		// times out; without a timeout, at least until the last reminder.
		until, untilKey := s.timeout, s.timeoutKey
		if until == 0 {
			until, untilKey = last, remindKey
		}
		if ttl > 0 && until > ttl {
			v.add("web.link_ttl", "(%s) is shorter than %s (%s): the survey link sent with the %s question would stop working while the question is still open", ttl, untilKey, until, s.name)
		}
	}
	for p, t := range c.SLA.Targets {
		if t.Response > 0 && t.Resolution > 0 && t.Response > t.Resolution {
			v.add(fmt.Sprintf("sla.targets.%s", p), "response (%s) is longer than resolution (%s)", t.Response, t.Resolution)
		}
	}
}

func (v *validator) slack(s Slack) {
	if !s.Enabled() {
		return
	}
	if !strings.HasPrefix(s.BotToken, "xoxb-") {
		v.add("slack.bot_token", "must be a bot token (xoxb-...)")
	}
	switch s.Mode {
	case "socket":
		if !strings.HasPrefix(s.AppToken, "xapp-") {
			v.add("slack.app_token", "slack.mode socket needs an app token (xapp-..., with connections:write)")
		}
	case "http":
		if s.SigningSecret == "" {
			v.add("slack.signing_secret", "slack.mode http needs the signing secret")
		}
	default:
		v.add("slack.mode", "must be socket or http, not %q", s.Mode)
	}
	if !intake.Lang(s.TriageLanguage).Valid() {
		v.add("slack.triage_language", "must be en or es, not %q", s.TriageLanguage)
	}
}

// grouping: a score of 0 would group every report on a CI, alike or not.
func (v *validator) grouping(g Grouping) {
	if g.MinScore <= 0 || g.MinScore > 1 {
		v.add("grouping.min_score", "must be above 0 and at most 1, not %v (0.5: half the shorter report's words shared)", g.MinScore)
	}
	if g.Window <= 0 {
		v.add("grouping.window", "must be above 0, not %s (e.g. 15m)", time.Duration(g.Window))
	}
}

func (v *validator) events(e Events) {
	if e.Token == "" {
		return
	}
	if len(e.Token) < 16 {
		v.add("events.token", "must be at least 16 characters")
	}
	if _, ok := e.Severities[e.DefaultSeverity]; !ok {
		v.add("events.default_severity", "%q is not one of events.severities", e.DefaultSeverity)
	}
	for name, l := range e.Severities {
		if !l.Impact.Valid() || !l.Urgency.Valid() {
			v.add("events.severities."+name, "impact and urgency must be high, medium or low")
		}
	}
}

func (v *validator) org(o Org) {
	if strings.ContainsFunc(o.Name, unicode.IsControl) || len(o.Name) > 100 {
		v.add("org.name", "must be one line of at most 100 bytes")
	}
	if o.SupportURL != "" {
		if u, err := url.Parse(o.SupportURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("org.support_url", "%q is not an absolute http(s) URL", o.SupportURL)
		}
	}
	if o.LogoURL != "" {
		// A mail client blocks or warns about plain-http images in a mail;
		// https is the only kind worth sending.
		if u, err := url.Parse(o.LogoURL); err != nil || u.Scheme != "https" || u.Host == "" {
			v.add("org.logo_url", "%q is not an absolute https URL (the reader's mail client loads it)", o.LogoURL)
		}
	}
}

// templates checks an override directory the way the start does: every
// file present and parsing, in every language.
func (v *validator) templates(t Templates) {
	if t.Dir == "" {
		return
	}
	if st, err := os.Stat(t.Dir); err != nil {
		v.add("templates.dir", "%v", err)
		return
	} else if !st.IsDir() {
		v.add("templates.dir", "%s is not a directory", t.Dir)
		return
	}
	if err := LoadTemplates(t); err != nil {
		v.add("templates.dir", "%v", err)
	}
}
