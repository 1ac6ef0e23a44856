// Package imapidle fixes IDLE in go-imap's in-memory server (imapmemserver)
// for the local mail server and the tests that run one.
//
// imapmemserver's IDLE misses an update queued between the previous command
// and the start of IDLE until the next update comes (the bug cyrus-imapd
// fixed as #3668), so a client that IDLEs would not see a message delivered
// just before. Session looks for updates every few milliseconds instead, so
// a message appended at any moment is pushed to an IDLE client.
package imapidle

import (
	"time"

	"github.com/emersion/go-imap/v2/imapserver"
)

// Session is an imapmemserver session whose IDLE polls every Every (50ms
// when zero). Everything else is the wrapped session's own.
type Session struct {
	imapserver.SessionIMAP4rev2
	Every time.Duration
}

// Idle pushes updates until stop is closed.
func (s Session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	every := s.Every
	if every <= 0 {
		every = 50 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if err := s.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}
