package intake

import "time"

// MailboxCheckpoint records how far a mailbox was processed: the IMAP
// watcher resumes from it, and the Redis store keeps it.
type MailboxCheckpoint struct {
	UIDValidity uint32
	UID         uint32 // highest UID filed away under UIDValidity
	At          time.Time
}
