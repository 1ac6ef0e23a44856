package workflow

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// Queue is the outbox as the dispatcher needs it.
type Queue interface {
	// Claim leases up to max messages of the channel that are due at now; a
	// claimed message is not handed out again until the lease ends. Each
	// claim counts as an attempt.
	Claim(ctx context.Context, route intake.Route, now time.Time, lease time.Duration, max int) ([]intake.Notice, error)
	// Delivered removes the message and records the delivery in the
	// incident's history.
	Delivered(ctx context.Context, q intake.Notice, at time.Time) error
	// Failed records why an attempt failed and makes the message due again
	// at retryAt, or moves it to the dead letters when dead is set.
	Failed(ctx context.Context, q intake.Notice, reason string, retryAt time.Time, dead bool) error
	// Postpone makes a claimed message due again at retryAt without
	// counting the claim as an attempt (the channel asked us to wait).
	Postpone(ctx context.Context, q intake.Notice, reason string, retryAt time.Time) error
	// Dropped removes a claimed message that must not be delivered any
	// more (its question was answered or replaced) and keeps it, with the
	// reason, for the outbox listing.
	Dropped(ctx context.Context, q intake.Notice, reason string, at time.Time) error
}

// Notifier delivers notices through one channel, which renders each in its
// own form from msg and the incident as it is now. Deliver must use msg.ID
// as the idempotency key (for example in the Message-ID), so that a message
// delivered just before a crash is recognised when retried.
type Notifier interface {
	Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error
}

// Limiter caps how many messages go to one recipient and about one
// incident in a window, so that no mail loop can turn into a storm.
type Limiter interface {
	Allow(ctx context.Context, msg intake.Outgoing, perRecipient, perIncident int, window time.Duration, now time.Time) (bool, error)
}

// Pauser holds a whole route, for every bot, when its channel asks us to
// wait: the next tick must not call it again within the wait either.
type Pauser interface {
	Pause(ctx context.Context, route intake.Route, until, now time.Time) error
	PausedUntil(ctx context.Context, route intake.Route) (time.Time, error)
}

// Caps are the outgoing limits; a zero limit disables that cap, a window
// under a second disables both.
type Caps struct {
	PerRecipient int
	PerIncident  int
	Window       time.Duration
}

// errCapped delays a message past the current window.
var errCapped = errors.New("outgoing cap reached")

// staleError says why a queued question is not delivered: decided at its
// turn, from the incident as it is then (intake.Notice.Stale).
type staleError struct{ reason string }

func (e *staleError) Error() string { return e.reason }

// Dispatcher drains the outbox of one channel through its notifier.
type Dispatcher struct {
	limiter   Limiter
	caps      Caps
	queue     Queue
	incidents Store
	notifier  Notifier
	route     intake.Route
	log       *slog.Logger
	metrics   *Metrics
	now       func() time.Time
	// Lease is how long a claimed batch is hidden from other bots; keep it
	// above Batch times the notifier's timeout, so a slow batch cannot
	// outlive its lease and be sent by a second bot too.
	Lease       time.Duration
	Batch       int
	MaxAttempts int
	// Timeout bounds one delivery, so that a hung connection cannot hold
	// the route; Batch times Timeout stays under Lease.
	Timeout time.Duration
	pauser  Pauser
}

// WithPause makes the dispatcher honour and share channels' requests to
// wait, and returns it.
func (d *Dispatcher) WithPause(p Pauser) *Dispatcher {
	d.pauser = p
	return d
}

// WithCaps makes the dispatcher hold back messages past the caps (until
// the next window) and returns it.
func (d *Dispatcher) WithCaps(l Limiter, c Caps) *Dispatcher {
	d.limiter, d.caps = l, c
	return d
}

// NewDispatcher returns a dispatcher for one channel.
func NewDispatcher(q Queue, s Store, route intake.Route, n Notifier, log *slog.Logger, m *Metrics, now func() time.Time) *Dispatcher {
	return &Dispatcher{queue: q, incidents: s, notifier: n, route: route, log: log, metrics: m, now: now,
		Lease: 5 * time.Minute, Batch: 10, MaxAttempts: 10, Timeout: 25 * time.Second}
}

