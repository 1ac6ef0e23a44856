// Package config is intakebot's configuration: the embedded defaults
// (default.yaml, which documents every key), a YAML file over them, the
// INTAKEBOT_* environment over both, and Validate, which checks the fields
// together. Every problem it reports names the key it is about, so that
// "intakebot config check" can list them all for a person to fix.
package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/intakebot/intakebot/channels/email/mailtls"
	"github.com/intakebot/intakebot/channels/events"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration; default.yaml documents every key.
type Config struct {
	Redis struct {
		URL            string `yaml:"url"`
		Prefix         string `yaml:"prefix"`
		EmbeddedListen string `yaml:"embedded_listen"`
	} `yaml:"redis"`
	HTTP struct {
		Listen          string   `yaml:"listen"`
		ShutdownTimeout Duration `yaml:"shutdown_timeout"`
		// ReadyzStrict makes /readyz answer 503 when the bot is degraded
		// (a mailbox or the SMTP server failing), not only when Redis is.
		ReadyzStrict bool `yaml:"readyz_strict"`
	} `yaml:"http"`
	Web struct {
		BaseURL string   `yaml:"base_url"`
		LinkKey string   `yaml:"link_key"`
		LinkTTL Duration `yaml:"link_ttl"`
		Console struct {
			Enabled bool `yaml:"enabled"`
		} `yaml:"console"`
		// Portal is the reporters' self-service portal at /portal/.
		Portal struct {
			Enabled bool `yaml:"enabled"`
		} `yaml:"portal"`
		// Session bounds a console session: Idle unused, Absolute in all.
		Session struct {
			Idle     Duration `yaml:"idle"`
			Absolute Duration `yaml:"absolute"`
		} `yaml:"session"`
		OIDC OIDC `yaml:"oidc"`
	} `yaml:"web"`
	Org       Org       `yaml:"org"`
	Templates Templates `yaml:"templates"`
	Log       struct {
		Format string `yaml:"format"`
		Level  string `yaml:"level"`
	} `yaml:"log"`
	Language struct {
		Default string `yaml:"default"`
	} `yaml:"language"`
	Display struct {
		TimeZone string `yaml:"time_zone"`
	} `yaml:"display"`
	Outbox struct {
		// Poll is a safety net: a commit wakes the drain loops at once;
		// the poll catches a lost wake-up and retries coming due.
		Poll  string   `yaml:"poll"`
		Lease Duration `yaml:"lease"`
		// DeliveryTimeout bounds one delivery; the lease must outlast it.
		DeliveryTimeout Duration `yaml:"delivery_timeout"`
		// Deliver false makes an intake-only bot: it queues messages and
		// announces them, and other bots deliver them.
		Deliver bool `yaml:"deliver"`
	} `yaml:"outbox"`
	Retention             Retention              `yaml:"retention"`
	KB                    KB                     `yaml:"kb"`
	Email                 Email                  `yaml:"email"`
	Local                 Local                  `yaml:"local"`
	Slack                 Slack                  `yaml:"slack"`
	Timers                Timers                 `yaml:"timers"`
	Events                Events                 `yaml:"events"`
	Notify                Notify                 `yaml:"notify"`
	Grouping              Grouping               `yaml:"grouping"`
	SLA                   SLA                    `yaml:"sla"`
	Groups                []string               `yaml:"groups"`
	DefaultGroup          string                 `yaml:"default_group"`
	DefaultCategory       string                 `yaml:"default_category"`
	DefaultCategoryLabels map[intake.Lang]string `yaml:"default_category_labels"`
	Categories            []intake.Category      `yaml:"categories"`
	CIs                   []intake.ConfigItem    `yaml:"cis"`
	Priority              struct {
		DefaultImpact   string                                            `yaml:"default_impact"`
		DefaultUrgency  string                                            `yaml:"default_urgency"`
		ImpactKeywords  map[intake.Level][]string                         `yaml:"impact_keywords"`
		UrgencyKeywords map[intake.Level][]string                         `yaml:"urgency_keywords"`
		Matrix          map[intake.Level]map[intake.Level]intake.Priority `yaml:"matrix"`
	} `yaml:"priority"`
}

// Org is the org: section: the organisation every message speaks for.
type Org struct {
	// Name signs every mail and Slack message and is the display name of
	// our From address when email.from (or the mailbox) gives none. Empty:
	// each language's own words ("The help desk").
	Name string `yaml:"name"`
	// SupportURL is the help desk's website, linked at the end of every
	// mail.
	SupportURL string `yaml:"support_url"`
	// LogoURL is an https image shown at the top of HTML mails. The
	// reader's mail client loads it; the bot never fetches it.
	LogoURL string `yaml:"logo_url"`
}

// Templates is the templates: section.
type Templates struct {
	// Dir holds templates that replace the embedded ones file by file
	// (LANG/KIND.tmpl, LANG/KIND.html, LANG/chat/slack.tmpl, ...), or add
	// a language. Checked at start like the embedded set.
	Dir string `yaml:"dir"`
}

