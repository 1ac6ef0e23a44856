package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
)

func vpnKnownError() kb.KnownError {
	return kb.KnownError{Lang: intake.English, Status: kb.KEOpen, CIs: []string{"vpn"}, Author: "ana",
		Symptom:    "VPN disconnects every few minutes after the client update",
		RootCause:  "Client 5.2 renegotiates with an expired certificate.",
		Workaround: "Reinstall client 5.1 from the software center."}
}

func TestKnownErrorCRUD(t *testing.T) {
	s := kbStore(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	k1, err := s.CreateKnownError(ctx, "", vpnKnownError(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if k1.ID != "KE-000001" || k1.Version != 1 || !k1.Created.Equal(t0) {
		t.Errorf("created %+v", k1)
	}
	k2, err := s.CreateKnownError(ctx, "", vpnKnownError(), t0)
	if err != nil || k2.ID != "KE-000002" {
		t.Fatalf("second: %+v %v", k2, err)
	}
	// The same idempotency key again (a double submit) makes nothing new.
	once, err := s.CreateKnownError(ctx, "console:ana:n1", vpnKnownError(), t0)
	again, err2 := s.CreateKnownError(ctx, "console:ana:n1", vpnKnownError(), t0)
	if err != nil || err2 != nil || once.ID != "KE-000003" || again.ID != once.ID {
		t.Fatalf("keyed creations: %s %v, %s %v", once.ID, err, again.ID, err2)
	}
	if err := s.DeleteKnownError(ctx, once.ID); err != nil {
		t.Fatal(err)
	}
	bad := vpnKnownError()
	bad.Workaround = ""
	if _, err := s.CreateKnownError(ctx, "", bad, t0); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("create without workaround: %v, want invalid", err)
	}
	edit := k1
	edit.Status, edit.Author = kb.KEFixed, "mallory"
	v2, err := s.UpdateKnownError(ctx, edit, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if v2.Version != 2 || v2.Status != kb.KEFixed || v2.Author != "ana" || !v2.Created.Equal(t0) || !v2.Updated.Equal(t0.Add(time.Hour)) {
		t.Errorf("updated %+v", v2)
	}
	if _, err := s.UpdateKnownError(ctx, edit, t0); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("stale update: %v, want conflict", err)
	}
	missing := vpnKnownError()
	missing.ID = "KE-000099"
	if _, err := s.UpdateKnownError(ctx, missing, t0); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("update of a missing one: %v, want not found", err)
	}
	if _, err := s.KnownError(ctx, "KE-1"); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("bad id: %v, want invalid", err)
	}
	if err := s.LinkIncident(ctx, "INC-000001", "KE-000002", 2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteKnownError(ctx, "KE-000002"); !errors.Is(err, intake.ErrConflict) {
		t.Errorf("delete of a linked one: %v, want conflict", err)
	}
	if err := s.DeleteKnownError(ctx, "KE-000001"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KnownError(ctx, "KE-000001"); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	list, err := s.KnownErrors(ctx)
	if err != nil || len(list) != 1 || list[0].ID != "KE-000002" || !slices.Equal(list[0].Incidents, []string{"INC-000001"}) {
		t.Errorf("list %+v %v", list, err)
	}
}

// Every bot's index follows known errors through the KB's change stream;
// a fixed one leaves it.
func TestFollowKBIndexesKnownErrors(t *testing.T) {
	s := kbStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := s.CreateKnownError(ctx, "", vpnKnownError(), time.Now()); err != nil {
		t.Fatal(err)
	}
	ix := kb.NewIndex()
	pos, err := s.LoadKB(ctx, ix)
	if err != nil {
		t.Fatal(err)
	}
	if got := ix.Search(kb.Query{Text: "vpn disconnects"}); len(got) != 1 || got[0].ID != "KE-000001" {
		t.Fatalf("after load: %+v", got)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.FollowKB(ctx, ix, pos)
		done <- err
	}()
	es := kb.KnownError{Lang: intake.Spanish, Status: kb.KEOpen, Symptom: "La impresora imprime páginas en blanco",
		Workaround: "Cambiar el cartucho."}
	if _, err := s.CreateKnownError(ctx, "", es, time.Now()); err != nil {
		t.Fatal(err)
	}
	k1, err := s.KnownError(ctx, "KE-000001")
	if err != nil {
		t.Fatal(err)
	}
	k1.Status = kb.KEFixed
	if _, err := s.UpdateKnownError(ctx, k1, time.Now()); err != nil {
		t.Fatal(err)
	}
	waitForKB(t, func() bool {
		got := ix.Search(kb.Query{Text: "la impresora imprime en blanco", Lang: intake.Spanish})
		return len(got) == 1 && got[0].ID == "KE-000002" && len(ix.Search(kb.Query{Text: "vpn disconnects"})) == 0
	})
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("FollowKB returned %v, want context.Canceled", err)
	}
}

func registerKE(t *testing.T, f *fixture, subject string) *intake.Incident {
	t.Helper()
	return must(t)(f.engine.Register(context.Background(), intake.Report{Channel: intake.ChannelEmail, Subject: subject,
		Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test"}}))
}

// Linking writes the incident's field and a history entry in one change,
// and keeps each known error's list right when an incident moves from one
// to another and when it is unlinked.
func TestLinkAndUnlinkKnownError(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kes := workflow.NewKnownErrors(f.engine, f.store)
	a, err := f.store.CreateKnownError(ctx, "", vpnKnownError(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.store.CreateKnownError(ctx, "", vpnKnownError(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	inc := registerKE(t, f, "The VPN keeps dropping")
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "api"}
	if _, err := kes.Link(ctx, inc.ID, agent, a.ID, "same symptom"); err != nil {
		t.Fatal(err)
	}
	got := must(t)(f.engine.Get(ctx, inc.ID))
	last := got.History[len(got.History)-1]
	if got.KnownError != a.ID || last.Event != string(intake.EventKnownError) || !strings.Contains(last.Detail, "known_error:  -> KE-000001") || last.Note != "same symptom" {
		t.Errorf("after link: known error %q, last history %+v", got.KnownError, last)
	}
	// Linking the same again writes no history entry.
	before := len(must(t)(f.engine.Get(ctx, inc.ID)).History)
	if _, err := kes.Link(ctx, inc.ID, agent, a.ID, ""); err != nil {
		t.Fatal(err)
	}
	if after := len(must(t)(f.engine.Get(ctx, inc.ID)).History); after != before {
		t.Errorf("a repeated link wrote %d history entries", after-before)
	}
	if _, err := kes.Link(ctx, inc.ID, agent, b.ID, ""); err != nil {
		t.Fatal(err)
	}
	linked := func(id string) []string {
		t.Helper()
		k, err := f.store.KnownError(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		return k.Incidents
	}
	if la, lb := linked(a.ID), linked(b.ID); len(la) != 0 || !slices.Equal(lb, []string{inc.ID}) {
		t.Errorf("after relink: %s has %v, %s has %v", a.ID, la, b.ID, lb)
	}
	if _, err := kes.Unlink(ctx, inc.ID, agent, ""); err != nil {
		t.Fatal(err)
	}
	got = must(t)(f.engine.Get(ctx, inc.ID))
	if got.KnownError != "" || len(linked(b.ID)) != 0 {
		t.Errorf("after unlink: incident says %q, %s has %v", got.KnownError, b.ID, linked(b.ID))
	}
	before = len(got.History)
	if _, err := kes.Unlink(ctx, inc.ID, agent, ""); err != nil {
		t.Fatal(err)
	}
	if after := len(must(t)(f.engine.Get(ctx, inc.ID)).History); after != before {
		t.Errorf("unlinking nothing wrote %d history entries", after-before)
	}
	if _, err := kes.Link(ctx, inc.ID, agent, "KE-000042", ""); !errors.Is(err, intake.ErrNotFound) {
		t.Errorf("link to a missing known error: %v, want not found", err)
	}
	reporter := intake.Actor{Kind: intake.ActorReporter, Name: "ana@example.test", Via: "email"}
	if _, err := kes.Link(ctx, inc.ID, reporter, a.ID, ""); err == nil {
		t.Error("a reporter linked a known error")
	}
}

// Many agents linking incidents to two known errors at once: each
// incident ends in exactly the list of the known error it names.
func TestConcurrentLinksKeepListsConsistent(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kes := workflow.NewKnownErrors(f.engine, f.store)
	ids := []string{}
	for range 2 {
		k, err := f.store.CreateKnownError(ctx, "", vpnKnownError(), f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	var incs []string
	for i := range 10 {
		incs = append(incs, registerKE(t, f, fmt.Sprintf("VPN drop %d", i)).ID)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			agent := intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "api"}
			_, err := kes.Link(ctx, incs[i%len(incs)], agent, ids[i%3%2], "")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil && !errors.Is(err, intake.ErrConflict) {
			t.Fatal(err)
		}
	}
	// A late, older link (its caller was slow) never undoes a newer one.
	if err := f.store.LinkIncident(ctx, "INC-999999", ids[1], 6); err != nil {
		t.Fatal(err)
	}
	if err := f.store.LinkIncident(ctx, "INC-999999", ids[0], 5); err != nil {
		t.Fatal(err)
	}
	incs = append(incs, "INC-999999")
	lists := map[string][]string{}
	for _, id := range ids {
		k, err := f.store.KnownError(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		lists[id] = k.Incidents
	}
	for _, id := range incs {
		inc := &intake.Incident{ID: id, KnownError: ids[1]}
		if id != "INC-999999" {
			inc = must(t)(f.engine.Get(ctx, id))
		}
		for _, ke := range ids {
			if in := slices.Contains(lists[ke], id); in != (inc.KnownError == ke) {
				t.Errorf("%s links %q but %s's list has it: %v", id, inc.KnownError, ke, in)
			}
		}
	}
}

// One click records the workaround as an action, in the known error's
// language, and links the incident; in validation it is refused.
func TestApplyWorkaroundRecordsTheAction(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kes := workflow.NewKnownErrors(f.engine, f.store)
	k, err := f.store.CreateKnownError(ctx, "", vpnKnownError(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	inc := registerKE(t, f, "The VPN keeps dropping")
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "cli"}
	if _, err := kes.ApplyWorkaround(ctx, inc.ID, agent, k.ID); err != nil {
		t.Fatal(err)
	}
	got := must(t)(f.engine.Get(ctx, inc.ID))
	want := "Workaround of KE-000001 applied: Reinstall client 5.1 from the software center."
	if len(got.Actions) != 1 || got.Actions[0].Text != want || got.Actions[0].Author != "bob" || got.KnownError != k.ID {
		t.Errorf("actions %+v, known error %q", got.Actions, got.KnownError)
	}
	if k, _ = f.store.KnownError(ctx, k.ID); !slices.Equal(k.Incidents, []string{inc.ID}) {
		t.Errorf("linked %v", k.Incidents)
	}
	es := k
	es.Lang, es.Workaround = intake.Spanish, "Reinstalar el cliente 5.1."
	if got := workflow.WorkaroundAction(es); got != "Solución temporal de KE-000001 aplicada: Reinstalar el cliente 5.1." {
		t.Errorf("Spanish action %q", got)
	}
	did := done(t)
	did(f.engine.Move(ctx, inc.ID, agent, intake.Solution, ""))
	did(f.engine.Move(ctx, inc.ID, agent, intake.Validation, ""))
	var ref *intake.Refusal
	if _, err := kes.ApplyWorkaround(ctx, inc.ID, agent, k.ID); !errors.As(err, &ref) || ref.Code != intake.CodeLocked {
		t.Errorf("in validation: %v, want locked", err)
	}
}

// "Make a known error from this": the symptom is the reporter's words in
// their language, on the incident's CI, and the incident is linked.
func TestKnownErrorFromIncident(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kes := workflow.NewKnownErrors(f.engine, f.store)
	inc := registerKE(t, f, "No me funciona el correo desde esta mañana")
	agent := intake.Actor{Kind: intake.ActorAgent, Name: "bob", Via: "console"}
	k, err := kes.FromIncident(ctx, inc.ID, agent, "Buzón lleno", "Vaciar la papelera")
	if err != nil {
		t.Fatal(err)
	}
	if k.Lang != intake.Spanish || !strings.HasPrefix(k.Symptom, "No me funciona el correo") || k.From != inc.ID ||
		!slices.Equal(k.CIs, []string{inc.CI}) || k.Author != "bob" || k.Status != kb.KEOpen {
		t.Errorf("made %+v", k)
	}
	if got := must(t)(f.engine.Get(ctx, inc.ID)); got.KnownError != k.ID {
		t.Errorf("incident links %q, want %s", got.KnownError, k.ID)
	}
	if _, err := kes.FromIncident(ctx, inc.ID, agent, "", ""); !errors.Is(err, intake.ErrInvalid) {
		t.Errorf("without a workaround: %v, want invalid", err)
	}
}

// End to end: known errors saved in Redis reach a bot's index through the
// KB's change stream and become suggestions (kind known_error) on incidents
// registered with the same symptom, in English and Spanish; a fixed one is
// suggested no more; the reporter is never offered one.
func TestRegisteredIncidentsGetKnownErrorSuggestions(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ix := kb.NewIndex()
	pos, err := f.store.LoadKB(ctx, ix)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := f.store.FollowKB(ctx, ix, pos); done <- err }()
	f.engine.UseKB(workflow.Suggestions{Index: ix, MinScore: kb.DefaultMinScore, Counter: f.store})
	en, err := f.store.CreateKnownError(ctx, "", vpnKnownError(), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	es, err := f.store.CreateKnownError(ctx, "", kb.KnownError{Lang: intake.Spanish, Status: kb.KEOpen,
		Symptom: "La impresora de la tercera planta imprime páginas en blanco", Workaround: "Cambiar el cartucho."}, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	waitForKB(t, func() bool { return ix.Len() == 2 })
	suggested := func(subject, want string) bool {
		t.Helper()
		inc := registerKE(t, f, subject)
		for _, s := range inc.Suggestions {
			if s.ID == want {
				if s.Kind != "known_error" || s.Public {
					t.Errorf("%s suggested as %+v", want, s)
				}
				return true
			}
		}
		return false
	}
	if !suggested("VPN disconnects every few minutes since the update", en.ID) {
		t.Errorf("English report: %s not suggested", en.ID)
	}
	if !suggested("La impresora imprime páginas en blanco", es.ID) {
		t.Errorf("Spanish report: %s not suggested", es.ID)
	}
	en.Status = kb.KEFixed
	if _, err := f.store.UpdateKnownError(ctx, en, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	waitForKB(t, func() bool { return ix.Len() == 1 })
	if suggested("VPN disconnects every few minutes since the update", en.ID) {
		t.Errorf("fixed %s still suggested", en.ID)
	}
	cancel()
	<-done
}
