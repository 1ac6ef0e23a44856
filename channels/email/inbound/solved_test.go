package inbound_test

import (
	"context"
	"strings"
	"testing"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/workflow"
)

func withSeedKB(t *testing.T, e *env) {
	t.Helper()
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	e.engine.UseKB(workflow.Suggestions{Index: kb.NewIndex(seed...), MinScore: kb.DefaultMinScore, Counter: e.store})
}

// A reply "resuelto" from the reporter, proven by the reply address it was
// sent to, records that the offered article solved the problem.
func TestReplyResueltoSolvesWithTheOfferedArticle(t *testing.T) {
	e := newEnv(t, nil)
	withSeedKB(t, e)
	rec := e.deliver(mail(ana, "La impresora se atasca", "j1@example.test", "", "La impresora se atasca con cada hoja, el papel queda atascado."))
	id := rec.Incident
	offered := e.get(id).ReporterSuggestions(kb.DefaultMinScore)
	if len(offered) == 0 || offered[0].ID != "printer-jam" {
		t.Fatalf("offered %+v", offered)
	}
	// Forged: the reporter's From, sent to the plain help-desk address,
	// nothing authenticated. Kept as a comment; nothing moves.
	rec = e.deliver(mail(ana, "Re: acuse", "j2@example.test", ours(id, "ack"), "Resuelto"))
	if rec.Outcome != intake.OutcomeAppended || !strings.Contains(rec.Reason, "not proven") || e.get(id).State != intake.Analysis {
		t.Fatalf("unproven resuelto: %+v state %s", rec, e.get(id).State)
	}
	// A number beyond the articles offered answers nothing either.
	rec = e.deliver(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: acuse", "j3@example.test", ours(id, "ack"), "resuelto 9")))
	if rec.Outcome != intake.OutcomeAppended || e.get(id).State != intake.Analysis {
		t.Fatalf("resuelto 9: %+v", rec)
	}
	rec = e.deliver(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: acuse", "j4@example.test", ours(id, "ack"),
		"Resuelto\n\nEl mié, 25 nov 2026 a las 9:01, Help desk <helpdesk@example.test> escribió:\n> Estos artículos pueden resolverlo")))
	inc := e.get(id)
	if rec.Outcome != intake.OutcomeSurveyAnswer || rec.Step != string(intake.EventSolved) || inc.State != intake.Satisfaction {
		t.Fatalf("resuelto: %+v state %s", rec, inc.State)
	}
	if last := inc.History[len(inc.History)-1]; last.Event != string(intake.EventSolved) || last.Note != "printer-jam" || last.Via != "email" {
		t.Fatalf("history %+v", last)
	}
	// The same mail again creates nothing twice.
	e.deliver(to(replyAddress(id, "ana@example.test"), mail(ana, "Re: acuse", "j4@example.test", ours(id, "ack"), "Resuelto")))
	counts, err := e.store.SolvedCounts(context.Background())
	if err != nil || counts["printer-jam"] != 1 {
		t.Fatalf("counts %v %v", counts, err)
	}
}
