package workflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// A commit that queues an outgoing message wakes its route's drain loop at
// once, here and (through a WakeBus) in every other bot. Wake-ups
// coalesce: each loop and the publisher hold at most one pending wake-up
// (a channel of capacity 1), and a drain runs until nothing is due, so a
// burst of a thousand commits costs a few drains and a few publishes, not
// a thousand. The outbox poll only pokes the loops, as a safety net for a
// wake-up lost on the way (a bot that was not listening, a dropped
// connection).

// signal is a coalescing wake-up: any number of raises before the
// receiver looks leave one pending.
type signal chan struct{}

func newSignal() signal { return make(signal, 1) }

func (s signal) raise() {
	select {
	case s <- struct{}{}:
	default: // one is pending already: it covers this one too
	}
}

// WakeBus carries wake-ups between the bots sharing one Redis.
type WakeBus interface {
	// PublishWake tells every bot listening that routes have new messages;
	// from names the bot, so that it can ignore its own.
	PublishWake(ctx context.Context, from string, routes []intake.Route) error
	// ListenWake calls heard for each wake-up published, and joined each
	// time the subscription is (re)established, until ctx ends.
	ListenWake(ctx context.Context, joined func(), heard func(from string, routes []intake.Route)) error
}

// Wakeups routes wake-ups to the drain loop of each route.
type Wakeups struct {
	id  string // this bot, on the bus
	bus WakeBus
	log *slog.Logger

	mu      sync.Mutex
	loops   map[intake.Route]signal
	pending map[intake.Route]bool // to publish
	publish signal
}

// NewWakeups returns the wake-ups of one bot; bus may be nil (one bot, or
// a test), and then only this process's commits wake its loops.
func NewWakeups(bus WakeBus, log *slog.Logger) *Wakeups {
	id := make([]byte, 8)
	_, _ = rand.Read(id) // never fails (crypto/rand)
	return &Wakeups{id: hex.EncodeToString(id), bus: bus, log: log,
		loops: map[intake.Route]signal{}, pending: map[intake.Route]bool{}, publish: newSignal()}
}

// Wake tells the loops of routes, here and in the other bots, that a
// message is queued. It never blocks. Routes without a loop in this bot
// are ignored: a bot drains (and announces) the routes it delivers.
func (w *Wakeups) Wake(routes ...intake.Route) {
	w.mu.Lock()
	defer w.mu.Unlock()
	announce := false
	for _, r := range routes {
		if s, ok := w.loops[r]; ok {
			s.raise()
			w.pending[r], announce = true, true
		}
	}
	if announce && w.bus != nil {
		w.publish.raise()
	}
}

// Poke wakes the loop of route in this bot only: the poll's safety net.
func (w *Wakeups) Poke(route intake.Route) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if s, ok := w.loops[route]; ok {
		s.raise()
	}
}

func (w *Wakeups) wakeLocal(routes []intake.Route) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range routes {
		if s, ok := w.loops[r]; ok {
			s.raise()
		}
	}
}

func (w *Wakeups) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, s := range w.loops {
		s.raise()
	}
}

// DrainLoop registers route's loop and returns it: run it under the
// owner that waits for the bot's goroutines. Register every route before
// the first commit can happen (serve builds its schedule before it
// listens).
func (w *Wakeups) DrainLoop(route intake.Route, drain func(context.Context)) func(context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s, ok := w.loops[route]
	if !ok {
		s = newSignal()
		w.loops[route] = s
	}
	return func(ctx context.Context) { runLoop(ctx, s, drain) }
}

// runLoop drains once at start (what was queued while the bot was down),
// then once per wake-up, until ctx ends. It returns only after the drain
// under way has returned, so whoever waits for it waits for the drain.
func runLoop(ctx context.Context, wake signal, drain func(context.Context)) {
	for {
		drain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
	}
}