// KB is the kb: section: what the knowledge base suggests.
type KB struct {
	Suggest struct {
		// MinScore is the score a public article needs before a reporter
		// is offered it in the acknowledgment (kb.DefaultMinScore).
		MinScore float64 `yaml:"min_score"`
	} `yaml:"suggest"`
}

// Retention is the retention: section: closed incidents leave Redis for
// archive files ("intakebot archive").
type Retention struct {
	// ClosedAfter is how long an incident stays in Redis once closed; 0 is off.
	ClosedAfter Age `yaml:"closed_after"`
	// Dir holds the archive files.
	Dir string `yaml:"dir"`
	// Schedule runs the archive in serve (robfig/cron spec); empty is off.
	Schedule string `yaml:"schedule"`
}

// Age is a duration that may be written in days ("400d") as well as in
// Go's units ("72h"); empty or "0" is zero.
type Age time.Duration

// UnmarshalYAML parses "400d", a Go duration or "".
func (a *Age) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseAge(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*a = Age(v)
	return nil
}

// ParseAge parses "400d", a Go duration ("72h"), "0" or "".
func ParseAge(s string) (time.Duration, error) {
	if s == "" || s == "0" {
		return 0, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a number of days like 400d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither days (400d) nor a duration (72h)", s)
	}
	return d, nil
}

// String prints whole days as "400d", anything else as Go does.
func (a Age) String() string {
	d := time.Duration(a)
	if d > 0 && d%(24*time.Hour) == 0 {
		return strconv.Itoa(int(d/(24*time.Hour))) + "d"
	}
	return d.String()
}

// Email is the email: section.
type Email struct {
	// From is the sender of our mail; the first mailbox's address when empty.
	From      string    `yaml:"from"`
	Mailboxes []Mailbox `yaml:"mailboxes"`
	SMTP      Server    `yaml:"smtp"`
	// ReplyKey signs the reply tokens in Reply-To (base64, 32+ bytes).
	ReplyKey string `yaml:"reply_key"`
	// PreviousReplyKeys still verify reply addresses (key rotation).
	PreviousReplyKeys []string   `yaml:"previous_reply_keys"`
	SenderAuth        SenderAuth `yaml:"sender_auth"`
	MaxMessageBytes   int64      `yaml:"max_message_bytes"`
	// Workers is how many unrelated mails of a batch are processed at once.
	Workers int `yaml:"workers"`
	// MaxAttachmentBytes is how much of each attachment is kept.
	MaxAttachmentBytes int64 `yaml:"max_attachment_bytes"`
	// MailboxLease is how long a bot keeps a mailbox without renewing:
	// after a crash, another bot takes over within it.
	MailboxLease Duration `yaml:"mailbox_lease"`
	Caps         struct {
		PerRecipient int      `yaml:"per_recipient"`
		PerIncident  int      `yaml:"per_incident"`
		Window       Duration `yaml:"window"`
	} `yaml:"caps"`
}

// Enabled reports whether an e-mail channel is configured at all.
func (e Email) Enabled() bool { return len(e.Mailboxes) > 0 || e.SMTP.Host != "" }

// SenderAuth is email.sender_auth: when a mail's From counts as
// authenticated without the reporter's reply address.
type SenderAuth struct {
	// TrustedAuthServIDs are the receiving servers whose
	// Authentication-Results count.
	TrustedAuthServIDs []string `yaml:"trusted_authserv_ids"`
	// Accept are the methods that authenticate: dmarc, dkim, auth.
	Accept []string `yaml:"accept"`
	// VerifyDKIM verifies DKIM signatures in the bot as well.
	VerifyDKIM bool `yaml:"verify_dkim"`
}

// Mailbox is one watched mailbox.
type Mailbox struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"`
	IMAP    struct {
		Server `yaml:",inline"`
		Folder string `yaml:"folder"`
	} `yaml:"imap"`
	// BatchSize is how many mails one fetch brings (100 when zero).
	BatchSize        int    `yaml:"batch_size"`
	ProcessedFolder  string `yaml:"processed_folder"`
	QuarantineFolder string `yaml:"quarantine_folder"`
	Poll             string `yaml:"poll"`
	// CheckEvery, when set, replaces IDLE with a NOOP this often (e.g.
	// 100ms): for servers that hold IDLE notices back, as Dovecot does for
	// 500 ms. Unset: IDLE.
	CheckEvery Duration `yaml:"check_every"`
}

// Server is how to reach an IMAP or SMTP server.
type Server struct {
	Host     string       `yaml:"host"`
	Port     int          `yaml:"port"`
	TLS      mailtls.Mode `yaml:"tls"`
	Username string       `yaml:"username"`
	Password string       `yaml:"password"`
	// PasswordFile holds the password instead (a mounted secret).
	PasswordFile string `yaml:"password_file"`
	// Auth is password (default) or oauth2 (then OAuth2 applies).
	Auth   string `yaml:"auth"`
	OAuth2 OAuth2 `yaml:"oauth2"`
}

