package console

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// The live queue: the store queues a change notice on intake.RouteWatch
// with every change of an incident (redisstore's WatchChanges); whichever
// bot drains that route hands it to Publisher, which publishes the
// incident's id on a Redis channel; every bot's Hub listens there and
// tells its open consoles (Server-Sent Events on /console/events), whose
// script then fetches the page again.

// Publisher delivers change notices to every bot's consoles.
type Publisher struct {
	rdb     redis.UniversalClient
	channel string
}

// NewPublisher publishes on the channel of prefix.
func NewPublisher(rdb redis.UniversalClient, prefix string) Publisher {
	return Publisher{rdb: rdb, channel: changesChannel(prefix)}
}

func changesChannel(prefix string) string { return prefix + ":{web}:changes" }

// Deliver publishes the changed incident's id. A console that misses it
// (not connected at that moment) loses nothing: it shows the incident as
// it is when it next loads.
func (p Publisher) Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	// "ID VERSION" when the version is known: a console that already shows
	// that version (its own change, after its own POST) need not reload.
	payload := msg.IncidentID
	if inc != nil && inc.Version > 0 {
		payload += " " + strconv.FormatInt(inc.Version, 10)
	}
	if err := p.rdb.Publish(ctx, p.channel, payload).Err(); err != nil {
		return fmt.Errorf("publish change of %s: %w", msg.IncidentID, err)
	}
	return nil
}

// Notifier is a workflow.Notifier: the route's other watcher (Slack's
// triage channel).
type Notifier interface {
	Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error
}

// Both delivers a change notice to the consoles, then to the other
// watcher (nil: none). The consoles go first: a Slack outage, retried,
// must not hold them; a retry publishes again, which a console takes as
// one more reload.
type Both struct {
	Consoles Publisher
	Other    Notifier
}

// Deliver delivers to both.
func (b Both) Deliver(ctx context.Context, msg intake.Outgoing, inc *intake.Incident) error {
	if err := b.Consoles.Deliver(ctx, msg, inc); err != nil {
		return err
	}
	if b.Other == nil {
		return nil
	}
	return b.Other.Deliver(ctx, msg, inc)
}

// Hub hands the changes published on Redis to this bot's open consoles.
type Hub struct {
	rdb     redis.UniversalClient
	channel string
	log     *slog.Logger
	mu      sync.Mutex
	subs    map[chan string]struct{}
	ready   chan struct{}
}

// NewHub returns a hub for the channel of prefix; Run makes it listen.
func NewHub(rdb redis.UniversalClient, prefix string, log *slog.Logger) *Hub {
	return &Hub{rdb: rdb, channel: changesChannel(prefix), log: log, subs: map[chan string]struct{}{}, ready: make(chan struct{})}
}

// Ready is closed once the hub listens.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Drainer drains one outbox route; workflow.Dispatcher is one.
type Drainer interface {
	Drain(ctx context.Context) (int, error)
}

// Run listens until ctx ends. With a drainer (the dispatcher of the watch
// route) it also drains that route every `every`, so that a change reaches
// the consoles well within a second, whatever outbox.poll says.
func (h *Hub) Run(ctx context.Context, d Drainer, every time.Duration) error {
	sub := h.rdb.Subscribe(ctx, h.channel)
	defer sub.Close()
	if _, err := sub.Receive(ctx); err != nil {
		return fmt.Errorf("console changes: subscribe: %w", err)
	}
	close(h.ready)
	var wg sync.WaitGroup
	defer wg.Wait()
	if d != nil {
		wg.Go(func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if _, err := d.Drain(ctx); err != nil && ctx.Err() == nil {
						h.log.Error("console changes: drain the watch route", "err", err)
					}
				}
			}
		})
	}
	msgs := sub.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case m, ok := <-msgs:
			if !ok {
				return nil
			}
			h.send(m.Payload)
		}
	}
}

func (h *Hub) send(id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.subs {
		select {
		case c <- id:
		default: // a slow console skips one; its next reload shows all
		}
	}
}

// Subscribe returns the changed ids and the function that stops them.
func (h *Hub) Subscribe() (<-chan string, func()) {
	c := make(chan string, 64)
	h.mu.Lock()
	h.subs[c] = struct{}{}
	h.mu.Unlock()
	return c, func() {
		h.mu.Lock()
		delete(h.subs, c)
		h.mu.Unlock()
	}
}

// heartbeat keeps the stream and any proxy on the way awake.
const heartbeat = 20 * time.Second

// events streams changes to a console: "event: change", the incident id
// and, when known, its new version as data. Each write extends the server's write deadline, so that the
// stream outlives http.Server's WriteTimeout.
func (s *Server) events(w http.ResponseWriter, r *http.Request, m me) {
	if s.d.Changes == nil {
		http.Error(w, "no live updates", http.StatusNotFound)
		return
	}
	rc := http.NewResponseController(w)
	changes, stop := s.d.Changes.Subscribe()
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	write := func(text string) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(heartbeat + 10*time.Second))
		if _, err := fmt.Fprint(w, text); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	if !write(": live\nretry: 2000\n\n") {
		return
	}
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case id := <-changes:
			if !write("event: change\ndata: " + id + "\n\n") {
				return
			}
		case <-t.C:
			if !write(": ping\n\n") {
				return
			}
		}
	}
}
