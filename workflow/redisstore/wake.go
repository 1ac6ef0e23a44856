package redisstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// Outbox wake-ups travel between bots over plain Redis pub/sub on one
// channel, P:{outbox}:wake, with "BOT ROUTE,ROUTE" as the message. A
// wake-up carries no data (the outbox is the truth), so losing one costs
// latency only: the poll delivers it. Pub/sub stores nothing, needs no
// trimming and no read position per bot, which a stream would. Plain
// PUBLISH works on a single Redis, on Redis Cluster (the cluster bus
// forwards it to every node, so a subscriber on any node hears it) and on
// the embedded store; sharded pub/sub would save that forwarding but needs
// Redis 7 and is not in the embedded store, and the traffic is small:
// each bot publishes at most once per burst of commits.

func (s *Store) wakeChannel() string { return s.prefix + ":{outbox}:wake" }

// PublishWake tells every listening bot that routes have new messages.
func (s *Store) PublishWake(ctx context.Context, from string, routes []intake.Route) error {
	names := make([]string, len(routes))
	for i, r := range routes {
		names[i] = string(r)
	}
	if err := s.rdb.Publish(ctx, s.wakeChannel(), from+" "+strings.Join(names, ",")).Err(); err != nil {
		return fmt.Errorf("publish outbox wake-up: %w", err)
	}
	return nil
}

// ListenWake calls heard for each wake-up published, and joined each time
// the subscription is confirmed (at first and after a reconnection: what
// was published meanwhile is lost), until ctx ends or Redis fails.
func (s *Store) ListenWake(ctx context.Context, joined func(), heard func(from string, routes []intake.Route)) error {
	ps := s.rdb.Subscribe(ctx, s.wakeChannel())
	defer ps.Close()
	// Receive does not watch ctx: closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { ps.Close() })
	defer stop()
	for {
		msg, err := ps.Receive(ctx)
		if err != nil {
			return fmt.Errorf("listen for outbox wake-ups: %w", err)
		}
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				joined()
			}
		case *redis.Message:
			from, list, ok := strings.Cut(m.Payload, " ")
			if !ok {
				continue // not ours: nothing to wake
			}
			var routes []intake.Route
			for _, name := range strings.Split(list, ",") {
				if r := intake.Route(name); r.Valid() {
					routes = append(routes, r)
				}
			}
			heard(from, routes)
		}
	}
}
