package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/intakebot/intakebot/channels/events"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// EventsConfig is the events: section (system events and alerts).
type EventsConfig struct {
	// Token authenticates POST /api/v1/events; empty turns it off.
	Token           string                  `yaml:"token"`
	DefaultSeverity string                  `yaml:"default_severity"`
	Severities      map[string]events.Level `yaml:"severities"`
}

// newEventsHandler returns the events endpoint, or nil when no token is set.
func newEventsHandler(cfg EventsConfig, engine *workflow.Engine, store *redisstore.Store, ledger events.Ledger, log *slog.Logger) (http.Handler, error) {
	if cfg.Token == "" {
		return nil, nil
	}
	if len(cfg.Token) < 16 {
		return nil, fmt.Errorf("events.token must be at least 16 characters")
	}
	if _, ok := cfg.Severities[cfg.DefaultSeverity]; !ok {
		return nil, fmt.Errorf("events.default_severity %q is not one of events.severities", cfg.DefaultSeverity)
	}
	for name, l := range cfg.Severities {
		if !l.Impact.Valid() || !l.Urgency.Valid() {
			return nil, fmt.Errorf("events.severities.%s: impact and urgency must be high, medium or low", name)
		}
	}
	r := events.NewReceiver(events.Config{Severities: cfg.Severities, DefaultSeverity: cfg.DefaultSeverity},
		engine, store, ledger, log.With("channel", string(intake.ChannelEvent)), time.Now)
	return r.Handler(cfg.Token), nil
}
