package redisstore_test

import (
	"context"
	"testing"

	"github.com/intakebot/intakebot/intake"
)

// The addresses on an incident's mails are its participants (reply trust):
// fields of its hash, case folded; an incident stored before kept a set
// of its own, which still counts.
func TestParticipants(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Analysis)
	other := reach(t, f, intake.Analysis)
	if err := f.store.RememberMail(ctx, id, "<1@mail.example.test>", []string{"Ana@Example.TEST", "bob@example.test"}); err != nil {
		t.Fatal(err)
	}
	for _, err := range f.store.RememberMails(ctx, []string{id, other}, []string{"", "<2@mail.example.test>"},
		[][]string{{"dora@example.test"}, {"eve@example.test"}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	key := incKey(f, id)
	if err := f.rdb.SAdd(ctx, key+":people", "carol@example.test").Err(); err != nil { // as stored before
		t.Fatal(err)
	}
	for _, c := range []struct {
		inc, address string
		want         bool
	}{
		{id, "ana@example.test", true}, {id, "BOB@example.test", true}, {id, "dora@example.test", true},
		{id, "carol@example.test", true}, {id, "eve@example.test", false}, {other, "eve@example.test", true},
		{other, "ana@example.test", false},
	} {
		if got, err := f.store.IsParticipant(ctx, c.inc, c.address); err != nil || got != c.want {
			t.Errorf("%s: is %s a participant? %v %v, want %v", c.inc, c.address, got, err, c.want)
		}
	}
	if n := f.rdb.Exists(ctx, incKey(f, other)+":people").Val(); n != 0 {
		t.Error("a new incident's participants are a set of their own")
	}
	if got, err := f.store.ThreadOf(ctx, []string{"<2@mail.example.test>"}); got != other || err != nil {
		t.Errorf("thread of <2@...>: %q %v", got, err)
	}
	inc, err := f.store.Get(ctx, id)
	if err != nil || len(inc.MailIDs) == 0 || inc.MailIDs[len(inc.MailIDs)-1] != "<1@mail.example.test>" {
		t.Errorf("mail ids %v, %v", inc, err)
	}
}
