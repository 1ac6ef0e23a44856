package redisstore

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/intakebot/intakebot/intake"
	"golang.org/x/crypto/argon2"
)

// argonParams are Argon2id's cost parameters. The stored string carries
// them (PHC format), so that raising them later leaves old passwords
// verifiable.
type argonParams struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
}

// passwordCost is OWASP's recommended Argon2id setting (19 MiB, 2 passes,
// 1 lane): costly for an attacker with a copy of the database, yet cheap
// enough that sign-ins on a small bot do not queue.
var passwordCost = argonParams{memory: 19 * 1024, time: 2, threads: 1}

// Limits on what a stored string may ask of us, so that a planted hash
// cannot make one verification eat the machine.
const (
	maxArgonMemory  = 1 << 20 // 1 GiB in KiB
	maxArgonTime    = 16
	maxArgonThreads = 16
	saltBytes       = 16
	keyBytes        = 32
)

// Password rules: long enough to resist guessing, short enough that hashing
// is not a way to make us work.
const (
	MinPasswordChars = 12
	MaxPasswordBytes = 1024
)

func checkPassword(pw string) error {
	if !utf8.ValidString(pw) || strings.ContainsAny(pw, "\x00\r\n") {
		return fmt.Errorf("%w: the password must be text on one line", intake.ErrInvalid)
	}
	if utf8.RuneCountInString(pw) < MinPasswordChars || len(pw) > MaxPasswordBytes {
		return fmt.Errorf("%w: the password must have at least %d characters (and at most %d bytes)", intake.ErrInvalid, MinPasswordChars, MaxPasswordBytes)
	}
	if strings.TrimSpace(pw) == "" {
		return fmt.Errorf("%w: the password must not be only spaces", intake.ErrInvalid)
	}
	return nil
}

// hashPassword returns pw hashed with Argon2id and a fresh salt, in PHC
// format: $argon2id$v=19$m=...,t=...,p=...$salt$hash.
func hashPassword(pw string, p argonParams) (string, error) {
	salt := make([]byte, saltBytes)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, keyBytes)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.memory, p.time, p.threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

var errBadHash = errors.New("stored password hash is not an Argon2id PHC string")

// parsePHC reads a string hashPassword wrote.
func parsePHC(s string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errBadHash
	}
	var m, t, th uint32
	if n, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &th); err != nil || n != 3 ||
		fmt.Sprintf("m=%d,t=%d,p=%d", m, t, th) != parts[3] {
		return p, nil, nil, errBadHash
	}
	if m < 8 || m > maxArgonMemory || t < 1 || t > maxArgonTime || th < 1 || th > maxArgonThreads {
		return p, nil, nil, errBadHash
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errBadHash
	}
	return argonParams{memory: m, time: t, threads: uint8(th)}, salt, key, nil
}

// verifyPassword tells whether pw matches the PHC string, comparing in
// constant time.
func verifyPassword(phc, pw string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.time, p.memory, p.threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
