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
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"
)

func serve(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	fs := newFlags("serve", stderr)
	configPath := fs.String("config", "", "YAML configuration file (default: embedded defaults)")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"serve takes no arguments"}
	}
	cfg, err := loadConfig(*configPath, env)
	if err != nil {
		return err
	}
	log, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}
	rules, err := cfg.rules()
	if err != nil {
		return err
	}
	texts, err := templates.Load()
	if err != nil {
		return err
	}

	rdb, closeRedis, err := openRedis(ctx, cfg, stdout, log)
	if err != nil {
		return err
	}
	defer closeRedis()
	// An outbox queue for each channel that can be a reporter's reply
	// channel, enabled or not: a notice for a disabled channel waits in its
	// queue until the channel is back.
	store := redisstore.New(rdb, cfg.Redis.Prefix, intake.ChannelEmail, intake.ChannelSlack)
	if cfg.Slack.enabled() {
		// The triage channel and Slack prompts follow every change.
		store.WatchChanges()
	}
	if err := store.Ping(ctx); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if err := store.Migrate(ctx); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := workflow.NewMetrics(reg)
	reg.MustRegister(newOutboxCollector(store))
	// Every channel records its inbound outcomes through this, counted.
	ledger := newCountingLedger(store, reg)
	engine := workflow.NewEngine(store, rules, metrics, time.Now)

	if cfg.Redis.URL == "" {
		token, err := store.AddAgent(ctx, "admin", true, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Embedded mode: agent \"admin\" (an admin) has the API token:\n  export INTAKEBOT_TOKEN=%s\n", token)
	}
	// With nothing configured, a mail server in memory stands in for the
	// help desk's (local.go). It stops after the watchers that read it.
	stopLocal, err := startLocal(cfg, stdout, log)
	if err != nil {
		return err
	}
	defer stopLocal()

	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return err
	}
	signer, err := surveySigner(cfg, log)
	if err != nil {
		return err
	}
	baseURL := cfg.Web.BaseURL
	if baseURL == "" {
		baseURL = "http://" + ln.Addr().String()
	}
	links := surveylink.Linker{Signer: signer, BaseURL: baseURL}
	pages, err := templates.LoadPages()
	if err != nil {
		return err
	}

	// The channels that deliver messages to reporters plug in here; until a
	// channel is configured its messages stay queued and visible in /api/v1/outbox.
	notifiers := map[intake.Channel]workflow.Notifier{}
	email, err := newEmailChannel(cfg.Email, engine, ledger, store, store, store, store, log)
	if err != nil {
		return err
	}
	var components []web.Component
	sched := cron.New(cron.WithChain(cron.Recover(cronLogger{log}), cron.SkipIfStillRunning(cronLogger{log})))
	// Every goroutine started here ends before serve returns.
	var workers sync.WaitGroup
	defer workers.Wait()
	workCtx, stopWork := context.WithCancel(ctx)
	defer stopWork()
	if email != nil {
		notifiers[intake.ChannelEmail] = email.sender
		for i, w := range email.watchers {
			components = append(components, w)
			if _, err := sched.AddFunc(email.polls[i], w.Poll); err != nil {
				return fmt.Errorf("email.mailboxes %s poll %q: %w", w.Name(), email.polls[i], err)
			}
			registerMailboxMetrics(reg, w)
			workers.Add(1)
			go func() {
				defer workers.Done()
				if err := w.Run(workCtx); err != nil {
					log.Error("mailbox watcher stopped", "mailbox", w.Name(), "err", err)
				}
			}()
		}
	}
	slack, err := newSlackChannel(ctx, cfg, engine, store, ledger, links, rules, log)
	if err != nil {
		return err
	}
	if slack != nil {
		notifiers[intake.ChannelSlack] = slack.bot.Notifier()
		notifiers[workflow.ChannelWatch] = slack.bot.Watcher()
		components = append(components, slack.bot)
		workers.Add(1)
		go func() {
			defer workers.Done()
			if err := slack.run(workCtx); err != nil {
				log.Error("slack socket mode stopped", "err", err)
			}
		}()
		defer func() {
			// Replies already acknowledged get the shutdown's time to go out.
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.HTTP.ShutdownTimeout))
			defer cancel()
			slack.bot.Close(ctx)
		}()
	}
	caps := workflow.Caps{PerRecipient: cfg.Email.Caps.PerRecipient, PerIncident: cfg.Email.Caps.PerIncident, Window: time.Duration(cfg.Email.Caps.Window)}
	for ch, n := range notifiers {
		d := workflow.NewDispatcher(store, store, workflow.Renderer{Texts: texts, Links: links, Labels: rules}, ch, n, log, metrics, time.Now).
			WithPause(store) // a channel's "wait" holds every bot
		if lease := time.Duration(cfg.Outbox.Lease); lease > 0 {
			d.Lease = lease
		}
		if ch == intake.ChannelEmail {
			d.WithCaps(store, caps) // a mail loop is the storm to fear
		}
		if _, err := sched.AddFunc(cfg.Outbox.Poll, func() {
			if _, err := d.Drain(workCtx); err != nil {
				log.Error("outbox drain failed", "channel", ch, "err", err)
			}
		}); err != nil {
			return fmt.Errorf("outbox.poll %q: %w", cfg.Outbox.Poll, err)
		}
	}
	timers, err := cfg.timers()
	if err != nil {
		return err
	}
	scheduler := workflow.NewScheduler(engine, store, timers, log, metrics)
	if _, err := sched.AddFunc(cfg.Timers.Tick, func() {
		if _, err := scheduler.Tick(workCtx); err != nil {
			log.Error("timers tick failed", "err", err)
		}
	}); err != nil {
		return fmt.Errorf("timers.tick %q: %w", cfg.Timers.Tick, err)
	}
	sched.Start()
	// On the way out: stop intake and new work, let the deliveries under
	// way finish (each is bounded by the dispatcher's timeout; the rest of
	// a batch goes back to the outbox), and give up after the shutdown
	// timeout - what is then cut is safe to redo, as after a crash.
	defer func() {
		stopWork()
		select {
		case <-sched.Stop().Done():
		case <-time.After(time.Duration(cfg.HTTP.ShutdownTimeout)):
			log.Warn("shutdown timeout: leaving work still running; it is redone at the next start")
		}
	}()

	api := web.NewServer(web.Deps{
		Incidents: engine, Lister: store, Outbox: store, Inbound: store, Files: store, Agents: store, Health: store, Components: components,
		States: workflow.States(), Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), Log: log, Registerer: reg,
	})
	root := http.NewServeMux()
	root.Handle("/s/", surveylink.NewHandler(surveylink.Deps{Signer: signer, Incidents: engine, Answerer: engine,
		Spender: store, Pages: pages, Log: log}))
	if slack != nil && slack.cfg.Mode == "http" {
		root.Handle("/slack/", slack.bot.HTTPHandler(slack.cfg.SigningSecret))
	}
	events, err := newEventsHandler(cfg.Events, engine, store, ledger, log)
	if err != nil {
		return err
	}
	if events != nil {
		root.Handle("/api/v1/events", events)
	}
	root.Handle("/", api)
	srv := &http.Server{Handler: root, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute}
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
	shutdownCtx, cancel := context.WithTimeout(context.Background(), time.Duration(cfg.HTTP.ShutdownTimeout))
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// surveySigner signs survey links with the configured key, or with a
// random one (links then die with the process) when none is set.
func surveySigner(cfg *Config, log *slog.Logger) (*surveylink.Signer, error) {
	key, err := base64.StdEncoding.DecodeString(cfg.Web.LinkKey)
	if err != nil {
		return nil, fmt.Errorf("web.link_key is not base64: %w", err)
	}
	if len(key) == 0 {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		log.Warn("web.link_key is not set: survey links use a random key and stop working when intakebot restarts")
	}
	return surveylink.NewSigner(key, time.Duration(cfg.Web.LinkTTL), time.Now)
}

