package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// AddAttachments keeps the files of one source message (ref) on an
// incident, once per ref.
func (s *Store) AddAttachments(ctx context.Context, incidentID, ref string, atts []intake.Attachment) error {
	if len(atts) == 0 {
		return nil
	}
	_, key, err := s.keys(incidentID)
	if err != nil {
		return err
	}
	args := []any{ref}
	for _, a := range atts {
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		args = append(args, doc, a.Content)
	}
	n, err := s.scripts.addAttachments.Run(ctx, s.rdb, []string{key, key + ":attrefs", key + ":attachments"}, args...).Int()
	if err != nil {
		return fmt.Errorf("keep attachments of %s: %w", incidentID, err)
	}
	if n < 0 {
		return fmt.Errorf("%w: incident %s", intake.ErrNotFound, incidentID)
	}
	return nil
}

// Attachment reads one attachment with its content.
func (s *Store) Attachment(ctx context.Context, incidentID string, index int) (intake.Attachment, error) {
	_, key, err := s.keys(incidentID)
	if err != nil {
		return intake.Attachment{}, err
	}
	pipe := s.rdb.Pipeline()
	doc := pipe.LIndex(ctx, key+":attachments", int64(index))
	content := pipe.Get(ctx, key+":att:"+strconv.Itoa(index))
	if _, err := pipe.Exec(ctx); err == redis.Nil || doc.Err() == redis.Nil || index < 0 {
		return intake.Attachment{}, fmt.Errorf("%w: attachment %d of %s", intake.ErrNotFound, index, incidentID)
	} else if err != nil {
		return intake.Attachment{}, err
	}
	var a intake.Attachment
	if err := json.Unmarshal([]byte(doc.Val()), &a); err != nil {
		return a, fmt.Errorf("redis key %s, entry %d: not a valid attachment: %w", key+":attachments", index, err)
	}
	a.Content = []byte(content.Val())
	return a, nil
}
