package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/channels/portallink"
	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/channels/web/console"
	"github.com/intakebot/intakebot/channels/web/portal"
	"github.com/intakebot/intakebot/channels/webhook"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
)

// serve runs the bot. Everything is built first and started only then, so
// that a start-up failure (a taken port, an unreachable Redis) returns at
// once, before any goroutine needs stopping.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newFlags("serve", stderr)
	configPath := fs.String("config", "", "YAML configuration file (default: embedded defaults)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"serve takes no arguments"}
	}
	cfg, warnings, err := config.Load(*configPath, env)
	if err != nil {
		return invalidConfig(err)
	}
	if probs := cfg.Validate(); len(probs) > 0 {
		return invalidConfig(probs)
	}
	log := newLogger(cfg, stderr)
	for _, w := range warnings {
		log.Warn(w.String())
	}

	// The API's port first: when it is taken nothing else has started.
	ln, err := listen("http.listen", cfg.HTTP.Listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	core, err := newCore(ctx, cfg, baseURL(cfg, ln), stdout, log)
	if err != nil {
		return err
	}
	defer core.close()
	// With nothing configured, a mail server in memory stands in for the
	// help desk's (local.go). It stops after the watchers that read it.
	local := cfg.LocalMode() // startLocal fills in the e-mail channel
	stopLocal, err := startLocal(cfg, env, "http://"+ln.Addr().String(), stdout, log)
	if err != nil {
		return err
	}
	defer stopLocal()
	key, err := linkKey(cfg, log)
	if err != nil {
		return err
	}
	signer, err := surveylink.NewSigner(key, time.Duration(cfg.Web.LinkTTL), time.Now)
	if err != nil {
		return err
	}
	links := surveylink.Linker{Signer: signer, BaseURL: baseURL(cfg, ln)}
	portalLinks, err := newPortalSigner(cfg, key, baseURL(cfg, ln))
	if err != nil {
		return err
	}
	chans, err := newChannels(ctx, cfg, core, links, portalLinks, log)
	if err != nil {
		return err
	}
	// workCtx ends intake and new work on the way out.
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	sched, drains, err := newSchedule(workCtx, cfg, core, chans, links, log)
	if err != nil {
		return err
	}
	kbIndex := core.kb
	kbPos, err := loadKB(ctx, cfg, core.store, kbIndex, log)
	if err != nil {
		return err
	}
	handler, err := newHandler(cfg, core, chans, signer, portalLinks, kbIndex, links.BaseURL, log)
	if err != nil {
		return err
	}
	if portalLinks != nil && local {
		fmt.Fprintf(stdout, "The reporters' portal is at %s (sign-in links arrive in the demo user's mailbox: intakebot local inbox)\n", portalLinks.PortalURL())
	}

	chans.checkSMTP(ctx, log)

	// Started from here on; every goroutine ends before serve returns.
	shutdown := time.Duration(cfg.HTTP.ShutdownTimeout)
	var workers sync.WaitGroup
	defer workers.Wait()
	chans.start(workCtx, &workers, log)
	for _, drain := range drains {
		workers.Go(func() { drain(workCtx) })
	}
	workers.Go(func() { core.wake.Run(workCtx) })
	workers.Go(func() { followKB(workCtx, core.store, kbIndex, kbPos, log) })
	defer chans.close(shutdown)
	sched.Start()
	defer stopSchedule(sched, stopWork, shutdown, log)
	return serveHTTP(ctx, ln, handler, shutdown, stdout, log)
}

// listen listens on addr; a failure names the configuration key and the
// port, and says what to do about a taken one.
func listen(key, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError(key, addr, err)
	}
	return ln, nil
}

func listenError(key, addr string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		_, port, _ := net.SplitHostPort(addr)
		return fmt.Errorf("%s %s: port %s is taken (is another intakebot running?); free it or set %s (%s) to another address",
			key, addr, port, key, "INTAKEBOT_"+strings.ToUpper(strings.ReplaceAll(key, ".", "_")))
	}
	return fmt.Errorf("%s %s: %w", key, addr, err)
}

// baseURL is web.base_url, or the API's own address when unset
// (Validate allows that on loopback only).
func baseURL(cfg *config.Config, ln net.Listener) string {
	if cfg.Web.BaseURL != "" {
		return cfg.Web.BaseURL
	}
	return "http://" + ln.Addr().String()
}

