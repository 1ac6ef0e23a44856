package surveylink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
)

// RoundlessToken mints a token of the layout used before links carried a
// round (version 1), as links already in reporters' mailboxes are, so that
// tests can check how they are answered.
func RoundlessToken(key []byte, incidentID, step string, issued, expires time.Time) string {
	code, _ := stepCode(step)
	buf := make([]byte, headerBytesV1)
	buf[0], buf[1] = roundlessV1, code
	binary.BigEndian.PutUint64(buf[2:10], uint64(issued.Unix()))
	binary.BigEndian.PutUint64(buf[10:18], uint64(expires.Unix()))
	copy(buf[18:], "0123456789abcdef")
	buf = append(buf, incidentID...)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macLabel))
	m.Write(buf)
	return base64.RawURLEncoding.EncodeToString(m.Sum(buf))
}
