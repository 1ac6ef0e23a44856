package redisstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// threadTTL is how long a Message-ID keeps pointing at its incident.
const threadTTL = 400 * 24 * time.Hour

// maxMailIDs bounds the Message-IDs kept on an incident for References.
const maxMailIDs = 20

func (s *Store) threadKey(messageID string) string { return s.prefix + ":{mail}:thread:" + messageID }

// RememberMail records that a mail belongs to an incident: its Message-ID
// joins the incident's thread (for In-Reply-To and References of our
// answers) and the thread index (so replies to it find the incident). Both
// writes are idempotent, so a retry after a crash between them is harmless.
func (s *Store) RememberMail(ctx context.Context, incidentID, messageID string, people []string) error {
	return s.RememberMails(ctx, []string{incidentID}, []string{messageID}, [][]string{people})[0]
}

// IsParticipant tells whether an address was on a mail of the incident.
func (s *Store) IsParticipant(ctx context.Context, incidentID, address string) (bool, error) {
	_, key, err := s.keys(incidentID)
	if err != nil {
		return false, err
	}
	// A field of its hash; an incident stored before kept a set of them.
	address = strings.ToLower(address)
	pipe := s.rdb.Pipeline()
	field := pipe.HExists(ctx, key, "p:"+address)
	former := pipe.SIsMember(ctx, key+":people", address)
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("participants of %s: %w", incidentID, err)
	}
	return field.Val() || former.Val(), nil
}

// ThreadOf returns the incident the first known Message-ID belongs to, or
// "" when none is known. All thread keys share one hash tag, so this is one
// MGET even on Redis Cluster.
func (s *Store) ThreadOf(ctx context.Context, messageIDs []string) (string, error) {
	if len(messageIDs) == 0 {
		return "", nil
	}
	keys := make([]string, len(messageIDs))
	for i, id := range messageIDs {
		keys[i] = s.threadKey(id)
	}
	vals, err := s.rdb.MGet(ctx, keys...).Result()
	if err != nil {
		return "", fmt.Errorf("look up mail thread: %w", err)
	}
	for _, v := range vals {
		if id, ok := v.(string); ok && id != "" {
			return id, nil
		}
	}
	return "", nil
}

// Applied returns the event an act with this Ref applied to the incident,
// or "" when none did.
func (s *Store) Applied(ctx context.Context, incidentID, ref string) (string, error) {
	_, key, err := s.keys(incidentID)
	if err != nil {
		return "", err
	}
	event, err := s.rdb.HGet(ctx, key+":refs", ref).Result()
	if err == redis.Nil {
		return "", nil
	}
	return event, err
}
