package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// The ids are the wire format of the API, the templates and Redis: this
// test pins them, so that a rename of a constant cannot change one.
func TestVocabularyWireValues(t *testing.T) {
	for _, c := range [][2]string{
		{string(Analysis), "analysis"}, {string(Solution), "solution"}, {string(Validation), "validation"},
		{string(NoSolution), "no_solution"}, {string(Satisfaction), "satisfaction"}, {string(Review), "review"}, {string(Closed), "closed"},
		{SurveyValidation, "validation"}, {SurveySatisfaction, "satisfaction"},
		{string(EventAnswerYes), "answer_yes"}, {string(EventSkipSurvey), "skip_survey"}, {string(EventRecovered), "recovered"}, {string(EventSolved), "solved"},
		{string(NoticeAck), "ack"}, {string(NoticeRemindValidation), "remind_validation"}, {string(NoticeChange), "change"},
		{string(RouteEmail), "email"}, {string(RouteSlack), "slack"}, {string(RouteWatch), "watch"},
		{string(CodeLocked), "locked_in_validation"}, {string(CodeClosed), "closed"},
	} {
		if c[0] != c[1] {
			t.Errorf("id %q, want %q", c[0], c[1])
		}
	}
}

func TestStatesAreValidAndNothingElse(t *testing.T) {
	for _, s := range States() {
		if !s.Valid() {
			t.Errorf("%s is not valid", s)
		}
	}
	for _, s := range []State{"", "open", "Analysis", "closed "} {
		if s.Valid() {
			t.Errorf("%q is valid", s)
		}
	}
}

// The watch route carries change notices to the watchers; no report
// arrives on it, so it is a route and not a channel.
func TestRoutesAreNotChannels(t *testing.T) {
	if Channel(RouteWatch).Valid() {
		t.Error("the watch route is accepted as a report channel")
	}
	for _, r := range Routes() {
		if !r.Valid() {
			t.Errorf("route %s is not valid", r)
		}
	}
	for _, r := range []Route{"", "web", "phone", "event"} {
		if r.Valid() {
			t.Errorf("%q is a valid route", r)
		}
	}
	// A reporter is answered on the route of their reply channel.
	for _, inc := range []Incident{
		{Channel: ChannelSlack, Reporter: Reporter{SlackID: "U1", Email: "a@x"}},
		{Channel: ChannelWeb, Reporter: Reporter{Email: "a@x"}},
		{Channel: ChannelPhone, Reporter: Reporter{SlackID: "U1"}},
	} {
		if r := Route(inc.ReplyChannel()); !r.Valid() {
			t.Errorf("reply channel of %+v is no route", inc)
		}
	}
}

func TestNoticeSurveySteps(t *testing.T) {
	for k, want := range map[NoticeKind]string{
		NoticeValidation: SurveyValidation, NoticeRemindValidation: SurveyValidation,
		NoticeSatisfaction: SurveySatisfaction, NoticeRemindSatisfaction: SurveySatisfaction,
		NoticeAck: "", NoticeReopened: "", NoticeClosed: "", NoticeChange: "",
	} {
		if got := k.SurveyStep(); got != want {
			t.Errorf("%s asks %q, want %q", k, got, want)
		}
	}
}

func TestRefusalIsFoundAndKeepsItsKind(t *testing.T) {
	for code, kind := range map[RefusalCode]error{
		CodeForbidden: ErrForbidden, CodeLocked: ErrConflict, CodeClosed: ErrConflict,
		CodeInvalidTransition: ErrConflict, CodeNotAllowedInState: ErrConflict,
	} {
		err := fmt.Errorf("move INC-000001: %w", &Refusal{Code: code, Message: "no", State: Validation, Allowed: []State{Solution}})
		var r *Refusal
		if !errors.As(err, &r) || r.Code != code || r.State != Validation {
			t.Fatalf("%s: errors.As found %+v", code, r)
		}
		if !errors.Is(err, kind) {
			t.Errorf("%s does not wrap %v", code, kind)
		}
	}
	// The plan carries refusals as JSON: the kind survives the trip,
	// since it follows from the code.
	raw, err := json.Marshal(&Refusal{Code: CodeForbidden, Message: "only an agent may do this", State: Review})
	if err != nil {
		t.Fatal(err)
	}
	var back Refusal
	if err := json.Unmarshal(raw, &back); err != nil || !errors.Is(&back, ErrForbidden) || back.Message != "only an agent may do this" {
		t.Fatalf("after JSON: %+v (%v)", back, err)
	}
}

