package redisstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// Allow counts one outgoing message against the caps per recipient and per
// incident in the current window, and says whether it may go. All counters
// share the {caps} hash tag so that the check and the count are one script.
func (s *Store) Allow(ctx context.Context, msg intake.Outgoing, perRecipient, perIncident int, window time.Duration, now time.Time) (bool, error) {
	slot := now.Unix() / int64(window.Seconds())
	recipient := strings.ToLower(msg.Email + msg.SlackID)
	keys := []string{
		fmt.Sprintf("%s:{caps}:to:%s:%s:%d", s.prefix, msg.Route, recipient, slot),
		fmt.Sprintf("%s:{caps}:inc:%s:%d", s.prefix, msg.IncidentID, slot),
	}
	ok, err := s.scripts.allow.Run(ctx, s.rdb, keys, int(window.Seconds())*2, perRecipient, perIncident).Int()
	if err != nil {
		return false, fmt.Errorf("outgoing caps: %w", err)
	}
	return ok == 1, nil
}
