package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"
)

// ackWithin is how long handling may take before the acknowledgment
// (Slack allows 3 seconds; the rest is the margin for the way back).
const ackWithin = 2500 * time.Millisecond

// socketWorkers bounds how many events are handled at once: a slow
// users.info must not hold up every other event.
const socketWorkers = 8

// Name names the channel on /readyz.
func (b *Bot) Name() string { return "slack" }

// Status is when the channel last handled an event or connected, and the
// last connection error since.
func (b *Bot) Status() (time.Time, error) {
	b.health.mu.Lock()
	defer b.health.mu.Unlock()
	return b.health.ok, b.health.err
}

// health is the channel's connection state for /readyz.
type health struct {
	mu  sync.Mutex
	ok  time.Time
	err error
}

func (b *Bot) healthy() {
	b.health.mu.Lock()
	b.health.ok, b.health.err = b.d.Now(), nil
	b.health.mu.Unlock()
}

func (b *Bot) unhealthy(err error) {
	b.health.mu.Lock()
	b.health.err = err
	b.health.mu.Unlock()
}

// RunSocket reads Socket Mode envelopes until ctx ends; slack-go
// reconnects on its own when the connection drops. Each envelope is
// acknowledged only once its effect is stored, so an event lost in a
// crash is sent again by Slack and found by its id.
func (b *Bot) RunSocket(ctx context.Context, client *socketmode.Client) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var workers sync.WaitGroup
	defer workers.Wait()
	slots := make(chan struct{}, socketWorkers)
	errc := make(chan error, 1)
	go func() { errc <- client.RunContext(ctx) }()
	for {
		select {
		case err := <-errc:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-client.Events:
			if evt.Request == nil {
				b.socketState(ctx, client, evt)
				continue
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				continue
			}
			workers.Add(1)
			go func() {
				defer workers.Done()
				defer func() { <-slots }()
				b.handleEnvelope(ctx, client, evt)
			}()
		}
	}
}

func (b *Bot) socketState(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	if bad, ok := evt.Data.(*socketmode.ErrorBadMessage); ok {
		// slack-go could not read the envelope. Acknowledged, or Slack
		// would send the same unreadable payload again and again.
		var env struct {
			EnvelopeID string `json:"envelope_id"`
		}
		b.d.Log.Warn("slack payload refused", "err", bad.Cause)
		if json.Unmarshal(bad.Message, &env) == nil && env.EnvelopeID != "" {
			if err := client.AckCtx(ctx, env.EnvelopeID, nil); err != nil {
				b.d.Log.Warn("slack ack failed", "envelope", env.EnvelopeID, "err", err)
			}
		}
		return
	}
	switch evt.Type {
	case socketmode.EventTypeConnected, socketmode.EventTypeHello:
		b.healthy()
	case socketmode.EventTypeConnectionError, socketmode.EventTypeInvalidAuth, socketmode.EventTypeIncomingError:
		err := fmt.Errorf("slack socket mode: %s", evt.Type)
		if e, ok := evt.Data.(error); ok {
			err = fmt.Errorf("slack socket mode: %s: %w", evt.Type, e)
		}
		b.unhealthy(err)
		b.d.Log.Warn("slack socket mode", "event", evt.Type, "err", err)
	}
}

func (b *Bot) handleEnvelope(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	req := evt.Request
	var resp any
	var err error
	// Slack wants the ack within 3 seconds; work that cannot commit by
	// then is not acknowledged, and Slack sends the event again.
	work, cancel := context.WithTimeout(ctx, ackWithin)
	defer cancel()
	switch req.Type {
	case "events_api":
		err = b.HandleEvent(work, req.Payload)
	case "slash_commands":
		var cmd slackapi.SlashCommand
		if err = json.Unmarshal(req.Payload, &cmd); err != nil {
			err = fmt.Errorf("%w: %v", ErrBadPayload, err)
		} else {
			resp, err = b.HandleSlash(work, cmd)
		}
	case "interactive":
		resp, err = b.HandleInteraction(work, req.Payload)
	default:
		return // hello, disconnect: slack-go's business
	}
	if err != nil && !errors.Is(err, ErrBadPayload) {
		// Not acknowledged: Slack sends it again, and the work done so
		// far is found by the event's id.
		b.d.Log.Error("slack event not handled; Slack will retry", "envelope", req.EnvelopeID, "type", req.Type, "err", err)
		b.unhealthy(err)
		return
	}
	if err != nil {
		b.d.Log.Warn("slack payload refused", "envelope", req.EnvelopeID, "type", req.Type, "err", err)
	}
	if err := client.AckCtx(ctx, req.EnvelopeID, resp); err != nil {
		b.d.Log.Warn("slack ack failed", "envelope", req.EnvelopeID, "err", err)
		return
	}
	b.healthy()
}