// Run carries wake-ups over the bus until ctx ends: it announces this
// bot's commits to the others and wakes this bot's loops for theirs. It
// returns at once without a bus.
func (w *Wakeups) Run(ctx context.Context) {
	if w.bus == nil {
		return
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { w.announce(ctx) })
	told := false // the outage was logged: once is enough
	for ctx.Err() == nil {
		err := w.bus.ListenWake(ctx, func() {
			// Joining (again) may have missed wake-ups: every loop looks.
			told = false
			w.wakeAll()
		}, func(from string, routes []intake.Route) {
			if from != w.id {
				w.wakeLocal(routes)
			}
		})
		if ctx.Err() != nil {
			return
		}
		// Redis is away: the poll delivers meanwhile; try again soon.
		if !told {
			w.log.Warn("outbox wake-ups: not listening to the other bots; the poll delivers meanwhile", "err", err)
			told = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// announce publishes pending wake-ups, one publish for all the routes
// that were woken since the last one.
func (w *Wakeups) announce(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.publish:
		}
		w.mu.Lock()
		routes := make([]intake.Route, 0, len(w.pending))
		for r := range w.pending {
			routes = append(routes, r)
		}
		clear(w.pending)
		w.mu.Unlock()
		if err := w.bus.PublishWake(ctx, w.id, routes); err != nil && ctx.Err() == nil {
			// Lost: the other bots' polls deliver it.
			w.log.Warn("outbox wake-up not announced to the other bots", "routes", routes, "err", err)
		}
	}
}

// WakeOnCommit returns s that wakes the drain loops after each commit that
// can have queued a message. Only Create, CreateMany and Apply queue
// messages.
func WakeOnCommit(s Store, w *Wakeups) Store { return wakingStore{s, w} }

type wakingStore struct {
	Store
	wake *Wakeups
}

func (s wakingStore) Create(ctx context.Context, key string, inc *intake.Incident, notify []intake.NoticeKind) (*intake.Incident, error) {
	stored, err := s.Store.Create(ctx, key, inc, notify)
	if err == nil {
		s.wakeCreated([]*intake.Incident{stored}, notify)
	}
	return stored, err
}

// CreateMany wakes once for the batch (a mail batch's acknowledgments,
// mostly).
func (s wakingStore) CreateMany(ctx context.Context, keys []string, incs []*intake.Incident, notify []intake.NoticeKind) ([]*intake.Incident, []error) {
	stored, errs := s.Store.CreateMany(ctx, keys, incs, notify)
	var created []*intake.Incident
	for i, inc := range stored {
		if errs[i] == nil && inc != nil {
			created = append(created, inc)
		}
	}
	if len(created) > 0 {
		s.wakeCreated(created, notify)
	}
	return stored, errs
}

// wakeCreated wakes the routes new incidents may have queued on: the
// watchers hear of every change, a new incident raises the agent alert
// "new", and with notices each reporter's route. A route without a loop
// in this bot is ignored.
func (s wakingStore) wakeCreated(created []*intake.Incident, notify []intake.NoticeKind) {
	routes := []intake.Route{intake.RouteWatch, intake.RouteAgentMail, intake.RouteWebhook}
	for _, inc := range created {
		if r := intake.Route(inc.ReplyChannel()); len(notify) > 0 && !slices.Contains(routes, r) {
			routes = append(routes, r)
		}
	}
	s.wake.Wake(routes...)
}

func (s wakingStore) Apply(ctx context.Context, id string, ch Change) (Applied, error) {
	res, err := s.Store.Apply(ctx, id, ch)
	// A duplicate wakes too: the first may have been cut before its own
	// wake-up.
	if err == nil {
		routes := []intake.Route{intake.RouteWatch}
		for _, o := range ch.Plan.Outcomes {
			if len(o.Notify) > 0 {
				// Apply does not say which outcome the store picked nor
				// the reporter's route: both reporter routes look (one
				// drain that finds nothing costs a round trip).
				routes = append(routes, intake.RouteEmail, intake.RouteSlack)
				break
			}
		}
		if AlertOf(ch) != "" {
			routes = append(routes, intake.RouteAgentMail, intake.RouteWebhook)
		}
		s.wake.Wake(routes...)
	}
	return res, err
}
