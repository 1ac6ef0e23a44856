package surveylink_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"runtime"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/workflow/redisstore"
)

// With Redis killed, a survey link answers 503 with Retry-After and a page
// in the browser's language (the reporter's is in Redis) asking to come
// back; nothing is spent, and once Redis is back the same link votes.
func TestSurveyPageWhileRedisIsDown(t *testing.T) {
	o := redistest.StartOutage(t)
	rdb, err := redisstore.Connect(o.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	f := newFixtureOn(t, rdb, "outage", nil, nil)
	id := f.reach(intake.Spanish, intake.Validation)
	link := f.link(id, surveylink.StepValidation)

	o.Kill()
	form := url.Values{"answer": {"yes"}}.Encode()
	for lang, phrase := range map[string]string{"en": "Please try again in a few minutes", "es": "inténtelo de nuevo en unos minutos"} {
		for _, r := range []response{
			do(t, http.MethodGet, link, "", "", "Accept-Language", lang),
			do(t, http.MethodPost, link, "application/x-www-form-urlencoded", form, "Accept-Language", lang),
		} {
			r.want(t, http.StatusServiceUnavailable, phrase)
			if got := r.hdr.Get("Retry-After"); got != "10" {
				t.Errorf("%s: Retry-After %q, want 10", lang, got)
			}
		}
	}

	o.Start()
	// The client waits a moment before dialling again; the deadline only
	// guards against a hang.
	deadline := time.Now().Add(30 * time.Second)
	for show(t, link).code == http.StatusServiceUnavailable {
		if time.Now().After(deadline) {
			t.Fatal("the survey page still answers 503 after Redis came back")
		}
		runtime.Gosched()
	}
	post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusOK, "Gracias")
	if inc := f.get(id); inc.State != intake.Satisfaction {
		t.Fatalf("the vote after the outage was not recorded: %s", inc.State)
	}
}

// unavailableSpender fails Spend as a Redis failing over would, while it
// is told to.
type unavailableSpender struct {
	surveylink.Spender
	down bool
}

func (s *unavailableSpender) Spend(ctx context.Context, nonce string, until time.Time) (bool, error) {
	if s.down {
		return false, fmt.Errorf("spend: CLUSTERDOWN The cluster is down: %w", intake.ErrUnavailable)
	}
	return s.Spender.Spend(ctx, nonce, until)
}

// When the incident was read but the link could not be spent, the page
// is in the reporter's language, whatever the browser's, and the link is
// still good.
func TestSurveyVoteWhileRedisFailsOver(t *testing.T) {
	spend := &unavailableSpender{down: true}
	rdb, prefix := redistest.New(t, redisstore.Connect)
	f := newFixtureOn(t, rdb, prefix, nil, func(s surveylink.Spender) surveylink.Spender { spend.Spender = s; return spend })
	id := f.reach(intake.Spanish, intake.Validation)
	link := f.link(id, surveylink.StepValidation)
	r := do(t, http.MethodPost, link, "application/x-www-form-urlencoded", url.Values{"answer": {"no"}}.Encode(), "Accept-Language", "en")
	r.want(t, http.StatusServiceUnavailable, "inténtelo de nuevo en unos minutos", id)
	if r.hdr.Get("Retry-After") != "10" {
		t.Errorf("Retry-After %q", r.hdr.Get("Retry-After"))
	}
	spend.down = false
	post(t, link, url.Values{"answer": {"no"}}).want(t, http.StatusOK)
}
