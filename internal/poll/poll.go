// Package poll waits in tests for a condition that another goroutine or
// process makes true (a mail delivered, a change followed from a stream):
// it asks again on every tick and fails the test at a deadline that
// bounds the wait, never times it.
package poll

import (
	"testing"
	"time"
)

// Tick is how often a condition is asked again.
const Tick = 20 * time.Millisecond

// Until returns once cond holds; after within it fails the test naming
// what it waited for.
func Until(t testing.TB, what string, within time.Duration, cond func() bool) {
	t.Helper()
	if !Within(within, cond) {
		t.Fatalf("still waiting for %s after %s", what, within)
	}
}

// Within reports whether cond held before within passed, asking it on
// every Tick (for code that is not a test, such as a benchmark's setup or
// a cleanup that may give up).
func Within(within time.Duration, cond func() bool) bool {
	tick := time.NewTicker(Tick)
	defer tick.Stop()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline.C:
			return cond()
		}
	}
	return true
}
