package poll_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/intakebot/intakebot/internal/poll"
)

func TestWithinAsksUntilTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	if !poll.Within(5*time.Second, func() bool { return n.Add(1) == 3 }) {
		t.Fatal("gave up on a condition that came true")
	}
	if n.Load() != 3 {
		t.Fatalf("asked %d times, want 3", n.Load())
	}
	if poll.Within(3*poll.Tick, func() bool { return false }) {
		t.Fatal("a condition that never holds was reported true")
	}
}