// core is what every part of the bot shares: the store, the engine, the
// rules and the metrics.
type core struct {
	rdb     redis.UniversalClient
	store   *redisstore.Store
	engine  *workflow.Engine
	rules   *intake.Rules
	texts   *templates.Set
	reg     *prometheus.Registry
	metrics *workflow.Metrics
	wake    *workflow.Wakeups // commits wake the outbox's drain loops
	kb      *kb.Index         // the knowledge base in memory: registration's suggestions, search
	ledger  countingLedger    // every channel records its inbound outcomes through this, counted
	close   func()
}

// base is where this bot is reached (web.base_url or the listener's
// address), for the console's address printed in local mode.
func newCore(ctx context.Context, cfg *config.Config, base string, stdout io.Writer, log *slog.Logger) (*core, error) {
	rules, err := cfg.Rules()
	if err != nil {
		return nil, err
	}
	// templates.dir was checked by Validate; a file that changed since
	// fails here, naming the file, before anything is served.
	texts, err := templates.LoadFS(cfg.Templates.FS())
	if err != nil {
		return nil, err
	}
	rdb, closeRedis, err := openRedis(cfg, stdout, log)
	if err != nil {
		return nil, err
	}
	c := &core{rdb: rdb, rules: rules, texts: texts, close: closeRedis}
	// An outbox queue for each channel that can be a reporter's reply
	// channel, enabled or not: a notice for a disabled channel waits in its
	// queue until the channel is back.
	c.store = redisstore.New(rdb, cfg.Redis.Prefix, intake.RouteEmail, intake.RouteSlack)
	if cfg.Slack.Enabled() || cfg.Web.Console.Enabled {
		// The triage channel, Slack prompts and the consoles follow every change.
		c.store.WatchChanges()
	}
	// Agent alerts (notify.*) are queued with the change that raises them.
	c.store.AlertAgents(cfg.AlertTargets())
	// Outage grouping at registration (grouping.enabled); agents may
	// group by hand either way.
	c.store.WithGrouping(cfg.WorkflowGrouping())
	if err := c.store.Ping(ctx); err != nil {
		closeRedis()
		return nil, fmt.Errorf("redis.url: %w", err)
	}
	for _, advice := range c.store.MemoryAdvice(ctx) {
		log.Warn(advice)
	}
	if err := c.store.Migrate(ctx); err != nil {
		closeRedis()
		return nil, err
	}
	c.reg = prometheus.NewRegistry()
	c.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	c.metrics = workflow.NewMetrics(c.reg)
	c.reg.MustRegister(newOutboxCollector(c.store))
	c.ledger = newCountingLedger(c.store, c.reg)
	c.wake = workflow.NewWakeups(c.store, log)
	c.engine = workflow.NewEngine(workflow.WakeOnCommit(c.store, c.wake), rules, c.metrics, time.Now).WithGrouper(workflow.WakeGroups(c.store, c.wake))
	c.kb = kb.NewIndex()
	c.engine.UseKB(workflow.Suggestions{Index: c.kb, MinScore: cfg.KB.Suggest.MinScore, Counter: c.store})
	if cfg.Redis.URL == "" {
		token, err := c.store.AddAgent(ctx, "admin", true, time.Now())
		if err != nil {
			closeRedis()
			return nil, err
		}
		fmt.Fprintf(stdout, "Embedded mode: agent \"admin\" (an admin) has the API token:\n  export INTAKEBOT_TOKEN=%s\n", token)
		if cfg.Web.Console.Enabled {
			if err := printConsoleLogin(ctx, base, c, stdout); err != nil {
				closeRedis()
				return nil, err
			}
		}
	}
	return c, nil
}

// channels are the configured channels: who delivers each outbox route,
// and what runs in the background.
type channels struct {
	email      *emailChannel
	slack      *slackChannel
	notifiers  map[intake.Route]workflow.Notifier
	components []web.Component
	live       *console.Hub // the consoles' live updates (console.go)
	// signIn mails the portal's sign-in links (nil without e-mail).
	signIn portal.Mailer
}

