package workflow

import (
	"fmt"
	"strings"
	"time"
)

// BusinessHours is the working week SLA clocks run in: the same hours on
// each working day, in one time zone.
type BusinessHours struct {
	Loc        *time.Location
	Days       [7]bool       // by time.Weekday
	Start, End time.Duration // since midnight
}

// ParseBusinessHours reads a zone ("Europe/Madrid"), days ("mon-fri" or
// "mon,tue,thu") and hours ("09:00", "18:00").
func ParseBusinessHours(zone, days, start, end string) (*BusinessHours, error) {
	loc, err := time.LoadLocation(zone)
	if err != nil {
		return nil, fmt.Errorf("business hours zone: %w", err)
	}
	h := &BusinessHours{Loc: loc}
	names := []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
	index := func(s string) (int, error) {
		for i, n := range names {
			if strings.EqualFold(strings.TrimSpace(s), n) {
				return i, nil
			}
		}
		return 0, fmt.Errorf("business hours: unknown day %q (use mon..sun)", s)
	}
	for _, part := range strings.Split(days, ",") {
		from, to, isRange := strings.Cut(part, "-")
		a, err := index(from)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = index(to); err != nil {
				return nil, err
			}
		}
		for d := a; ; d = (d + 1) % 7 {
			h.Days[d] = true
			if d == b {
				break
			}
		}
	}
	clock := func(s string) (time.Duration, error) {
		t, err := time.Parse("15:04", s)
		if err != nil {
			return 0, fmt.Errorf("business hours: %q is not HH:MM", s)
		}
		return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
	}
	if h.Start, err = clock(start); err != nil {
		return nil, err
	}
	if h.End, err = clock(end); err != nil {
		return nil, err
	}
	if h.End <= h.Start {
		return nil, fmt.Errorf("business hours: %s does not end after %s", end, start)
	}
	return h, nil
}

// Add returns when d of working time has passed after t. A nil
// BusinessHours counts every hour.
func (h *BusinessHours) Add(t time.Time, d time.Duration) time.Time {
	if h == nil {
		return t.Add(d)
	}
	if d <= 0 {
		return t
	}
	cur := t.In(h.Loc)
	for range 3700 { // ten years of days: enough for any target, and a bound
		open, closeAt := h.at(cur, h.Start), h.at(cur, h.End)
		if h.Days[cur.Weekday()] && cur.Before(closeAt) {
			if cur.Before(open) {
				cur = open
			}
			if left := closeAt.Sub(cur); d <= left {
				return cur.Add(d)
			} else {
				d -= left
			}
		}
		cur = time.Date(cur.Year(), cur.Month(), cur.Day()+1, 0, 0, 0, 0, h.Loc)
	}
	return cur
}

// at is the wall-clock time of day on t's date (right across DST changes).
func (h *BusinessHours) at(t time.Time, of time.Duration) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), int(of/time.Hour), int(of%time.Hour/time.Minute), 0, 0, h.Loc)
}
