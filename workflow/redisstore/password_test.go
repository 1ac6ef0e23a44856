package redisstore

import (
	"errors"
	"strings"
	"testing"
)

func TestPasswordHashCarriesItsParameters(t *testing.T) {
	// A hash made at another cost still verifies: the string says how.
	cheap := argonParams{memory: 64, time: 1, threads: 2}
	phc, err := hashPassword("a long enough secret", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=64,t=1,p=2$") {
		t.Fatalf("phc %q", phc)
	}
	if ok, err := verifyPassword(phc, "a long enough secret"); !ok || err != nil {
		t.Fatalf("right password: %v %v", ok, err)
	}
	if ok, err := verifyPassword(phc, "a long enough secreT"); ok || err != nil {
		t.Fatalf("wrong password: %v %v", ok, err)
	}
	again, _ := hashPassword("a long enough secret", cheap)
	if again == phc {
		t.Fatal("two hashes of one password are equal: no salt")
	}
}

func TestBadStoredHashIsAnError(t *testing.T) {
	good, _ := hashPassword("a long enough secret", argonParams{memory: 64, time: 1, threads: 1})
	parts := strings.Split(good, "$")
	salt, key := parts[4], parts[5]
	for _, bad := range []string{
		"", "plain", "$argon2i$v=19$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=16$m=64,t=1,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1$" + salt + "$" + key,
		"$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + key, // a planted hash asking for 95 GiB
		"$argon2id$v=19$m=64,t=1000,p=1$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=0$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1,x=2$" + salt + "$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + key,
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$",
		"$argon2id$v=19$m=64,t=1,p=1$" + salt + "$" + key + "$",
	} {
		if _, err := verifyPassword(bad, "a long enough secret"); !errors.Is(err, errBadHash) {
			t.Errorf("%q: %v, want a bad-hash error", bad, err)
		}
	}
}