// OAuth2 is the oauth2: block of a mailbox's imap: section and of
// email.smtp, used when their auth is "oauth2". The SASL user is the
// section's username (the mailbox account).
type OAuth2 struct {
	// Mechanism is xoauth2 (default; Microsoft 365, Gmail) or oauthbearer.
	Mechanism string `yaml:"mechanism"`
	TokenURL  string `yaml:"token_url"`
	ClientID  string `yaml:"client_id"`
	// The secret and the refresh token may come from files (mounted
	// secrets) instead.
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// RefreshToken set: the refresh token grant (Google); empty: client
	// credentials (Microsoft 365 app-only).
	RefreshToken     string   `yaml:"refresh_token"`
	RefreshTokenFile string   `yaml:"refresh_token_file"`
	Scopes           []string `yaml:"scopes"`
}

// OIDC is web.oidc: single sign-on to the console with OpenID Connect
// (the authorization code flow with PKCE). A person signs in as the
// existing agent named by the ID token's AgentsClaim.
type OIDC struct {
	// Issuer is the provider's issuer URL (https, or http on loopback).
	Issuer   string `yaml:"issuer"`
	ClientID string `yaml:"client_id"`
	// The client secret, or a file holding it (a mounted secret).
	ClientSecret     string `yaml:"client_secret"`
	ClientSecretFile string `yaml:"client_secret_file"`
	// AgentsClaim is the ID token claim whose value is the agent's name
	// (preferred_username, email, ...).
	AgentsClaim string `yaml:"agents_claim"`
	// AdminGroup set: an SSO session is an admin exactly when the groups
	// claim holds it (the provider decides). Empty: the agent's own flag.
	AdminGroup string `yaml:"admin_group"`
}

// Enabled reports whether single sign-on is configured (even partly:
// Validate then says what is missing).
func (o OIDC) Enabled() bool {
	return o.Issuer != "" || o.ClientID != "" || o.ClientSecret != "" || o.ClientSecretFile != ""
}

// Local is the local: section (the mail server of local mode).
type Local struct {
	IMAPListen string `yaml:"imap_listen"`
	SMTPListen string `yaml:"smtp_listen"`
	Domain     string `yaml:"domain"`
	// Poll is the help-desk mailbox's poll schedule (IDLE is used as well).
	Poll string `yaml:"poll"`
	// StateFile is where serve tells "intakebot local" commands how to
	// reach it ("": a default path, "off": nowhere).
	StateFile string `yaml:"state_file"`
}

// Slack is the slack: section.
type Slack struct {
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

// Enabled reports whether the Slack channel is configured.
func (s Slack) Enabled() bool { return s.BotToken != "" }

// Timers is the timers: section.
type Timers struct {
	// Tick is how often due work is looked for (robfig/cron spec).
	Tick       string `yaml:"tick"`
	Validation struct {
		RemindAfter []Duration `yaml:"remind_after"`
		AcceptAfter Duration   `yaml:"accept_after"`
	} `yaml:"validation"`
	Satisfaction struct {
		RemindAfter []Duration `yaml:"remind_after"`
		CloseAfter  Duration   `yaml:"close_after"`
	} `yaml:"satisfaction"`
}

// SLA is the sla: section.
type SLA struct {
	WarnAt        float64 `yaml:"warn_at"`
	BusinessHours struct {
		Zone  string `yaml:"zone"`
		Days  string `yaml:"days"`
		Start string `yaml:"start"`
		End   string `yaml:"end"`
	} `yaml:"business_hours"`
	Targets map[intake.Priority]struct {
		Response   Duration `yaml:"response"`
		Resolution Duration `yaml:"resolution"`
	} `yaml:"targets"`
}

// Grouping is the grouping: section: outage grouping (major incidents).
type Grouping struct {
	Enabled bool `yaml:"enabled"`
	// Window: a report joins an outage whose last report came at most
	// this long before it.
	Window Duration `yaml:"window"`
	// MinScore is how alike (0-1, shared terms over the shorter
	// report's) a report must be to an outage's first report to join it.
	MinScore float64 `yaml:"min_score"`
	// NeverCategories are never grouped.
	NeverCategories []string `yaml:"never_categories"`
}

// WorkflowGrouping is the grouping section as the workflow's policy.
func (c *Config) WorkflowGrouping() workflow.Grouping {
	g := c.Grouping
	return workflow.Grouping{Enabled: g.Enabled, Window: time.Duration(g.Window), MinScore: g.MinScore, Never: g.NeverCategories}
}

// Events is the events: section (system events and alerts).
type Events struct {
	// Token authenticates POST /api/v1/events; empty turns it off.
	Token           string                  `yaml:"token"`
	DefaultSeverity string                  `yaml:"default_severity"`
	Severities      map[string]events.Level `yaml:"severities"`
}

// LocalMode reports whether serve runs with nothing configured, which is
// when a local mail server stands in for the help desk's.
func (c *Config) LocalMode() bool {
	return c.Redis.URL == "" && !c.Email.Enabled()
}

// Duration is a time.Duration written as "10s" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = Duration(v)
	return nil
}

// String prints the duration as Go does ("5m0s").
func (d Duration) String() string { return time.Duration(d).String() }
