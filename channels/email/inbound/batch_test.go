package inbound_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/intakebot/intakebot/channels/email/inbound"
	"github.com/intakebot/intakebot/intake"
)

// mixedMails are new reports (two from the same sender), replies to some of them and to an incident from before the
// batch, the same message twice, an out-of-office reply and a mail that
// cannot be parsed: every path a batch can take.
func mixedMails() []string {
	var out []string
	for i := range 5 {
		out = append(out, mail(fmt.Sprintf("User %d <user%d@example.test>", i, i), fmt.Sprintf("Printer %d", i),
			fmt.Sprintf("new%d@example.test", i), "", "the printer jams"))
	}
	out = append(out,
		mail(ana, "VPN caída", "vpn@example.test", "", "La VPN no conecta desde esta mañana"),
		mail("User 1 <user1@example.test>", "Re: Printer 1", "r1@example.test", "new1@example.test", "Now it also smells of toner"),
		mail("User 1 <user1@example.test>", "Scanner", "scan@example.test", "", "and the scanner is dead too"),
		mail("Carlos <carlos@example.test>", "Re: VPN caída", "c1@example.test", "vpn@example.test", "A mí también me pasa"),
		mail(ana, "Re: Correo", "old-reply@example.test", "old@example.test", "Sigue sin funcionar"),
		mail("User 3 <user3@example.test>", "Printer 3", "new3@example.test", "", "the printer jams"), // the same message again
		mail("Eve <eve@example.test>", "Automatic reply: Printer", "ooo@example.test", "", "I am out of the office", "Auto-Submitted: auto-replied"),
		"this is not a mail at all",
		mail("User 4 <user4@example.test>", "Photo", "photo@example.test", "", "see the picture"),
	)
	return out
}

// outcomeShape is what must not depend on batching: the outcome, and which
// mails share an incident (numbers may be handed out in another order).
type outcomeShape struct {
	Outcome, Reason, Step, Subject string
	SameAs                         int // the first mail with the same incident, or -1
}

func shapes(t *testing.T, e *env, recs []intake.InboundRecord) []outcomeShape {
	t.Helper()
	first := map[string]int{}
	out := make([]outcomeShape, len(recs))
	for i, r := range recs {
		s := outcomeShape{Outcome: r.Outcome, Reason: r.Reason, Step: r.Step, SameAs: -1}
		if r.Incident != "" {
			s.Subject = e.get(r.Incident).Subject
			if j, ok := first[r.Incident]; ok {
				s.SameAs = j
			} else {
				first[r.Incident] = i
			}
		}
		out[i] = s
	}
	return out
}

// seed registers the incident the batch's late reply answers.
func seed(e *env) string {
	return e.deliver(mail(ana, "Correo", "old@example.test", "", "No me funciona el correo")).Incident
}

func TestBatchGivesTheOutcomesOfOneByOne(t *testing.T) {
	one := newEnv(t, nil)
	seed(one)
	var single []intake.InboundRecord
	for _, raw := range mixedMails() {
		single = append(single, one.deliver(raw))
	}

	many := newEnv(t, nil)
	oldMany := seed(many)
	var items []inbound.Item
	for i, raw := range mixedMails() {
		items = append(items, inbound.Item{Source: inbound.Source{Mailbox: "helpdesk", UIDValidity: 1, UID: uint32(i + 2)}, Raw: []byte(raw)})
	}
	batch, errs := many.proc.ProcessBatch(context.Background(), items, 4)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("item %d: %v", i, err)
		}
	}
	a, b := shapes(t, one, single), shapes(t, many, batch)
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("mail %d: one by one %+v, in a batch %+v", i, a[i], b[i])
		}
	}
	if batch[9].Incident != oldMany || batch[9].Outcome != intake.OutcomeAppended {
		t.Errorf("the reply to the incident from before the batch: %+v", batch[9])
	}
	for _, want := range []intake.InboundRecord{{Outcome: intake.OutcomeCreated}, {Outcome: intake.OutcomeAppended}} {
		n := 0
		for _, r := range batch {
			if r.Outcome == want.Outcome {
				n++
			}
		}
		if n == 0 {
			t.Errorf("no %s outcome in the batch: the test lost its coverage", want.Outcome)
		}
	}
	// Each new report once: one incident and one acknowledgment each,
	// and the replies found their threads through the new incidents' mail.
	if got, want := countQueued(t, many, "ack"), countQueued(t, one, "ack"); got != want {
		t.Errorf("%d acknowledgments queued in a batch, %d one by one", got, want)
	}
	if c := many.get(batch[6].Incident).Comments; len(c) != 1 {
		t.Errorf("the reply in the batch left %d comments on the report it answers", len(c))
	}

	// The same batch again (the mailbox was not told, say): every outcome
	// is the stored one, nothing is registered twice.
	again, errs := many.proc.ProcessBatch(context.Background(), items, 4)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("again, item %d: %v", i, err)
		}
		if again[i].Outcome != batch[i].Outcome || again[i].Incident != batch[i].Incident {
			t.Errorf("again, item %d: %+v, first %+v", i, again[i], batch[i])
		}
	}
	if got, want := countQueued(t, many, "ack"), countQueued(t, one, "ack"); got != want {
		t.Errorf("after the batch again: %d acknowledgments, want %d", got, want)
	}
}