func newChannels(ctx context.Context, cfg *config.Config, c *core, links surveylink.Linker, portalLinks *portallink.Signer, log *slog.Logger) (*channels, error) {
	// Until a channel is configured its messages stay queued and visible
	// in /api/v1/outbox.
	ch := &channels{notifiers: map[intake.Route]workflow.Notifier{}}
	email, err := newEmailChannel(cfg.Email, cfg.Org, c.engine, c.ledger, c.store, c.store, c.store, c.store, log)
	if err != nil {
		return nil, err
	}
	if email != nil {
		ch.email = email
		render := smtpout.Renderer{Texts: c.texts, Links: links, Solved: links, MinScore: c.engine.MinScore(), Labels: c.rules,
			Org: templates.Org{Name: cfg.Org.Name, SupportURL: cfg.Org.SupportURL, LogoURL: cfg.Org.LogoURL}}
		if portalLinks != nil { // a nil signer must not become a non-nil interface
			render.Portal = portalLinks
		}
		ch.notifiers[intake.RouteEmail] = smtpout.Notifier{Sender: email.sender, Render: render}
		ch.signIn = smtpout.SignInMailer{Sender: email.sender, Render: render}
		if cfg.Notify.MailsAlerts() {
			ch.notifiers[intake.RouteAgentMail] = smtpout.Notifier{Sender: email.sender, Render: smtpout.Renderer{Texts: c.texts,
				Labels: c.rules, ConsoleURL: consoleURL(cfg),
				Org: templates.Org{Name: cfg.Org.Name, SupportURL: cfg.Org.SupportURL, LogoURL: cfg.Org.LogoURL}}}
		}
		ch.components = append(ch.components, email.sender)
		registerSMTPMetrics(c.reg, email.sender)
		for _, w := range email.watchers {
			ch.components = append(ch.components, w)
			registerMailboxMetrics(c.reg, w)
		}
	}
	slack, err := newSlackChannel(ctx, cfg, c.engine, c.store, c.ledger, links, portalLinks, c.rules, log)
	if err != nil {
		return nil, err
	}
	if slack != nil {
		ch.slack = slack
		ch.notifiers[intake.RouteSlack] = slack.bot.Notifier()
		ch.notifiers[intake.RouteWatch] = slack.bot.Watcher()
		ch.components = append(ch.components, slack.bot)
	}
	if len(cfg.Notify.Webhooks) > 0 {
		n := webhook.Notifier{BaseURL: cfg.Web.BaseURL, Now: time.Now}
		for i, w := range cfg.Notify.Webhooks {
			secret, err := w.Secret()
			if err != nil {
				return nil, fmt.Errorf("notify.webhooks[%d].secret_file: %w", i, err)
			}
			n.Hooks = append(n.Hooks, webhook.Hook{URL: w.URL, Secret: secret})
		}
		ch.notifiers[intake.RouteWebhook] = n
	}
	if cfg.Web.Console.Enabled {
		newLive(cfg, c, ch, log)
	}
	return ch, nil
}

// consoleURL links an agent alert to the incident's console page, or is
// nil without web.base_url (no link is better than a relative one).
func consoleURL(cfg *config.Config) func(string) string {
	if cfg.Web.BaseURL == "" {
		return nil
	}
	return func(id string) string { return webhook.ConsoleURL(cfg.Web.BaseURL, id) }
}

// smtpStartCheck bounds the start-up check of the SMTP server: a server
// that does not answer must not hold the bot's start for the whole
// delivery timeout.
const smtpStartCheck = 10 * time.Second

// checkSMTP signs in to the SMTP server once (connect, EHLO, STARTTLS,
// AUTH; nothing is sent), so that /readyz and intakebot_smtp_up tell at
// once whether mail can go out. A failure is logged, never fatal: the
// outbox keeps the mail until the server takes it, and every delivery
// updates the health.
func (ch *channels) checkSMTP(ctx context.Context, log *slog.Logger) {
	if ch.email == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, smtpStartCheck)
	defer cancel()
	if err := ch.email.sender.Check(ctx); err != nil {
		log.Warn("email.smtp: the SMTP server does not take our session; mail stays queued until it does (see /readyz)", "err", err)
	}
}

// start runs the mailbox watchers and Slack's Socket Mode until ctx ends.
func (ch *channels) start(ctx context.Context, workers *sync.WaitGroup, log *slog.Logger) {
	if ch.email != nil {
		for _, w := range ch.email.watchers {
			workers.Go(func() {
				if err := w.Run(ctx); err != nil {
					log.Error("mailbox watcher stopped", "mailbox", w.Name(), "err", err)
				}
			})
		}
	}
	if ch.live != nil {
		workers.Go(func() {
			if err := ch.live.Run(ctx, nil, 0); err != nil {
				log.Error("console live updates stopped", "err", err)
			}
		})
	}
	if ch.slack != nil {
		workers.Go(func() {
			if err := ch.slack.run(ctx); err != nil {
				log.Error("slack socket mode stopped", "err", err)
			}
		})
	}
}