// openRedis connects to the configured Redis, or starts the embedded store
// when none is configured.
func openRedis(ctx context.Context, cfg *Config, stdout io.Writer, log *slog.Logger) (redis.UniversalClient, func(), error) {
	if cfg.Redis.URL != "" {
		rdb, err := redisstore.Connect(cfg.Redis.URL)
		if err != nil {
			return nil, nil, err
		}
		return rdb, func() { rdb.Close() }, nil
	}
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr(cfg.Redis.EmbeddedListen); err != nil {
		return nil, nil, fmt.Errorf("embedded store: %w", err)
	}
	url := "redis://" + m.Addr()
	fmt.Fprintf(stdout, `
  WARNING: no redis.url is configured, so intakebot runs on an embedded
  in-memory store at %s. Nothing survives a restart.
  Set INTAKEBOT_REDIS_URL (or redis.url) to keep state in a real Redis.

`, url)
	log.Warn("using the embedded in-memory store: state will not survive a restart", "addr", url)
	rdb := redis.NewClient(&redis.Options{Addr: m.Addr()})
	return rdb, func() { rdb.Close(); m.Close() }, nil
}

func newLogger(cfg *Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Log.Level)); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(cfg.Log.Format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log.format must be text or json, not %q", cfg.Log.Format)
}

// cronLogger lets robfig/cron log through slog.
type cronLogger struct{ log *slog.Logger }

func (c cronLogger) Info(msg string, kv ...any) { c.log.Debug(msg, kv...) }
func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.log.Error(msg, append(kv, "err", err)...)
}
