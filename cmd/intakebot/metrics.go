package main

import (
	"context"
	"time"

	"github.com/intakebot/intakebot/channels/web"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
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

// outboxCollector reads the outbox's depth when Prometheus scrapes.
type outboxCollector struct {
	store         *redisstore.Store
	waiting, dead *prometheus.Desc
}

func newOutboxCollector(store *redisstore.Store) *outboxCollector {
	return &outboxCollector{store: store,
		waiting: prometheus.NewDesc("intakebot_outbox_waiting", "Messages waiting in the outbox, by route.", []string{"channel"}, nil),
		dead:    prometheus.NewDesc("intakebot_outbox_dead", "Messages in the dead letters, by route.", []string{"channel"}, nil),
	}
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.waiting; ch <- c.dead }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	waiting, dead, err := c.store.OutboxDepth(ctx)
	if err != nil {
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
