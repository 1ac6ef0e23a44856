package redisstore

import (
	"context"
	_ "embed"
	"fmt"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// The IMAP watcher's state: one lease per mailbox (which bot works it) and
// the checkpoint it resumes from. A mailbox's keys share the hash tag
// {mbox:NAME}, so the scripts work on Redis Cluster:
//
//	P:{mbox:NAME}:lease        string: the owner token, with a TTL
//	P:{mbox:NAME}:checkpoint   hash: uidvalidity, uid, at (RFC 3339)

var (
	//go:embed lua/lease_renew.lua
	luaLeaseRenew string
	//go:embed lua/lease_release.lua
	luaLeaseRelease string
	//go:embed lua/checkpoint_save.lua
	luaCheckpointSave string
)

func (s *Store) mailboxKey(mailbox, what string) string {
	return s.prefix + ":{mbox:" + mailbox + "}:" + what
}

// AcquireLease takes a mailbox's lease with SET NX PX; when it is taken
// already it succeeds only if owner holds it (and then renews it), so a
// watcher that reconnects gets its own lease back.
func (s *Store) AcquireLease(ctx context.Context, mailbox, owner string, ttl time.Duration) (bool, error) {
	ok, err := s.rdb.SetNX(ctx, s.mailboxKey(mailbox, "lease"), owner, ttl).Result()
	if err != nil {
		return false, fmt.Errorf("acquire lease %s: %w", mailbox, err)
	}
	if ok {
		return true, nil
	}
	return s.RenewLease(ctx, mailbox, owner, ttl)
}

// RenewLease extends the lease to ttl from now if owner holds it.
func (s *Store) RenewLease(ctx context.Context, mailbox, owner string, ttl time.Duration) (bool, error) {
	n, err := s.scripts.leaseRenew.Run(ctx, s.rdb, []string{s.mailboxKey(mailbox, "lease")}, owner, ttl.Milliseconds()).Int()
	if err != nil {
		return false, fmt.Errorf("renew lease %s: %w", mailbox, err)
	}
	return n == 1, nil
}

// ReleaseLease deletes the lease if owner holds it.
func (s *Store) ReleaseLease(ctx context.Context, mailbox, owner string) error {
	if err := s.scripts.leaseRelease.Run(ctx, s.rdb, []string{s.mailboxKey(mailbox, "lease")}, owner).Err(); err != nil {
		return fmt.Errorf("release lease %s: %w", mailbox, err)
	}
	return nil
}

// LoadCheckpoint returns the mailbox's checkpoint, zero when there is none.
func (s *Store) LoadCheckpoint(ctx context.Context, mailbox string) (intake.MailboxCheckpoint, error) {
	key := s.mailboxKey(mailbox, "checkpoint")
	h, err := s.rdb.HGetAll(ctx, key).Result()
	if err != nil {
		return intake.MailboxCheckpoint{}, fmt.Errorf("load checkpoint %s: %w", mailbox, err)
	}
	if len(h) == 0 {
		return intake.MailboxCheckpoint{}, nil
	}
	d := newDecoder(key, h)
	cp := intake.MailboxCheckpoint{UIDValidity: d.uint32("uidvalidity"), UID: d.uint32("uid"), At: d.time("at")}
	if d.err != nil {
		return intake.MailboxCheckpoint{}, fmt.Errorf("load checkpoint %s: %w", mailbox, d.err)
	}
	return cp, nil
}

// SaveCheckpoint stores cp if owner holds the mailbox's lease, and reports
// whether it did (false: the lease is lost).
func (s *Store) SaveCheckpoint(ctx context.Context, mailbox, owner string, cp intake.MailboxCheckpoint) (bool, error) {
	keys := []string{s.mailboxKey(mailbox, "lease"), s.mailboxKey(mailbox, "checkpoint")}
	n, err := s.scripts.checkpointSave.Run(ctx, s.rdb, keys, owner, cp.UIDValidity, cp.UID, cp.At.UTC().Format(time.RFC3339Nano)).Int()
	if err != nil {
		return false, fmt.Errorf("save checkpoint %s: %w", mailbox, err)
	}
	return n == 1, nil
}