// close gives replies Slack already acknowledged the shutdown's time to go out.
func (ch *channels) close(timeout time.Duration) {
	if ch.slack == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	ch.slack.bot.Close(ctx)
}

// newSchedule is the cron of the bot's periodic work: mailbox polls,
// outbox polls, survey timers. Its jobs run under ctx. It also returns one
// drain loop per delivered route, for the caller to run and wait for: a
// commit wakes them at once, the outbox poll only covers a lost wake-up.
func newSchedule(ctx context.Context, cfg *config.Config, c *core, ch *channels, links surveylink.Linker, log *slog.Logger) (*cron.Cron, []func(context.Context), error) {
	s := cron.New(cron.WithChain(cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log})))
	if ch.email != nil {
		for i, w := range ch.email.watchers {
			if _, err := s.AddFunc(ch.email.polls[i], w.Poll); err != nil {
				return nil, nil, fmt.Errorf("email.mailboxes %s poll %q: %w", w.Name(), ch.email.polls[i], err)
			}
		}
	}
	caps := workflow.Caps{PerRecipient: cfg.Email.Caps.PerRecipient, PerIncident: cfg.Email.Caps.PerIncident, Window: time.Duration(cfg.Email.Caps.Window)}
	var drains []func(context.Context)
	notifiers := ch.notifiers
	if !cfg.Outbox.Deliver {
		notifiers = nil // an intake-only bot: the others deliver
	}
	for route, n := range notifiers {
		d := workflow.NewDispatcher(c.store, c.store, route, n, log, c.metrics, time.Now).
			WithPause(c.store) // a channel's "wait" holds every bot
		// Validate made sure the lease outlives a delivery: otherwise
		// Drain would claim and postpone forever without sending.
		d.Lease, d.Timeout = time.Duration(cfg.Outbox.Lease), time.Duration(cfg.Outbox.DeliveryTimeout)
		if route == intake.RouteEmail {
			d.WithCaps(c.store, caps) // a mail loop is the storm to fear
		}
		drains = append(drains, c.wake.DrainLoop(route, func(ctx context.Context) {
			// Cut by the shutdown, a drain's claim fails: nothing is lost.
			if _, err := d.Drain(ctx); err != nil && ctx.Err() == nil {
				log.Error("outbox drain failed", "channel", route, "err", err)
			}
		}))
		if _, err := s.AddFunc(cfg.Outbox.Poll, func() { c.wake.Poke(route) }); err != nil {
			return nil, nil, fmt.Errorf("outbox.poll %q: %w", cfg.Outbox.Poll, err)
		}
	}
	timers, err := cfg.WorkflowTimers()
	if err != nil {
		return nil, nil, err
	}
	scheduler := workflow.NewScheduler(c.engine, c.store, timers, log, c.metrics)
	if _, err := s.AddFunc(cfg.Timers.Tick, func() {
		if _, err := scheduler.Tick(ctx); err != nil {
			log.Error("timers tick failed", "err", err)
		}
	}); err != nil {
		return nil, nil, fmt.Errorf("timers.tick %q: %w", cfg.Timers.Tick, err)
	}
	if err := scheduleArchive(ctx, s, cfg, c.store, log); err != nil {
		return nil, nil, err
	}
	return s, drains, nil
}

// stopSchedule stops intake and new work, lets the deliveries under way
// finish (each is bounded by outbox.delivery_timeout; the rest of a batch
// goes back to the outbox), and gives up after the shutdown timeout: what
// is then cut is safe to redo, as after a crash.
func stopSchedule(s *cron.Cron, stopWork context.CancelFunc, timeout time.Duration, log *slog.Logger) {
	stopWork()
	select {
	case <-s.Stop().Done():
	case <-time.After(timeout):
		log.Warn("shutdown timeout: leaving work still running; it is redone at the next start")
	}
}

