package redisstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/intakebot/intakebot/intake"
	"github.com/redis/go-redis/v9"
)

// The batch forms below do what their one-at-a-time siblings do for each
// entry, with the entries' calls pipelined together: each call is still its
// own atomic script under its own hash tag (so Redis Cluster routes each to
// its slot), only the round trips are shared. A batch of 500 new reports
// costs three round trips in all instead of three each.

// CreateMany creates several incidents as Create would each (keys[i] is
// incs[i]'s report key), numbering them all in one round trip and storing
// them all in another. It returns one incident or one error per entry.
//
// A crash between the two leaves numbers claimed by their report keys and
// nothing stored: the retry's numbering returns the same numbers and the
// store creates the incidents then, as Create's retry would.
func (s *Store) CreateMany(ctx context.Context, keys []string, incs []*intake.Incident, notify []intake.NoticeKind) ([]*intake.Incident, []error) {
	n := len(incs)
	out, errs := make([]*intake.Incident, n), make([]error, n)
	if n == 0 {
		return out, errs
	}
	ttl := int(keyClaimTTL.Seconds())
	nums, err := s.pipelineEach(ctx, s.scripts.allocate, n, func(i int) ([]string, []any) {
		return s.allocateKeys(keys[i]), []any{ttl, "0"}
	})
	if err != nil {
		return out, fill(errs, fmt.Errorf("allocate incident ids: %w", err))
	}

	// Each entry's create call, or its error.
	type call struct {
		keys []string
		arg  string
	}
	calls := make([]call, n)
	ids := make([]string, n)
	numbers := make([]int64, n)   // 0: none (its error below)
	unstored := map[string]bool{} // numbered here, stored below
	for i, c := range nums {
		if num, err := c.Int64(); err == nil {
			numbers[i], unstored[intake.FormatID(num)] = num, true
		}
	}
	// Outage grouping decides before the incidents are stored: for the
	// whole batch at once, and what that leaves one report at a time.
	parents, later, decided, err := s.groupMany(ctx, numbers, incs, unstored)
	if err != nil {
		return out, fill(errs, err)
	}
	var todo []int
	for i, c := range nums {
		num, err := c.Int64()
		if err != nil {
			errs[i] = fmt.Errorf("allocate incident id: %w", err)
			continue
		}
		ids[i] = intake.FormatID(num)
		grouped := *incs[i]
		grouped.ParentID = parents[i]
		if !decided[i] {
			if grouped.ParentID, later[i], err = s.group(ctx, num, incs[i], unstored); err != nil {
				errs[i] = err
				continue
			}
		}
		incs[i] = &grouped
		k, arg, err := s.createCall(num, keys[i], incs[i], notify, false)
		if err != nil {
			errs[i] = err
			continue
		}
		calls[i], todo = call{k, arg}, append(todo, i)
	}
	if len(todo) == 0 {
		return out, errs
	}
	// The search terms are CPU work: worked out while Redis stores the
	// incidents.
	termsDone := make(chan [][]string, 1)
	go func() {
		reps := make([]*intake.Incident, len(todo))
		for k, i := range todo {
			reps[k] = incs[i]
		}
		termsDone <- s.reportTerms(reps)
	}()
	created, err := s.pipelineEach(ctx, s.scripts.create, len(todo), func(k int) ([]string, []any) {
		return calls[todo[k]].keys, []any{calls[todo[k]].arg}
	})
	terms := <-termsDone // by todo's order
	if err != nil {
		for _, i := range todo {
			errs[i] = fmt.Errorf("store incident %s: %w", ids[i], err)
		}
		return out, errs
	}
	var stored, storedAt []int // under numbers[i], todo[storedAt[k]]: their terms are indexed below
	for k, i := range todo {
		res, err := created[k].Text()
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("store incident %s: %w", ids[i], err)
		case res == "OK":
			out[i], stored, storedAt = storedAs(ids[i], incs[i]), append(stored, i), append(storedAt, k)
		case res == "EXISTS":
			// Numbered and stored before (a retry after a crash, which
			// may have come before its terms were indexed).
			out[i], errs[i] = s.Get(ctx, ids[i])
			stored, storedAt = append(stored, i), append(storedAt, k)
		case res == "TAKEN":
			// Rare (the counter went back): the next numbers, one by one,
			// each indexed by its own create call.
			out[i], errs[i] = s.createFrom(ctx, keys[i], incs[i], notify, 1)
		default:
			errs[i] = fmt.Errorf("store incident %s: unexpected reply %q", ids[i], res)
		}
	}
	// The batch's search terms, together: alike reports share their term
	// buckets' writes. A failure is the report's error; its retry finds
	// the incident stored (EXISTS) and indexes it again.
	storedNums, storedTerms := make([]int64, len(stored)), make([][]string, len(stored))
	for k, i := range stored {
		storedNums[k], storedTerms[k] = numbers[i], terms[storedAt[k]]
	}
	for k, err := range s.indexMany(ctx, storedNums, storedTerms) {
		if i := stored[k]; err != nil && errs[i] == nil {
			out[i], errs[i] = nil, fmt.Errorf("index incident %s for search: %w", ids[i], err)
		}
	}
	// Reports that joined an outage opened by a report of this batch: the
	// parent lists them now that both are stored. A failure is the child's
	// error, and its retry (stored by then) lists it again.
	var kids []int
	var ps, cs []string
	for i := range later {
		// Its stored id: a number found taken meanwhile gave it another.
		if later[i] && errs[i] == nil {
			kids, ps, cs = append(kids, i), append(ps, out[i].ParentID), append(cs, out[i].ID)
		}
	}
	for k, err := range s.linkJoinedMany(ctx, ps, cs) {
		if i := kids[k]; err != nil {
			out[i], errs[i] = nil, fmt.Errorf("list %s under its outage %s: %w", cs[k], ps[k], err)
		}
	}
	return out, errs
}

