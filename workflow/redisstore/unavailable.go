package redisstore

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// Unavailable reports whether err means that Redis cannot serve us now, as
// opposed to refusing this one command: the server is down or unreachable,
// did not answer in time, has no free connection for us, is loading its
// data after a restart, or is in the middle of a failover. Such a request
// may work in a moment; the callers (the API, the survey pages, /metrics)
// say so instead of reporting an internal error.
//
// It is the one place that knows what Redis unavailability looks like;
// everyone else asks errors.Is(err, intake.ErrUnavailable), which holds for
// every error of a client made by Connect (see availabilityHook).
func Unavailable(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		// A missing key is an answer; a caller that gave up was not
		// refused by Redis.
		return false
	}
	if errors.Is(err, intake.ErrUnavailable) {
		return true
	}
	switch {
	case errors.Is(err, redis.ErrClosed), errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted):
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case redis.IsLoadingError(err), redis.IsClusterDownError(err), redis.IsTryAgainError(err),
		redis.IsMasterDownError(err), redis.IsReadOnlyError(err), redis.IsMaxClientsError(err):
		// LOADING: restarting, reading its data back. CLUSTERDOWN,
		// TRYAGAIN, MASTERDOWN, READONLY: a failover is under way (a
		// READONLY answer comes from a master just demoted to replica).
		return true
	case redis.HasErrorPrefix(err, "BUSY "), redis.HasErrorPrefix(err, "MISCONF "):
		// BUSY: a long script blocks the server. MISCONF: it refuses
		// writes until its snapshots work again. No typed check exists.
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		// Dial failures, timeouts, a reset connection: anything the
		// network said rather than Redis.
		return true
	}
	return false
}

// unavailableError is an error of Redis's that means "not now": it keeps
// the original (its message, and errors.Is/As to it) and adds
// intake.ErrUnavailable.
type unavailableError struct{ err error }

func (e unavailableError) Error() string   { return e.err.Error() }
func (e unavailableError) Unwrap() []error { return []error{e.err, intake.ErrUnavailable} }

// mark wraps err when it is unavailability (once).
func mark(err error) error {
	if err == nil || errors.Is(err, intake.ErrUnavailable) || !Unavailable(err) {
		return err
	}
	return unavailableError{err}
}

// availabilityHook marks every command's unavailability error on its way
// out of the client, so that no code above the store has to recognise
// Redis's errors. The command's own error is marked too: most callers read
// that (cmd.Err(), Result()) rather than what the hook chain returns.
type availabilityHook struct{}

func (availabilityHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (availabilityHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if cerr := cmd.Err(); cerr != nil {
			cmd.SetErr(mark(cerr))
		}
		return mark(err)
	}
}

func (availabilityHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		for _, cmd := range cmds {
			if cerr := cmd.Err(); cerr != nil {
				cmd.SetErr(mark(cerr))
			}
		}
		return mark(err)
	}
}
