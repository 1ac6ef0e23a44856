package intake

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"
)

// The ids are the wire format of the API, the templates and Redis: this
// test pins them, so that a rename of a constant cannot change one.
func TestVocabularyWireValues(t *testing.T) {
	for _, c := range [][2]string{
		{string(Analysis), "analysis"}, {string(Solution), "solution"}, {string(Validation), "validation"},
		{string(NoSolution), "no_solution"}, {string(Satisfaction), "satisfaction"}, {string(Review), "review"}, {string(Closed), "closed"},
		{SurveyValidation, "validation"}, {SurveySatisfaction, "satisfaction"},
		{string(EventAnswerYes), "answer_yes"}, {string(EventSkipSurvey), "skip_survey"}, {string(EventRecovered), "recovered"},
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
// time the incident last entered that step.
func TestNoticeOutgoingCarriesTheRound(t *testing.T) {
	entered := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	inc := &Incident{ID: "INC-000003", EnteredAt: map[State]time.Time{Analysis: entered.Add(-time.Hour), Satisfaction: entered}}
	q := Notice{ID: "INC-000003:remind_satisfaction:9", Incident: inc.ID, Kind: NoticeRemindSatisfaction, Route: RouteSlack,
		Lang: Spanish, SlackID: "U1", Attempts: 2}
	msg := q.Outgoing(inc)
	if msg.ID != q.ID || msg.IncidentID != inc.ID || msg.Kind != q.Kind || msg.Route != RouteSlack || msg.Lang != Spanish ||
		msg.SlackID != "U1" || msg.Attempt != 2 || !msg.Round.Equal(entered) {
		t.Fatalf("outgoing %+v", msg)
	}
	q.Kind = NoticeAck
	if msg := q.Outgoing(inc); !msg.Round.IsZero() {
		t.Fatalf("an acknowledgment has a round: %+v", msg)
	}
	q.Kind = NoticeValidation
	if msg := q.Outgoing(nil); !msg.Round.IsZero() || msg.ID != q.ID {
		t.Fatalf("without the incident: %+v", msg)
	}
}
