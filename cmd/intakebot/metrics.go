package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// countingLedger counts each inbound outcome it records, by channel and
// outcome, for Prometheus; everything else is the store's.
type countingLedger struct {
	*redisstore.Store
	total *prometheus.CounterVec
}

func newCountingLedger(store *redisstore.Store, reg prometheus.Registerer) countingLedger {
	total := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "intakebot_inbound_total", Help: "Inbound messages by channel and recorded outcome (quarantined included).",
	}, []string{"channel", "outcome"})
	reg.MustRegister(total)
	return countingLedger{Store: store, total: total}
}

func (l countingLedger) Record(ctx context.Context, key string, r intake.InboundRecord) (bool, error) {
	wrote, err := l.Store.Record(ctx, key, r)
	if wrote {
		l.total.WithLabelValues(string(r.Channel), r.Outcome).Inc()
	}
	return wrote, err
}

func (l countingLedger) RecordMany(ctx context.Context, keys []string, rs []intake.InboundRecord) error {
	err := l.Store.RecordMany(ctx, keys, rs)
	if err == nil {
		for _, r := range rs {
			l.total.WithLabelValues(string(r.Channel), r.Outcome).Inc()
		}
	}
	return err
}

// outboxCollector reads the outbox's depth when Prometheus scrapes, and
// says whether Redis answered. With Redis unavailable the outbox gauges
// are left out (their last values would lie) and intakebot_redis_up is 0;
// the scrape still serves every other metric.
type outboxCollector struct {
	store         *redisstore.Store
	waiting, dead *prometheus.Desc
	up            *prometheus.Desc
}

func newOutboxCollector(store *redisstore.Store) *outboxCollector {
	return &outboxCollector{store: store,
		waiting: prometheus.NewDesc("intakebot_outbox_waiting", "Messages waiting in the outbox, by route.", []string{"channel"}, nil),
		dead:    prometheus.NewDesc("intakebot_outbox_dead", "Messages in the dead letters, by route.", []string{"channel"}, nil),
		up:      prometheus.NewDesc("intakebot_redis_up", "1 when Redis answered this scrape's reads; 0 when it is unavailable (the Redis-backed gauges are then left out).", nil, nil),
	}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.waiting
	ch <- c.dead
	ch <- c.up
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	waiting, dead, err := c.store.OutboxDepth(ctx)
	if errors.Is(err, intake.ErrUnavailable) {
		ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, 1)
	if err != nil {
		// Redis answered, but not what we expected: this is ours to
		// fix. The handler logs it and serves the rest (ContinueOnError).
		ch <- prometheus.NewInvalidMetric(c.waiting, err)
		return
	}
	for route, n := range waiting {
		ch <- prometheus.MustNewConstMetric(c.waiting, prometheus.GaugeValue, float64(n), string(route))
	}
	for route, n := range dead {
		ch <- prometheus.MustNewConstMetric(c.dead, prometheus.GaugeValue, float64(n), string(route))
	}
}

// metricsHandler serves the registry. A collector that fails is logged and
// left out, never a 500 for the whole scrape: the metrics that still work
// (the runtime's, the mailboxes', the counters) matter most during an
// outage.
func metricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError, ErrorLog: scrapeLog{log}})
}

// scrapeLog lets promhttp report a failed collector through slog.
type scrapeLog struct{ log *slog.Logger }

func (l scrapeLog) Println(v ...any) { l.log.Warn("metrics scrape: " + fmt.Sprint(v...)) }

// registerSMTPMetrics exports the mail server's health: the start-up check,
// then each delivery.
func registerSMTPMetrics(reg prometheus.Registerer, c web.Component) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intakebot_smtp_up",
			Help: "1 when the SMTP server took our last session (start-up check or delivery); 0 when it failed or refused us."}, func() float64 {
			if at, err := c.Status(); err != nil || at.IsZero() {
				return 0
			}
			return 1
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intakebot_smtp_last_success_timestamp_seconds",
			Help: "When the SMTP server last took our session (0 before the first)."}, func() float64 {
			at, _ := c.Status()
			if at.IsZero() {
				return 0
			}
			return float64(at.Unix())
		}),
	)
}

// watchedMailbox is a mailbox watcher as its metrics see it.
type watchedMailbox interface {
	web.Component
	Quarantined() (int64, bool)
}

// registerMailboxMetrics exports a mailbox's health for Prometheus.
func registerMailboxMetrics(reg prometheus.Registerer, w watchedMailbox) {
	labels := prometheus.Labels{"mailbox": w.Name()}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intakebot_mailbox_up",
			Help: "1 when the mailbox's last attempt succeeded.", ConstLabels: labels}, func() float64 {
			if _, err := w.Status(); err != nil {
				return 0
			}
			return 1
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intakebot_mailbox_last_success_timestamp_seconds",
			Help: "When the mailbox was last read successfully.", ConstLabels: labels}, func() float64 {
			at, _ := w.Status()
			if at.IsZero() {
				return 0
			}
			return float64(at.Unix())
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intakebot_mailbox_poll_lag_seconds",
			Help: "Seconds since the mailbox was last read successfully (0 before the first read).", ConstLabels: labels}, func() float64 {
			at, _ := w.Status()
			if at.IsZero() {
				return 0
			}
			return time.Since(at).Seconds()
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "intakebot_mailbox_quarantine_messages",
			Help: "Mails in the mailbox's quarantine folder, counted after each pass (0 before the first).", ConstLabels: labels}, func() float64 {
			n, _ := w.Quarantined()
			return float64(n)
		}),
	)
}
