// Package slack is the Slack channel: reports by DM, @mention, the
// /incident command and the "Create incident" shortcut; the reporter's
// answers by button; agents' work from the triage channel; and the
// messages the outbox sends there. Socket Mode and the HTTP Events API feed
// the same handlers; every handler commits its effect to Redis before the
// event is acknowledged, and talks back to Slack only afterwards.
package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
	slackapi "github.com/slack-go/slack"
)

// Incidents is the workflow engine as reporters use it through Slack.
type Incidents interface {
	Register(ctx context.Context, rep intake.Report) (*intake.Incident, error)
	Get(ctx context.Context, id string) (*intake.Incident, error)
	Comment(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
}

// Surveys records the reporter's answers.
type Surveys interface {
	AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error)
	Rate(ctx context.Context, id string, by intake.Actor, rating int, comment string) (intake.Changed, error)
	// Solved records that an article offered in the acknowledgment solved
	// the problem; MinScore is the score an offered article reached.
	Solved(ctx context.Context, id string, by intake.Actor, articleID string) (intake.Changed, error)
	MinScore() float64
}

// Workarounds applies known errors' workarounds (workflow.KnownErrors).
type Workarounds interface {
	ApplyWorkaround(ctx context.Context, id string, by intake.Actor, keID string) (intake.Changed, error)
}

// Work is what agents do from the triage channel.
type Work interface {
	Assign(ctx context.Context, id string, by intake.Actor, owner, note string) (intake.Changed, error)
	Move(ctx context.Context, id string, by intake.Actor, to intake.State, note string) (intake.Changed, error)
	AddAction(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	AddPublicNote(ctx context.Context, id string, by intake.Actor, text string) (intake.Changed, error)
	Escalate(ctx context.Context, id string, by intake.Actor, group string, level int, note string) (intake.Changed, error)
}

// Agents tells whether an agent is an admin.
type Agents interface {
	Agent(ctx context.Context, name string) (intake.Agent, error)
}

// Ledger claims each inbound event and records its outcome once.
type Ledger interface {
	Begin(ctx context.Context, key, source string, now time.Time) (*intake.InboundRecord, error)
	Record(ctx context.Context, key string, r intake.InboundRecord) (bool, error)
}

// State is what the channel remembers about incidents in Slack: their
// thread, triage message and prompts.
type State interface {
	LinkThread(ctx context.Context, incidentID, channel, ts string) error
	IncidentOfThread(ctx context.Context, channel, ts string) (string, error)
	SlackRefs(ctx context.Context, incidentID string) (map[string]string, error)
	SetSlackRef(ctx context.Context, incidentID, name, value string) error
	// ClaimSlackRef sets a ref unless it is set, and says whether it did.
	ClaimSlackRef(ctx context.Context, incidentID, name, value string) (bool, error)
}

// Locker keeps two bots from posting the same message at once. Lock
// returns the holder's token, or "" when another bot holds the lock.
type Locker interface {
	Lock(ctx context.Context, name string, ttl time.Duration) (string, error)
	Unlock(ctx context.Context, name, token string) error
}

// SurveyLinks signs the web link of one round of a survey question.
type SurveyLinks interface {
	Link(incidentID, step string, round int64) (string, error)
}

// Labeler names categories and configuration items in a language.
type Labeler interface {
	Label(name string, lang intake.Lang) string
}

// Config is the channel's part of the configuration.
type Config struct {
	// TriageChannel is where agents see new incidents ("" for none).
	TriageChannel string
	// TriageLang is the language of the triage channel.
	TriageLang intake.Lang
	// Agents maps Slack user ids to agent names in the core service.
	Agents map[string]string
	// Groups are the support groups offered when escalating.
	Groups []string
	// SurveyEmailReporters also asks, by Slack DM, the survey questions of
	// incidents reported by e-mail whose reporter has a Slack account with
	// the same address; the first answer on either side counts.
	SurveyEmailReporters bool
	// OrgName signs every message to a reporter, as it signs the mails
	// (config org.name); empty: the language's own words.
	OrgName string
}

// Deps are the channel's collaborators. Links, Portal and Labels may be nil.
type Deps struct {
	Incidents Incidents
	Surveys   Surveys
	Work      Work
	// Workarounds applies a known error's workaround from the triage
	// card; nil leaves the button out.
	Workarounds Workarounds
	Agents      Agents
	Ledger      Ledger
	State       State
	Locks       Locker
	Links       SurveyLinks
	// Portal signs the reporters' portal links; nil when the portal is off.
	Portal  PortalLinks
	Labels  Labeler
	Phrases *templates.Phrases
	Log     *slog.Logger
	Now     func() time.Time
}

// Bot is the Slack channel.
type Bot struct {
	cfg   Config
	api   *slackapi.Client
	d     Deps
	self  string
	users *userCache
	// health is the connection's state for /readyz.
	health health
	// later are the Slack calls made after an event was acknowledged;
	// closing stops new ones (they then run before the handler returns)
	// and quit cuts the running ones short.
	later   sync.WaitGroup
	mu      sync.Mutex
	closing bool
	quit    chan struct{}
	// self is the bot's own user id, learnt from auth.test on first use.
	selfOnce sync.Mutex
}

// New returns the channel; Connect must be called before it handles events.
func New(cfg Config, api *slackapi.Client, d Deps) *Bot {
	if cfg.TriageLang == "" {
		cfg.TriageLang = intake.English
	}
	return &Bot{cfg: cfg, api: api, d: d, users: newUserCache(d.Now), quit: make(chan struct{})}
}

// Connect checks the bot token and learns the bot's own user id, so that
// the bot can tell its own messages. Handlers call it on first use, so a
// Slack outage at start delays only Slack, not the rest of the bot.
func (b *Bot) Connect(ctx context.Context) error {
	b.selfOnce.Lock()
	defer b.selfOnce.Unlock()
	if b.self != "" {
		return nil
	}
	res, err := b.api.AuthTestContext(ctx)
	if err != nil {
		err = fmt.Errorf("slack auth.test: %w", err)
		b.unhealthy(err)
		return err
	}
	b.self = res.UserID
	return nil
}

// Close waits for the work started after acknowledgments, up to ctx; the
// rest is cut short.
func (b *Bot) Close(ctx context.Context) {
	b.mu.Lock()
	if b.closing {
		b.mu.Unlock()
		return
	}
	b.closing = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.later.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		close(b.quit)
		<-done
	}
}