// newHandler routes the API, the survey pages, Slack's Events API and the
// events webhook.
func newHandler(cfg *config.Config, c *core, ch *channels, signer *surveylink.Signer, portalLinks *portallink.Signer, kbIndex *kb.Index, base string, log *slog.Logger) (http.Handler, error) {
	pages, err := templates.LoadPagesFS(cfg.Templates.FS())
	if err != nil {
		return nil, err
	}
	api := web.NewServer(web.Deps{
		Incidents: c.engine, Groups: c.engine, Lister: c.store, Outbox: c.store, Inbound: c.store, Files: c.store, Agents: c.store, AgentAdmin: c.store, Health: c.store,
		Components: ch.components, StrictReadiness: cfg.HTTP.ReadyzStrict, Metrics: metricsHandler(c.reg, log),
		Log: log, Registerer: c.reg, KB: web.KBDeps{Store: c.store, Lister: c.store, Index: kbIndex, Solved: c.store, Now: time.Now},
		KnownErrors: web.KnownErrorDeps{Store: c.store, Ops: workflow.NewKnownErrors(c.engine, c.store), Index: kbIndex, Now: time.Now},
	})
	root := http.NewServeMux()
	links := surveylink.NewHandler(surveylink.Deps{Signer: signer, Incidents: c.engine, Answerer: c.engine,
		Solver: c.engine, Spender: c.store, Pages: pages, Log: log})
	root.Handle("/s/", links)
	root.Handle("/k/", links) // "this solved my problem" links

	if ch.slack != nil && ch.slack.cfg.Mode == "http" {
		root.Handle("/slack/", ch.slack.bot.HTTPHandler(ch.slack.cfg.SigningSecret))
	}
	if events := newEventsHandler(cfg.Events, c.engine, c.store, c.ledger, log); events != nil {
		root.Handle("/api/v1/events", events)
	}
	if cfg.Web.Console.Enabled {
		con, err := newConsole(cfg, c, ch, base, log)
		if err != nil {
			return nil, err
		}
		root.Handle("/console/", con)
		root.Handle("GET /{$}", con)
	}
	if portalLinks != nil {
		p, err := newPortal(cfg, c, ch, portalLinks, log)
		if err != nil {
			return nil, err
		}
		root.Handle("/portal/", p)
	}
	root.Handle("/", api)
	return root, nil
}

// serveHTTP serves on ln until ctx ends, then shuts the server down.
func serveHTTP(ctx context.Context, ln net.Listener, h http.Handler, shutdown time.Duration, stdout io.Writer, log *slog.Logger) error {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
	fmt.Fprintf(stdout, "intakebot is serving the API on http://%s (try: curl http://%s/healthz)\n", ln.Addr(), ln.Addr())
	log.Info("serving", "listen", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdown)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// linkKey is the key that signs survey and portal links (each with a MAC
// label of its own): the configured one, or a random one (links then die
// with the process) when none is set.
func linkKey(cfg *config.Config, log *slog.Logger) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(cfg.Web.LinkKey)
	if err != nil {
		return nil, fmt.Errorf("web.link_key is not base64: %w", err)
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		log.Warn("web.link_key is not set: survey and portal links use a random key and stop working when intakebot restarts")
	}
	return key, nil
}

// openRedis connects to the configured Redis, or starts the embedded store
// when none is configured.
func openRedis(cfg *config.Config, stdout io.Writer, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if cfg.Redis.URL != "" {
		rdb, err := redisstore.Connect(cfg.Redis.URL)
		if err != nil {
			return nil, nil, fmt.Errorf("redis.url: %w", err)
		}
		return rdb, func() { rdb.Close() }, nil
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(cfg.Redis.EmbeddedListen); err != nil {
		return nil, nil, listenError("redis.embedded_listen", cfg.Redis.EmbeddedListen, err)
	}
	url := "redis://" + m.Addr()
	fmt.Fprintf(stdout, `
  WARNING: no redis.url is configured, so intakebot runs on an embedded
  in-memory store at %s. Nothing survives a restart.
  Set INTAKEBOT_REDIS_URL (or redis.url) to keep state in a real Redis.

`, url)
	log.Warn("using the embedded in-memory store: state will not survive a restart", "addr", url)
	rdb, err := redisstore.Connect(url) // its errors are recognised as a real Redis's
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return rdb, func() { rdb.Close(); m.Close() }, nil
}

// newLogger builds the one logger; Validate checked log.level and log.format.
func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.Log.Level))
	opts := &slog.HandlerOptions{Level: level}
	if strings.EqualFold(cfg.Log.Format, "json") {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// cronLogger lets robfig/cron log through slog.
type cronLogger struct{ log *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.log.Debug(msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.log.Error(msg, append(kv, "err", err)...)
}
