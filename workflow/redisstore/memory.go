package redisstore

import (
	"context"
	"fmt"
	"strconv"
)

// Redis settings that keep an incident small (scripts/bench-memory
// measures them): an incident's hash holds a 300-byte description, so with
// the default hash-max-listpack-value (64) it is a hashtable of twice the
// size; and each history stream (incidents stored before histories became
// lists, 2026-12) preallocates a listpack of stream-node-max-bytes
// (default 4096), most of it unused by a history of a few entries.
var memorySettings = []struct {
	name      string
	want      int64
	atLeast   bool // want is a floor (else a ceiling)
	rationale string
}{
	{"hash-max-listpack-value", 1024, true, "incident hashes with a description stay listpack-encoded (about half the size)"},
	{"stream-node-max-bytes", 512, false, "each history stream of an incident stored before 2026-12 preallocates this much (4 KB by default)"},
}

// MemoryAdvice compares the Redis memory settings with the ones the README
// recommends and returns one line per difference. A Redis that refuses
// CONFIG GET (a managed one) gives one line saying so.
func (s *Store) MemoryAdvice(ctx context.Context) []string {
	var out []string
	for _, m := range memorySettings {
		vals, err := s.rdb.ConfigGet(ctx, m.name).Result()
		if err != nil {
			return []string{fmt.Sprintf("could not read the Redis memory settings (CONFIG GET %s: %v); see the README's memory section", m.name, err)}
		}
		v, err := strconv.ParseInt(vals[m.name], 10, 64)
		if err != nil {
			continue // not this Redis's setting (another server or version)
		}
		if (m.atLeast && v < m.want) || (!m.atLeast && v > m.want) {
			out = append(out, fmt.Sprintf("Redis %s is %d; %d is recommended: %s", m.name, v, m.want, m.rationale))
		}
	}
	return out
}