// afterAck runs f once the event is acknowledged: Slack calls that may be
// slow never hold the acknowledgment back. Once closing, f runs at once.
func (b *Bot) afterAck(f func(ctx context.Context)) {
	b.mu.Lock()
	closing := b.closing
	if !closing {
		b.later.Add(1)
	}
	b.mu.Unlock()
	run := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		go func() {
			select {
			case <-b.quit:
				cancel()
			case <-ctx.Done():
			}
		}()
		f(ctx)
	}
	if closing {
		run()
		return
	}
	go func() {
		defer b.later.Done()
		run()
	}()
}

// text renders a phrase; a missing phrase is a bug the parity test
// catches, so the name itself is a good enough fallback.
func (b *Bot) text(lang intake.Lang, name string, v view) string {
	s, err := b.d.Phrases.Text(string(lang), name, v)
	if err != nil {
		b.d.Log.Error("slack phrase", "err", err)
		return name
	}
	return s
}

// view is what phrases may show. Everything in it is escaped for
// Slack's markup: a subject must not mention @channel or fake a link.
type view struct {
	ID, Subject, Priority, State, URL, Org string
	KnownError                             string
	// Title names an article (offered, or suggested to agents).
	Title  string
	Rating int
	// Outage is the incident this one is grouped under, or "".
	Outage string
}

func viewOf(inc *intake.Incident) view {
	return view{ID: inc.ID, Subject: esc(inc.Subject), Priority: string(inc.Priority), Outage: inc.ParentID}
}

// esc escapes the three characters Slack's markup gives meaning to.
func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// person is a Slack user as the channel needs one.
type person struct {
	ID, Name, Email string
	Lang            intake.Lang // "" when the locale says neither en nor es
	Bot             bool
}

// userCache remembers users.info answers for a while: a busy thread
// would otherwise ask Slack about the same person again and again.
type userCache struct {
	mu   sync.Mutex
	now  func() time.Time
	seen map[string]cachedPerson
}

type cachedPerson struct {
	p  person
	at time.Time
}

const (
	userCacheTTL  = time.Hour
	userCacheSize = 10000
)

func newUserCache(now func() time.Time) *userCache {
	return &userCache{now: now, seen: map[string]cachedPerson{}}
}

// person looks a user up (users.info with the locale).
func (b *Bot) person(ctx context.Context, id string) (person, error) {
	c := b.users
	c.mu.Lock()
	hit, ok := c.seen[id]
	c.mu.Unlock()
	if ok && c.now().Sub(hit.at) < userCacheTTL {
		return hit.p, nil
	}
	u, err := b.api.GetUserInfoContext(ctx, id)
	if err != nil {
		return person{}, fmt.Errorf("slack users.info %s: %w", id, err)
	}
	p := person{ID: u.ID, Name: intake.Clip(firstOf(u.RealName, u.Profile.RealName, u.Profile.DisplayName, u.Name, u.ID), intake.MaxNameBytes),
		Email: u.Profile.Email, Lang: langOf(u.Locale), Bot: u.IsBot}
	c.mu.Lock()
	if len(c.seen) >= userCacheSize {
		clear(c.seen)
	}
	c.seen[id] = cachedPerson{p, c.now()}
	c.mu.Unlock()
	return p, nil
}

// personOrID looks a user up, and falls back to the bare id when Slack
// cannot say: a report must not be lost because users.info failed.
func (b *Bot) personOrID(ctx context.Context, id string) person {
	p, err := b.person(ctx, id)
	if err != nil {
		b.d.Log.Warn("slack user lookup failed; using the id", "user", id, "err", err)
		return person{ID: id, Name: id}
	}
	return p
}

func langOf(locale string) intake.Lang {
	switch {
	case strings.HasPrefix(locale, "es"):
		return intake.Spanish
	case strings.HasPrefix(locale, "en"):
		return intake.English
	}
	return ""
}

func firstOf(list ...string) string {
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

// agent returns the actor for a Slack user who is a help-desk agent.
func (b *Bot) agent(ctx context.Context, user string) (intake.Actor, bool, error) {
	name, ok := b.cfg.Agents[user]
	if !ok {
		return intake.Actor{}, false, nil
	}
	a := intake.Actor{Kind: intake.ActorAgent, Name: name, Via: "slack"}
	ag, err := b.d.Agents.Agent(ctx, name)
	switch {
	case err == nil:
		a.Admin = ag.Admin
	case !errors.Is(err, intake.ErrNotFound):
		return a, true, err
	}
	return a, true, nil
}

// thread is a Slack conversation: a channel and the ts of its first message.
type thread struct{ Channel, TS string }

func (t thread) String() string { return t.Channel + "/" + t.TS }

func parseThread(s string) (thread, bool) {
	ch, ts, ok := strings.Cut(s, "/")
	if !ok || ch == "" || ts == "" {
		return thread{}, false
	}
	return thread{ch, ts}, true
}
