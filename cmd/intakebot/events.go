package main

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/intakebot/intakebot/channels/events"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// newEventsHandler returns the events endpoint, or nil when no token is set.
// Validate checked the token and the severities.
func newEventsHandler(cfg config.Events, engine *workflow.Engine, store *redisstore.Store, ledger events.Ledger, log *slog.Logger) http.Handler {
	if cfg.Token == "" {
		return nil
	}
	r := events.NewReceiver(events.Config{Severities: cfg.Severities, DefaultSeverity: cfg.DefaultSeverity},
		engine, store, ledger, log.With("channel", string(intake.ChannelEvent)), time.Now)
	return r.Handler(cfg.Token)
}
