package redisstore

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// decoder reads the fields of one hash (or stream entry) back into Go
// values. A field that is absent or empty is the zero value; one that is
// there but does not parse is an error naming the key and the field, kept
// in err (the first one), so that a corrupt record is never read as zeros.
type decoder struct {
	key string
	h   map[string]string
	err error
}

func newDecoder(key string, h map[string]string) *decoder { return &decoder{key: key, h: h} }

func (d *decoder) fail(field, want string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("redis key %s, field %s: %q is not %s: %w", d.key, field, clip(d.h[field]), want, err)
	}
}

func (d *decoder) str(field string) string { return d.h[field] }

func (d *decoder) int(field string) int {
	v := d.h[field]
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		d.fail(field, "an integer", err)
	}
	return n
}

func (d *decoder) int64(field string) int64 {
	v := d.h[field]
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		d.fail(field, "an integer", err)
	}
	return n
}

func (d *decoder) uint32(field string) uint32 {
	v := d.h[field]
	if v == "" {
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		d.fail(field, "a 32-bit unsigned integer", err)
	}
	return uint32(n)
}

func (d *decoder) time(field string) time.Time {
	v := d.h[field]
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		d.fail(field, "an RFC 3339 time", err)
	}
	return t
}

// json decodes a field holding a JSON document into out.
func (d *decoder) json(field string, out any) {
	v := d.h[field]
	if v == "" {
		return
	}
	if err := json.Unmarshal([]byte(v), out); err != nil {
		d.fail(field, "valid JSON", err)
	}
}

// clip keeps an error message short when the corrupt value is long.
func clip(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	r := []rune(s)
	if len(r) <= max {
		return s
	}
	return string(r[:max]) + "..."
}
