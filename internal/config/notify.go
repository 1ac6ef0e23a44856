package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// Notify is the notify: section: alerts to agents who do not work in
// Slack, by mail and by signed webhook posts, on a new incident, an SLA
// warning or breach and a reporter's "no". Both go through the outbox.
type Notify struct {
	Email    NotifyEmail `yaml:"email"`
	Webhooks []Webhook   `yaml:"webhooks"`
}

// NotifyEmail is notify.email: who is mailed the alerts.
type NotifyEmail struct {
	// Lang is the language of the alert mails ("": language.default); an
	// agent may have their own.
	Lang string `yaml:"lang"`
	// Events are the alerts mailed (default: all of them).
	Events []intake.Alert `yaml:"events"`
	// Groups maps a support group to the address its alerts go to.
	Groups map[string]string `yaml:"groups"`
	// Agents are mailed, each at their own address, the alerts of their
	// groups' incidents (no groups: every group's).
	Agents []NotifyAgent `yaml:"agents"`
}

// NotifyAgent is one agent of notify.email.agents.
type NotifyAgent struct {
	Name    string   `yaml:"name"`
	Address string   `yaml:"address"`
	Lang    string   `yaml:"lang"`
	Groups  []string `yaml:"groups"`
}

// Webhook is one of notify.webhooks: where the signed alerts are posted.
type Webhook struct {
	URL string `yaml:"url"`
	// The secret that signs the posts comes from a file (a mounted
	// secret) or from the environment variable SecretEnv names.
	SecretFile string `yaml:"secret_file"`
	SecretEnv  string `yaml:"secret_env"`
	// Events are the alerts posted.
	Events []intake.Alert `yaml:"events"`
	// envSecret is SecretEnv's value, read at Load.
	envSecret string
}

// readEnvSecrets takes the webhooks' secrets named by secret_env from env.
func (n *Notify) readEnvSecrets(env Env) {
	for i := range n.Webhooks {
		if name := n.Webhooks[i].SecretEnv; name != "" {
			n.Webhooks[i].envSecret, _ = env.Lookup(name)
		}
	}
}

// Secret reads the webhook's signing secret.
func (w Webhook) Secret() ([]byte, error) {
	if w.SecretFile == "" {
		return []byte(w.envSecret), nil
	}
	raw, err := os.ReadFile(w.SecretFile)
	return []byte(strings.TrimSpace(string(raw))), err
}

// AlertTargets are the listeners of agent alerts the store queues for.
func (c *Config) AlertTargets() []redisstore.AlertTarget {
	n := c.Notify
	events := n.Email.Events
	if len(events) == 0 {
		events = intake.Alerts()
	}
	lang := func(l string) intake.Lang {
		if l == "" {
			l = n.Email.Lang
		}
		if l == "" {
			l = c.Language.Default
		}
		return intake.Lang(l)
	}
	var out []redisstore.AlertTarget
	groups := make([]string, 0, len(n.Email.Groups))
	for g := range n.Email.Groups {
		groups = append(groups, g)
	}
	slices.Sort(groups) // a stable order: the messages' ids count on it
	for _, g := range groups {
		out = append(out, redisstore.AlertTarget{Route: intake.RouteAgentMail, Email: n.Email.Groups[g], Lang: lang(""),
			Alerts: events, Groups: []string{g}})
	}
	for _, a := range n.Email.Agents {
		out = append(out, redisstore.AlertTarget{Route: intake.RouteAgentMail, Email: a.Address, Lang: lang(a.Lang),
			Alerts: events, Groups: a.Groups})
	}
	for _, w := range n.Webhooks {
		out = append(out, redisstore.AlertTarget{Route: intake.RouteWebhook, URL: w.URL, Alerts: w.Events})
	}
	return out
}

// MailsAlerts reports whether notify.email has anyone to mail.
func (n Notify) MailsAlerts() bool { return len(n.Email.Groups) > 0 || len(n.Email.Agents) > 0 }

func (v *validator) notify(c *Config) {
	n := c.Notify
	events := func(key string, list []intake.Alert, required bool) {
		if required && len(list) == 0 {
			v.add(key, "lists no event: name some of %s", alertNames())
		}
		for _, e := range list {
			if !e.Valid() {
				v.add(key, "%q is not an event (events: %s)", e, alertNames())
			}
		}
	}
	group := func(key, g string) {
		if !slices.Contains(c.Groups, g) {
			v.add(key, "%q is not one of groups (%s)", g, strings.Join(c.Groups, ", "))
		}
	}
	address := func(key, a string) {
		if addr, err := mail.ParseAddress(a); err != nil || addr.Name != "" {
			v.add(key, "%q is not an e-mail address", a)
		}
	}
	lang := func(key, l string) {
		if l != "" && !intake.Lang(l).Valid() {
			v.add(key, "must be en or es, not %q", l)
		}
	}
	lang("notify.email.lang", n.Email.Lang)
	events("notify.email.events", n.Email.Events, false)
	for g, a := range n.Email.Groups {
		group("notify.email.groups", g)
		address("notify.email.groups."+g, a)
	}
	for i, a := range n.Email.Agents {
		key := fmt.Sprintf("notify.email.agents[%d]", i)
		if strings.TrimSpace(a.Name) == "" {
			v.add(key+".name", "is required")
		}
		address(key+".address", a.Address)
		lang(key+".lang", a.Lang)
		for _, g := range a.Groups {
			group(key+".groups", g)
		}
	}
	if n.MailsAlerts() && c.Email.SMTP.Host == "" {
		v.add("notify.email", "mails alerts, but email.smtp is not configured to send them")
	}
	seen := map[string]bool{}
	for i, w := range n.Webhooks {
		key := fmt.Sprintf("notify.webhooks[%d]", i)
		if u, err := url.Parse(w.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			v.add(key+".url", "%q is not an absolute http(s) URL without credentials", w.URL)
		} else if seen[w.URL] {
			v.add(key+".url", "%q is listed twice", w.URL)
		}
		seen[w.URL] = true
		events(key+".events", w.Events, true)
		switch {
		case w.SecretFile != "" && w.SecretEnv != "":
			v.add(key+".secret_file", "and secret_env are both set: choose one")
		case w.SecretFile != "":
			if s, err := w.Secret(); err != nil {
				v.add(key+".secret_file", "%v", err)
			} else if len(s) < 16 {
				v.add(key+".secret_file", "holds %d bytes: a signing secret needs at least 16", len(s))
			}
		case w.SecretEnv != "":
			if len(w.envSecret) < 16 {
				v.add(key+".secret_env", "%s must hold a secret of at least 16 bytes (it has %d)", w.SecretEnv, len(w.envSecret))
			}
		default:
			v.add(key+".secret_file", "is missing: every webhook is signed (set secret_file or secret_env)")
		}
	}
}

func alertNames() string {
	var names []string
	for _, a := range intake.Alerts() {
		names = append(names, string(a))
	}
	return strings.Join(names, ", ")
}
