package redisstore

import "time"

// SetPageBudget lets a test make page.lua give up walking at once, so that
// the intersection in Redis answers (see defaultPageBudget).
func (s *Store) SetPageBudget(n int) { s.pageBudget = n }

// SetParentWait sets how long a report waits for the parent of the outage
// it joined to be stored (see defaultParentWait).
func (s *Store) SetParentWait(d time.Duration) { s.parentWait = d }
