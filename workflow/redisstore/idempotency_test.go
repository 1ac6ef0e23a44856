package redisstore_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/intakebot/intakebot/channels/email/smtpout"
	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/intake"
)

// TestSameReportKeyRegistersOnce covers a source redelivering one message
// (and concurrent redeliveries): one incident, one acknowledgment.
func TestSameReportKeyRegistersOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	rep := intake.Report{Channel: intake.ChannelEmail, Subject: "VPN down", Key: "<abc@mail.example.test>",
		MessageID: "abc@mail.example.test", Reporter: intake.Reporter{Email: "eva@example.test"}}
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			inc := must(t)(f.engine.Register(ctx, rep))
			ids[i] = inc.ID
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("one key gave several incidents: %v", ids)
		}
	}
	list, _ := f.store.Outbox(ctx, 100)
	if len(list) != 1 {
		t.Fatalf("%d acknowledgments queued, want 1", len(list))
	}
	inc := must(t)(f.engine.Get(ctx, ids[0]))
	if !slices.Equal(inc.MailIDs, []string{"abc@mail.example.test"}) {
		t.Fatalf("mail ids %v", inc.MailIDs)
	}
	other := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "VPN down", Key: "<other@x>"}))
	if other.ID == ids[0] {
		t.Fatal("a different key reused the incident")
	}
}

// TestSameRefAppliesOnce covers a reply processed twice (crash before the
// source was acknowledged): the comment and the answer count once.
func TestSameRefAppliesOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Validation)
	by := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email", Ref: "reply-1@example.test"}
	for range 2 {
		done(t)(f.engine.AnswerValidation(ctx, id, by, false, "sigue fallando"))
	}
	by.Ref = "reply-2@example.test"
	for range 2 {
		done(t)(f.engine.Comment(ctx, id, by, "adjunto captura"))
	}
	inc := must(t)(f.engine.Get(ctx, id))
	if inc.ReopenCount != 1 || len(inc.Surveys) != 1 || len(inc.Comments) != 1 || inc.State != intake.Analysis {
		t.Fatalf("reopen %d surveys %d comments %d state %s", inc.ReopenCount, len(inc.Surveys), len(inc.Comments), inc.State)
	}
	// A refused act does not consume its ref: once the state allows it, the
	// same message still counts.
	by.Ref = "reply-3@example.test"
	if _, err := f.engine.Rate(ctx, id, by, 5, ""); err == nil {
		t.Fatal("rating in analysis accepted")
	}
	done(t)(f.engine.Move(ctx, id, alice, intake.Solution, ""))
	done(t)(f.engine.Move(ctx, id, alice, intake.Validation, ""))
	done(t)(f.engine.AnswerValidation(ctx, id, intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email", Ref: "reply-4"}, true, ""))
	done(t)(f.engine.Rate(ctx, id, by, 5, ""))
	if inc = must(t)(f.engine.Get(ctx, id)); inc.State != intake.Review {
		t.Fatalf("state %s", inc.State)
	}
}

func TestMailThread(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := must(t)(f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "x", MessageID: "root@a",
		Reporter: intake.Reporter{Email: "a@example.test"}})).ID
	for _, m := range []string{"root@a", "r1@a", "r2@a", "r1@a"} {
		if err := f.store.RememberMail(ctx, id, m, nil); err != nil {
			t.Fatal(err)
		}
	}
	inc := must(t)(f.engine.Get(ctx, id))
	if !slices.Equal(inc.MailIDs, []string{"root@a", "r1@a", "r2@a"}) {
		t.Fatalf("mail ids %v", inc.MailIDs)
	}
	for _, c := range []struct {
		ids  []string
		want string
	}{{[]string{"nope@x", "r2@a"}, id}, {[]string{"nope@x"}, ""}, {nil, ""}} {
		got, err := f.store.ThreadOf(ctx, c.ids)
		if err != nil || got != c.want {
			t.Fatalf("ThreadOf(%v) = %q, %v; want %q", c.ids, got, err, c.want)
		}
	}
	// Answers thread under the reporter's mails.
	q, _ := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), 0, 10)
	msg, err := smtpout.Renderer{Texts: f.texts}.Render(q[0].Outgoing(inc), inc)
	if err != nil || msg.InReplyTo != "r2@a" || !slices.Equal(msg.References, inc.MailIDs) {
		t.Fatalf("threading %q %v %v", msg.InReplyTo, msg.References, err)
	}
}

func TestSurveyQuestionsAreRenderedWithASignedLink(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	id := reach(t, f, intake.Validation)
	signer, err := surveylink.NewSigner(make([]byte, 32), 0, f.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	links := surveylink.Linker{Signer: signer, BaseURL: "https://hd.example.test/"}
	queued, _ := f.store.Claim(ctx, intake.RouteEmail, f.clock.Now(), 0, 10)
	inc := must(t)(f.engine.Get(ctx, id))
	for _, q := range queued {
		msg, err := smtpout.Renderer{Texts: f.texts, Links: links}.Render(q.Outgoing(inc), inc)
		if err != nil {
			t.Fatal(err)
		}
		hasLink := strings.Contains(msg.Text, "https://hd.example.test/s/")
		if hasLink != (q.Kind == "validation") {
			t.Errorf("%s message: link %v\n%s", q.Kind, hasLink, msg.Text)
		}
		if q.Kind == "validation" {
			token := msg.Text[strings.Index(msg.Text, "/s/")+3:]
			token = strings.Fields(token)[0]
			c, err := signer.Verify(token)
			if err != nil || c.IncidentID != id || c.Step != "validation" {
				t.Fatalf("link does not verify: %+v %v", c, err)
			}
		}
	}
}