// A channel gets the notice with the round of the question it asks: the
// round recorded when it was queued, or (queued before rounds existed) the
// incident's current one.
func TestNoticeOutgoingCarriesTheRound(t *testing.T) {
	inc := &Incident{ID: "INC-000003", State: Satisfaction, Round: 4}
	q := Notice{ID: "INC-000003:remind_satisfaction:9", Incident: inc.ID, Kind: NoticeRemindSatisfaction, Route: RouteSlack,
		Lang: Spanish, SlackID: "U1", Attempts: 2, Round: 3}
	msg := q.Outgoing(inc)
	if msg.ID != q.ID || msg.IncidentID != inc.ID || msg.Kind != q.Kind || msg.Route != RouteSlack || msg.Lang != Spanish ||
		msg.SlackID != "U1" || msg.Attempt != 2 || msg.Round != 3 {
		t.Fatalf("outgoing %+v", msg)
	}
	q.Round = 0
	if msg := q.Outgoing(inc); msg.Round != 4 {
		t.Fatalf("a notice without a round asks the open one: %+v", msg)
	}
	q.Kind, q.Round = NoticeAck, 4
	if msg := q.Outgoing(inc); msg.Round != 0 {
		t.Fatalf("an acknowledgment has a round: %+v", msg)
	}
	q.Kind, q.Round = NoticeValidation, 0
	if msg := q.Outgoing(nil); msg.Round != 0 || msg.ID != q.ID {
		t.Fatalf("without the incident: %+v", msg)
	}
}

// A question or reminder is stale when its step is no longer open or a
// newer round of it was asked; other notices never are.
func TestNoticeStale(t *testing.T) {
	for _, c := range []struct {
		name  string
		kind  NoticeKind
		round int64
		inc   Incident
		stale bool
	}{
		{"open round", NoticeValidation, 2, Incident{State: Validation, Round: 2}, false},
		{"reminder of the open round", NoticeRemindValidation, 2, Incident{State: Validation, Round: 2}, false},
		{"answered", NoticeValidation, 2, Incident{State: Satisfaction, Round: 3}, true},
		{"reminder after the answer", NoticeRemindSatisfaction, 3, Incident{State: Review, Round: 3}, true},
		{"replaced by a newer round", NoticeValidation, 1, Incident{State: Validation, Round: 2}, true},
		{"queued before rounds, step open", NoticeValidation, 0, Incident{State: Validation, Round: 2}, false},
		{"queued before rounds, step closed", NoticeValidation, 0, Incident{State: Analysis, Round: 2}, true},
		{"not a question", NoticeReopened, 1, Incident{State: Validation, Round: 2}, false},
	} {
		q := Notice{Kind: c.kind, Round: c.round}
		if got := q.Stale(&c.inc); (got != "") != c.stale {
			t.Errorf("%s: Stale = %q, want stale %v", c.name, got, c.stale)
		}
	}
	if got := (Notice{Kind: NoticeValidation, Round: 1}).Stale(nil); got != "" {
		t.Errorf("without the incident: %q", got)
	}
}

// SLA flags raise the alert of their kind; other flags raise none.
func TestAlertOfFlag(t *testing.T) {
	for flag, want := range map[string]Alert{
		"sla_response_warning": AlertSLAWarning, "sla_resolution_breach": AlertSLABreach,
		"sla_response_breach": AlertSLABreach, "vip": "", "sla_other": "",
	} {
		if got := AlertOfFlag(flag); got != want {
			t.Errorf("AlertOfFlag(%q) = %q, want %q", flag, got, want)
		}
	}
	for _, a := range Alerts() {
		if !a.Valid() {
			t.Errorf("alert %q is not valid", a)
		}
	}
	if Alert("breach").Valid() || RouteAgentMail.Reporter() || RouteWebhook.Reporter() || !RouteEmail.Reporter() {
		t.Error("an agent route is taken for a reporter's, or a wrong alert is valid")
	}
}
