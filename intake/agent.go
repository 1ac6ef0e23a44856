package intake

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxAgentLifetime bounds an agent's expiry: ten years is "never" in
// practice, and anything longer is more likely a typo than a wish.
const MaxAgentLifetime = 3650 * 24 * time.Hour

// Expired reports whether the agent's access has ended at now.
func (a Agent) Expired(now time.Time) bool {
	return !a.ExpiresAt.IsZero() && !now.Before(a.ExpiresAt)
}

// ParseLifetime reads how long an agent's access lasts: whole days ("90d"),
// weeks ("12w") or a Go duration ("36h", "90m"). It must be positive and
// at most MaxAgentLifetime.
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n, unit := strings.TrimRight(s, "dw"), strings.TrimLeft(s, "0123456789"); len(s) > 1 && (unit == "d" || unit == "w") {
		var count int
		count, err = strconv.Atoi(n)
		d = time.Duration(count) * 24 * time.Hour
		if unit == "w" {
			d *= 7
		}
		if err == nil && (count > int(MaxAgentLifetime/(24*time.Hour)) || d < 0) {
			d = MaxAgentLifetime + 1
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil {
		return 0, fmt.Errorf("%w: expiry %q: write a number of days (90d), weeks (12w) or hours (36h)", ErrInvalid, s)
	}
	if d <= 0 || d > MaxAgentLifetime {
		return 0, fmt.Errorf("%w: expiry %q: must be more than 0 and at most %d days", ErrInvalid, s, int(MaxAgentLifetime/(24*time.Hour)))
	}
	return d, nil
}