// RememberMails does RememberMail for several mails in one round trip: mail
// i has Message-ID messageIDs[i] and the participants people[i], and
// belongs to incidents[i]. It returns one error per mail.
func (s *Store) RememberMails(ctx context.Context, incidents, messageIDs []string, people [][]string) []error {
	errs := make([]error, len(incidents))
	incKeys := make([]string, len(incidents))
	for i, id := range incidents {
		_, incKeys[i], errs[i] = s.keys(id)
	}
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		cmds := make([][]redis.Cmder, len(incidents))
		for i, id := range incidents {
			if errs[i] != nil {
				continue
			}
			mid := messageIDs[i]
			if mid == "" && len(people[i]) == 0 {
				continue
			}
			args := []any{mid, maxMailIDs}
			for _, p := range people[i] {
				args = append(args, strings.ToLower(p))
			}
			cmds[i] = append(cmds[i], s.scripts.rememberMail.EvalSha(ctx, pipe, []string{incKeys[i]}, args...))
			if mid != "" {
				cmds[i] = append(cmds[i], pipe.Set(ctx, s.threadKey(mid), id, threadTTL))
			}
		}
		if pipe.Len() == 0 {
			return errs
		}
		_, err := pipe.Exec(ctx)
		if errNoScript(err) && attempt == 0 {
			if err := s.loadEverywhere(ctx, s.scripts.rememberMail); err != nil {
				return fill(errs, fmt.Errorf("remember mails: %w", err))
			}
			continue
		}
		for i, cs := range cmds {
			for _, c := range cs {
				if err := c.Err(); err != nil && err != redis.Nil && errs[i] == nil {
					errs[i] = fmt.Errorf("remember mail of %s: %w", incidents[i], err)
				}
			}
		}
		return errs
	}
}

// pipelineEach runs a script n times in one pipeline. Unlike
// pipelineScript it leaves each call's error in its command: one entry's
// failure is not the others'. The calls that found the script missing (a
// restarted Redis, or a Cluster node that never saw it) are run again once
// it is loaded, and only those: the others have had their effect. The
// error it returns is only that of loading the script.
func (s *Store) pipelineEach(ctx context.Context, script *redis.Script, n int, call func(i int) ([]string, []any)) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, n)
	todo := make([]int, n)
	for i := range todo {
		todo[i] = i
	}
	for attempt := 0; ; attempt++ {
		pipe := s.rdb.Pipeline()
		for _, i := range todo {
			keys, args := call(i)
			cmds[i] = script.EvalSha(ctx, pipe, keys, args...)
		}
		_, _ = pipe.Exec(ctx) // each command holds its own error
		var missing []int
		for _, i := range todo {
			if errNoScript(cmds[i].Err()) {
				missing = append(missing, i)
			}
		}
		if len(missing) == 0 || attempt > 0 {
			return cmds, nil
		}
		if err := s.loadEverywhere(ctx, script); err != nil {
			return nil, err
		}
		todo = missing
	}
}

// fill sets every entry of errs that has no error yet to err.
func fill(errs []error, err error) []error {
	for i := range errs {
		if errs[i] == nil {
			errs[i] = err
		}
	}
	return errs
}