// Drain delivers every message that is due now and returns how many went
// out. A failed message is retried later with exponential backoff. It
// claims until nothing is due, since one shard may hold more than its share.
func (d *Dispatcher) Drain(ctx context.Context) (int, error) {
	sent := 0
	if d.pauser != nil {
		until, err := d.pauser.PausedUntil(ctx, d.route)
		if err != nil || until.After(d.now()) {
			return 0, err
		}
	}
	for {
		claimedAt := d.now()
		batch, err := d.queue.Claim(ctx, d.route, claimedAt, d.Lease, d.Batch)
		if err != nil || len(batch) == 0 {
			return sent, err
		}
		for i, q := range batch {
			if ctx.Err() != nil {
				// Shutting down: the message in flight was finished; the
				// rest goes back for the next start (or another bot).
				return sent, d.postpone(ctx, batch[i:], errors.New("shutting down"), d.now())
			}
			if d.Timeout > 0 && d.now().Sub(claimedAt)+d.Timeout > d.Lease {
				// The lease could run out during this delivery, and another
				// bot send it too: what is left goes back, due now.
				if err := d.postpone(ctx, batch[i:], errors.New("lease running out"), d.now()); err != nil {
					return sent, err
				}
				break
			}
			// Attempts counts this claim too.
			dead := q.Attempts >= d.MaxAttempts
			var err error
			if q.Attempts > d.MaxAttempts {
				err = fmt.Errorf("%d attempts without a recorded outcome (crashes during delivery?)", q.Attempts-1)
			} else {
				err = d.deliver(ctx, q)
			}
			var stale *staleError
			if errors.As(err, &stale) {
				// Answered or replaced before its turn: a question nobody
				// must answer is not sent. Like a delivery, the record is
				// written even when we are shutting down.
				d.log.Info("stale question dropped", "id", q.ID, "incident", q.Incident, "kind", q.Kind, "reason", stale.reason)
				if err := d.record(ctx, func(ctx context.Context) error { return d.queue.Dropped(ctx, q, stale.reason, d.now()) }); err != nil {
					return sent, err
				}
				d.metrics.dropped(d.route, q.Kind)
				continue
			}
			var later *intake.RetryLater
			if errors.As(err, &later) {
				// The channel asked us to slow down: nothing more goes
				// out on it until then, and waiting is not a failure.
				d.log.Info("channel asked to wait", "channel", d.route, "wait", later.After, "err", later.Err)
				until := d.now().Add(later.After)
				if d.pauser != nil {
					if err := d.pauser.Pause(ctx, d.route, until, d.now()); err != nil {
						return sent, err
					}
				}
				return sent, d.postpone(ctx, batch[i:], err, until)
			}
			if err != nil {
				dead = dead || errors.Is(err, intake.ErrUndeliverable)
				retry := d.now().Add(Backoff(q.Attempts))
				if errors.Is(err, errCapped) {
					retry = d.now().Add(d.caps.Window)
				}
				d.metrics.failed(d.route)
				d.log.Warn("delivery failed", "id", q.ID, "incident", q.Incident, "attempt", q.Attempts, "dead", dead, "err", err)
				if ferr := d.record(ctx, func(ctx context.Context) error { return d.queue.Failed(ctx, q, err.Error(), retry, dead) }); ferr != nil {
					return sent, ferr
				}
				continue
			}
			// Sent: the record must be written even when we are shutting
			// down, or the message would go out again after the restart.
			if err := d.record(ctx, func(ctx context.Context) error { return d.queue.Delivered(ctx, q, d.now()) }); err != nil {
				return sent, err
			}
			d.metrics.delivered(d.route, q.Kind)
			sent++
		}
	}
}

// postpone makes claimed messages due again at retry.
func (d *Dispatcher) postpone(ctx context.Context, batch []intake.Notice, why error, retry time.Time) error {
	for _, q := range batch {
		if err := d.record(ctx, func(ctx context.Context) error { return d.queue.Postpone(ctx, q, why.Error(), retry) }); err != nil {
			return err
		}
	}
	return nil
}

// record writes a delivery's outcome even when ctx has ended, trying a few
// times within a short deadline.
func (d *Dispatcher) record(ctx context.Context, write func(context.Context) error) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = write(rctx); err == nil || rctx.Err() != nil {
			return err
		}
	}
	return err
}

func (d *Dispatcher) deliver(ctx context.Context, q intake.Notice) error {
	inc, err := d.incidents.Get(ctx, q.Incident)
	if err != nil {
		return err
	}
	if why := q.Stale(inc); why != "" {
		return &staleError{why}
	}
	msg := q.Outgoing(inc)
	if d.limiter != nil && d.caps.Window >= time.Second && (d.caps.PerRecipient > 0 || d.caps.PerIncident > 0) {
		ok, err := d.limiter.Allow(ctx, msg, d.caps.PerRecipient, d.caps.PerIncident, d.caps.Window, d.now())
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: at most %d messages to one recipient and %d about one incident per %s",
				errCapped, d.caps.PerRecipient, d.caps.PerIncident, d.caps.Window)
		}
	}
	// A delivery under way is finished even when we are shutting down:
	// cut in the middle, a mail the server accepted would go out again
	// after the restart. Timeout bounds it.
	ctx = context.WithoutCancel(ctx)
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	return d.notifier.Deliver(ctx, msg, inc)
}

// Backoff is the wait before attempt n+1: 5s doubling up to one hour.
func Backoff(attempt int) time.Duration {
	d := 5 * time.Second
	for i := 1; i < attempt && d < time.Hour; i++ {
		d *= 2
	}
	return min(d, time.Hour)
}
