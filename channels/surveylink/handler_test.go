package surveylink_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/surveylink"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/redistest"
	"github.com/intakebot/intakebot/templates"
	"github.com/intakebot/intakebot/workflow"
	"github.com/intakebot/intakebot/workflow/redisstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

type fixture struct {
	t      *testing.T
	rdb    redis.UniversalClient
	prefix string
	store  *redisstore.Store
	engine *workflow.Engine
	clock  *clock
	signer *surveylink.Signer
	srv    *httptest.Server
}

var agent = intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}

func newFixture(t *testing.T) *fixture {
	return newFixtureWith(t, nil)
}

// newFixtureWith serves the pages; wrap, when set, stands between the
// handler and the real engine (to inject a failure).
func newFixtureWith(t *testing.T, wrap func(surveylink.Answerer) surveylink.Answerer) *fixture {
	rdb, prefix := redistest.New(t, redisstore.Connect)
	return newFixtureOn(t, rdb, prefix, wrap, nil)
}

// newFixtureOn serves the pages on the given Redis; wrapSpend, when set,
// stands between the handler and the store's Spend.
func newFixtureOn(t *testing.T, rdb redis.UniversalClient, prefix string, wrap func(surveylink.Answerer) surveylink.Answerer,
	wrapSpend func(surveylink.Spender) surveylink.Spender) *fixture {
	rules, err := intake.NewRules(intake.RulesConfig{
		DefaultLanguage: intake.English, DefaultCategory: "general", DefaultGroup: "desk",
		DefaultImpact: intake.Medium, DefaultUrgency: intake.Medium,
	})
	if err != nil {
		t.Fatal(err)
	}
	pages, err := templates.LoadPages()
	if err != nil {
		t.Fatal(err)
	}
	c := newClock()
	store := redisstore.New(rdb, prefix, intake.RouteEmail, intake.RouteSlack)
	engine := workflow.NewEngine(store, rules, workflow.NewMetrics(prometheus.NewRegistry()), c.Now)
	seed, err := kb.Seed()
	if err != nil {
		t.Fatal(err)
	}
	engine.UseKB(workflow.Suggestions{Index: kb.NewIndex(seed...), MinScore: kb.DefaultMinScore, Counter: store})
	var answerer surveylink.Answerer = engine
	if wrap != nil {
		answerer = wrap(engine)
	}
	var spender surveylink.Spender = store
	if wrapSpend != nil {
		spender = wrapSpend(store)
	}
	f := &fixture{t: t, rdb: rdb, prefix: prefix, store: store, engine: engine, clock: c, signer: newSigner(t, c)}
	f.srv = httptest.NewServer(surveylink.NewHandler(surveylink.Deps{
		Signer: f.signer, Incidents: engine, Answerer: answerer, Solver: engine, Spender: spender, Pages: pages,
		Log: slog.New(slog.DiscardHandler),
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// reach registers an incident for a reporter speaking lang and drives it
// into state s (validation or satisfaction).
func (f *fixture) reach(lang intake.Lang, s intake.State) string {
	f.t.Helper()
	ctx := context.Background()
	inc, err := f.engine.Register(ctx, intake.Report{Channel: intake.ChannelEmail, Subject: "VPN",
		Reporter: intake.Reporter{Name: "Ana", Email: "ana@example.test", Language: lang}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.toValidation(inc.ID)
	if s == intake.Satisfaction {
		by := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email"}
		if _, err := f.engine.AnswerValidation(ctx, inc.ID, by, true, ""); err != nil {
			f.t.Fatal(err)
		}
	}
	return inc.ID
}

func (f *fixture) toValidation(id string) {
	f.t.Helper()
	ctx := context.Background()
	for _, to := range []intake.State{intake.Solution, intake.Validation} {
		if _, err := f.engine.Move(ctx, id, agent, to, ""); err != nil {
			f.t.Fatal(err)
		}
	}
}

// link signs a link for the incident's current round, as a mail or a
// Slack prompt sent now would carry.
func (f *fixture) link(id, step string) string {
	f.t.Helper()
	round := int64(1) // for an incident that does not exist
	if inc, err := f.engine.Get(context.Background(), id); err == nil {
		round = max(inc.Round, 1)
	}
	tok, err := f.signer.Sign(id, step, round)
	if err != nil {
		f.t.Fatal(err)
	}
	return surveylink.URL(f.srv.URL, tok)
}

func (f *fixture) get(id string) *intake.Incident {
	f.t.Helper()
	inc, err := f.engine.Get(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return inc
}

// spentMarkers counts the links spent so far.
func (f *fixture) spentMarkers() int {
	f.t.Helper()
	keys, err := redistest.Keys(context.Background(), f.rdb, f.prefix+":{links}:spent:*")
	if err != nil {
		f.t.Fatal(err)
	}
	return len(keys)
}

type response struct {
	code int
	body string
	hdr  http.Header
}

func do(t *testing.T, method, link, contentType, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, link, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(raw), resp.Header}
}

func show(t *testing.T, link string, hdr ...string) response {
	t.Helper()
	return do(t, http.MethodGet, link, "", "", hdr...)
}

func post(t *testing.T, link string, form url.Values) response {
	t.Helper()
	return do(t, http.MethodPost, link, "application/x-www-form-urlencoded", form.Encode())
}

// want checks a page's status, its safety headers and that it contains
// every phrase.
func (r response) want(t *testing.T, code int, phrases ...string) {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d:\n%s", r.code, code, r.body)
	}
	for h, v := range map[string]string{
		"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store",
		"Referrer-Policy": "no-referrer", "X-Robots-Tag": "noindex, nofollow",
	} {
		if got := r.hdr.Get(h); got != v {
			t.Errorf("%s: %q, want %q", h, got, v)
		}
	}
	for _, p := range phrases {
		if !strings.Contains(r.body, p) {
			t.Fatalf("page lacks %q:\n%s", p, r.body)
		}
	}
}

func TestValidationAnswers(t *testing.T) {
	for _, c := range []struct {
		lang                        intake.Lang
		question, yesButton, thanks string
		reopened                    string
	}{
		{intake.English, "Is the service back to normal?", `value="yes">Yes</button>`, "We are glad incident", "back in analysis"},
		{intake.Spanish, "¿Ha vuelto el servicio a la normalidad?", `value="yes">Sí</button>`, "Nos alegra que la incidencia", "vuelve a estar en análisis"},
	} {
		t.Run(string(c.lang)+"/yes", func(t *testing.T) {
			f := newFixture(t)
			id := f.reach(c.lang, intake.Validation)
			link := f.link(id, surveylink.StepValidation)
			show(t, link).want(t, http.StatusOK, `<html lang="`+string(c.lang)+`">`, c.question, c.yesButton, id, `method="post"`)

			post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusOK, c.thanks, id)
			inc := f.get(id)
			if inc.State != intake.Satisfaction {
				t.Fatalf("state %s, want satisfaction", inc.State)
			}
			last := inc.Surveys[len(inc.Surveys)-1]
			h := inc.History[len(inc.History)-1]
			if last.Answer != "yes" || last.Via != "web" || h.Actor != "Ana" || h.Via != "web" {
				t.Fatalf("survey %+v history %+v", last, h)
			}
		})
		t.Run(string(c.lang)+"/no", func(t *testing.T) {
			f := newFixture(t)
			id := f.reach(c.lang, intake.Validation)
			link := f.link(id, surveylink.StepValidation)
			// Browsers send a textarea's line breaks as CRLF.
			post(t, link, url.Values{"answer": {"no"}, "comment": {"  still broken\r\nsigue igual  "}}).want(t, http.StatusOK, c.reopened)
			inc := f.get(id)
			if inc.State != intake.Analysis || inc.ReopenCount != 1 {
				t.Fatalf("state %s reopen %d, want analysis 1", inc.State, inc.ReopenCount)
			}
			last := inc.Surveys[len(inc.Surveys)-1]
			if last.Answer != "no" || last.Comment != "still broken\nsigue igual" || last.Via != "web" {
				t.Fatalf("survey %+v", last)
			}
		})
	}
}

func TestSatisfactionRating(t *testing.T) {
	for _, c := range []struct {
		lang               intake.Lang
		question, thanks   string
		rateButton, legend string
	}{
		{intake.English, "How did we do?", "We have recorded your rating of 4", `value="5" title="very satisfied">5</button>`, "1 = very unsatisfied"},
		{intake.Spanish, "¿Qué tal lo hemos hecho?", "Hemos registrado su valoración de 4", `value="5" title="muy satisfecho">5</button>`, "1 = muy insatisfecho"},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			f := newFixture(t)
			id := f.reach(c.lang, intake.Satisfaction)
			link := f.link(id, surveylink.StepSatisfaction)
			show(t, link).want(t, http.StatusOK, c.question, c.rateButton, c.legend, `name="comment"`)
			post(t, link, url.Values{"rating": {"4"}, "comment": {"rápido, gracias"}}).want(t, http.StatusOK, c.thanks)
			inc := f.get(id)
			last := inc.Surveys[len(inc.Surveys)-1]
			if inc.State != intake.Review || last.Rating != 4 || last.Comment != "rápido, gracias" || last.Via != "web" {
				t.Fatalf("state %s survey %+v", inc.State, last)
			}
		})
	}
}

// TestGetChangesNothing: mail scanners follow links; only a POST votes.
func TestGetChangesNothing(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.English, intake.Validation)
	before := f.get(id)
	link := f.link(id, surveylink.StepValidation)
	for range 3 {
		show(t, link).want(t, http.StatusOK, "Is the service back to normal?")
	}
	if r := do(t, http.MethodHead, link, "", ""); r.code != http.StatusOK || r.body != "" {
		t.Fatalf("HEAD: %d %q", r.code, r.body)
	}
	// A vote in the query string is not a vote.
	show(t, link+"?answer=yes").want(t, http.StatusOK, "Is the service back to normal?")
	if after := f.get(id); after.Version != before.Version || after.State != intake.Validation || f.spentMarkers() != 0 {
		t.Fatalf("GET changed the incident (version %d -> %d) or spent the link", before.Version, after.Version)
	}
	if r := do(t, http.MethodPut, link, "application/x-www-form-urlencoded", "answer=yes"); r.code != http.StatusMethodNotAllowed {
		t.Fatalf("PUT: %d, want 405", r.code)
	}
}

func TestSecondUseIsAlreadyAnswered(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.Spanish, intake.Satisfaction)
	link := f.link(id, surveylink.StepSatisfaction)
	post(t, link, url.Values{"rating": {"5"}}).want(t, http.StatusOK, "Gracias")
	after := f.get(id)
	post(t, link, url.Values{"rating": {"1"}}).want(t, http.StatusConflict, "Ya respondida", "ya está respondida", id)
	show(t, link).want(t, http.StatusOK, "ya está respondida")
	if again := f.get(id); again.Version != after.Version || len(again.Surveys) != len(after.Surveys) {
		t.Fatal("the second use changed the incident")
	}
}

// TestConcurrentClicksOneVote: a double click, or two tabs, cast one vote.
func TestConcurrentClicksOneVote(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.English, intake.Validation)
	link := f.link(id, surveylink.StepValidation)
	const n = 8
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, link, strings.NewReader("answer=no"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return
			}
			resp.Body.Close()
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	wins := 0
	for _, c := range codes {
		switch c {
		case http.StatusOK:
			wins++
		case http.StatusConflict:
		default:
			t.Fatalf("codes %v", codes)
		}
	}
	if inc := f.get(id); wins != 1 || inc.ReopenCount != 1 || len(inc.Surveys) != 1 {
		t.Fatalf("%d votes won, reopen %d, surveys %d; want one of each", wins, inc.ReopenCount, len(inc.Surveys))
	}
}

// TestLinkOfAnEarlierRound: after a "no" the case asks again with a new
// link; links of the first round, spent or not, do not answer the second,
// however soon the second round comes (no time window: the clock does not
// move here), and their page says the question was replaced.
func TestLinkOfAnEarlierRound(t *testing.T) {
	for _, c := range []struct {
		lang           intake.Lang
		replaced, open string
	}{
		{intake.English, "was replaced by a newer one", "Thank you"},
		{intake.Spanish, "sustituida por otra más reciente", "Gracias"},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			f := newFixture(t)
			id := f.reach(c.lang, intake.Validation)
			spent := f.link(id, surveylink.StepValidation)
			unspent := f.link(id, surveylink.StepValidation)
			reminder := f.link(id, surveylink.StepValidation) // a reminder's link: the same round
			post(t, spent, url.Values{"answer": {"no"}}).want(t, http.StatusOK)
			// Between the rounds the question is not open: answered.
			show(t, reminder).want(t, http.StatusOK)
			f.toValidation(id)
			before := f.get(id)
			if before.Round != 2 {
				t.Fatalf("round %d after asking again, want 2", before.Round)
			}

			show(t, unspent).want(t, http.StatusOK, c.replaced, id)
			for _, old := range []string{spent, unspent, reminder} {
				post(t, old, url.Values{"answer": {"yes"}}).want(t, http.StatusConflict, c.replaced)
			}
			if after := f.get(id); after.Version != before.Version || f.spentMarkers() != 1 {
				t.Fatalf("an old link changed the incident or was spent (%d markers)", f.spentMarkers())
			}
			post(t, f.link(id, surveylink.StepValidation), url.Values{"answer": {"yes"}}).want(t, http.StatusOK, c.open)
			if inc := f.get(id); inc.State != intake.Satisfaction || inc.Round != 3 {
				t.Fatalf("the new round's link did not answer: %s, round %d", inc.State, inc.Round)
			}
		})
	}
}

// A reminder's link belongs to its question's round: it answers.
func TestReminderLinkAnswers(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.English, intake.Satisfaction)
	question := f.link(id, surveylink.StepSatisfaction)
	bot := intake.Actor{Kind: intake.ActorSystem, Name: "intakebot", Via: "timer"}
	if _, err := f.engine.Remind(context.Background(), id, bot, "no answer yet"); err != nil {
		t.Fatal(err)
	}
	reminder := f.link(id, surveylink.StepSatisfaction)
	post(t, reminder, url.Values{"rating": {"4"}}).want(t, http.StatusOK)
	// The question's own link, same round, now finds it answered.
	post(t, question, url.Values{"rating": {"5"}}).want(t, http.StatusConflict, "already been answered")
	if inc := f.get(id); inc.State != intake.Review || len(inc.Surveys) != 2 || inc.Surveys[1].Rating != 4 {
		t.Fatalf("state %s, surveys %+v", inc.State, inc.Surveys)
	}
}

// A link mailed before links carried a round is refused with the same
// clear page, in the reporter's language, and changes nothing.
func TestRoundlessLinkIsRefusedAsReplaced(t *testing.T) {
	for lang, phrase := range map[intake.Lang]string{intake.English: "was replaced by a newer one", intake.Spanish: "sustituida"} {
		f := newFixture(t)
		id := f.reach(lang, intake.Validation)
		tok := surveylink.RoundlessToken(testKey, id, surveylink.StepValidation, f.clock.Now(), f.clock.Now().Add(time.Hour))
		link := surveylink.URL(f.srv.URL, tok)
		show(t, link).want(t, http.StatusOK, phrase)
		post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusConflict, phrase)
		if inc := f.get(id); inc.State != intake.Validation || len(inc.Surveys) != 0 || f.spentMarkers() != 0 {
			t.Fatalf("a round-less link changed something: %s", inc.State)
		}
	}
}

// The round is checked again, atomically, when the answer is recorded: a
// new round opened between the page's check and the vote refuses it.
func TestRoundCheckedWhenTheVoteIsRecorded(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.English, intake.Validation)
	by := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "web", Round: 1}
	if _, err := f.engine.AnswerValidation(context.Background(), id, intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email"}, false, ""); err != nil {
		t.Fatal(err)
	}
	f.toValidation(id)
	_, err := f.engine.AnswerValidation(context.Background(), id, by, true, "")
	var refused *intake.Refusal
	if !errors.As(err, &refused) || refused.Code != intake.CodeReplaced || !errors.Is(err, intake.ErrConflict) {
		t.Fatalf("err = %v, want a question_replaced refusal", err)
	}
	by.Round = 2
	if _, err := f.engine.AnswerValidation(context.Background(), id, by, true, ""); err != nil {
		t.Fatalf("the open round: %v", err)
	}
}

func TestForgedLink(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.Spanish, intake.Validation)
	link := f.link(id, surveylink.StepValidation)
	// Change one byte of the token, in its middle.
	i := len(link) - 40
	repl := "A"
	if link[i] == 'A' {
		repl = "B"
	}
	forged := link[:i] + repl + link[i+1:]
	show(t, forged).want(t, http.StatusBadRequest, "This link is not valid")
	show(t, forged, "Accept-Language", "fr-FR, es;q=0.9, en;q=0.8").want(t, http.StatusBadRequest, "Este enlace no es válido")
	post(t, forged, url.Values{"answer": {"yes"}}).want(t, http.StatusBadRequest)
	show(t, f.srv.URL+"/s/not-a-token").want(t, http.StatusBadRequest)
	if inc := f.get(id); inc.State != intake.Validation || len(inc.Surveys) != 0 || f.spentMarkers() != 0 {
		t.Fatal("a forged link changed something")
	}
	// The genuine link still works.
	post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusOK, "Gracias")
}

func TestExpiredLink(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.Spanish, intake.Validation)
	link := f.link(id, surveylink.StepValidation)
	f.clock.Add(surveylink.DefaultTTL)
	show(t, link).want(t, http.StatusGone, "Este enlace ha caducado", id)
	post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusGone, "ha caducado")
	if inc := f.get(id); inc.State != intake.Validation || len(inc.Surveys) != 0 || f.spentMarkers() != 0 {
		t.Fatal("an expired link changed something")
	}
}

// TestLinkIsForItsIncidentAndStep: a link answers its own incident's own
// question and nothing else.
func TestLinkIsForItsIncidentAndStep(t *testing.T) {
	f := newFixture(t)
	a := f.reach(intake.English, intake.Validation)
	b := f.reach(intake.English, intake.Validation)
	post(t, f.link(a, surveylink.StepValidation), url.Values{"answer": {"yes"}}).want(t, http.StatusOK)
	if inc := f.get(b); inc.State != intake.Validation || len(inc.Surveys) != 0 {
		t.Fatal("a link for one incident answered another")
	}

	// A satisfaction link for an incident still in validation: nothing to
	// answer, and the link is not burnt for it.
	sat := f.link(b, surveylink.StepSatisfaction)
	show(t, sat).want(t, http.StatusOK, "already been answered")
	post(t, sat, url.Values{"rating": {"5"}}).want(t, http.StatusConflict, "already been answered")
	if inc := f.get(b); inc.State != intake.Validation || len(inc.Surveys) != 0 || f.spentMarkers() != 1 {
		t.Fatalf("a link for another step changed something (%d markers)", f.spentMarkers())
	}
}

func TestMalformedForms(t *testing.T) {
	f := newFixture(t)
	val := f.reach(intake.Spanish, intake.Validation)
	sat := f.reach(intake.English, intake.Satisfaction)
	valLink, satLink := f.link(val, surveylink.StepValidation), f.link(sat, surveylink.StepSatisfaction)
	form := "application/x-www-form-urlencoded"
	for _, c := range []struct {
		name, link, contentType, body string
	}{
		{"rating on a validation link", valLink, form, "rating=5"},
		{"answer on a satisfaction link", satLink, form, "answer=yes"},
		{"both fields", valLink, form, "answer=yes&rating=5"},
		{"no answer", valLink, form, "comment=hi"},
		{"empty body", valLink, form, ""},
		{"answer maybe", valLink, form, "answer=maybe"},
		{"answer twice", valLink, form, "answer=yes&answer=no"},
		{"unknown field", valLink, form, "answer=yes&admin=1"},
		{"rating 0", satLink, form, "rating=0"},
		{"rating 6", satLink, form, "rating=6"},
		{"rating 03", satLink, form, "rating=03"},
		{"rating text", satLink, form, "rating=five"},
		{"bad escape", valLink, form, "answer=%zz"},
		{"comment not UTF-8", valLink, form, "answer=yes&comment=%ff%fe"},
		{"JSON body", valLink, "application/json", `{"answer":"yes"}`},
		{"multipart body", valLink, "multipart/form-data; boundary=x", "--x\r\nContent-Disposition: form-data; name=\"answer\"\r\n\r\nyes\r\n--x--\r\n"},
		{"no content type", valLink, "", "answer=yes"},
	} {
		t.Run(c.name, func(t *testing.T) {
			do(t, http.MethodPost, c.link, c.contentType, c.body).want(t, http.StatusBadRequest)
		})
	}
	do(t, http.MethodPost, valLink, form, "rating=5").want(t, http.StatusBadRequest, "No pudimos leer su respuesta")
	if f.get(val).State != intake.Validation || f.get(sat).State != intake.Satisfaction || f.spentMarkers() != 0 {
		t.Fatal("a malformed form changed something or spent a link")
	}
	// Nothing was burnt: the links still take a proper answer.
	post(t, valLink, url.Values{"answer": {"no"}}).want(t, http.StatusOK)
	post(t, satLink, url.Values{"rating": {"3"}}).want(t, http.StatusOK)
}

func TestOversizedBody(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.English, intake.Validation)
	link := f.link(id, surveylink.StepValidation)
	big := url.Values{"answer": {"yes"}, "comment": {strings.Repeat("x", surveylink.MaxBodyBytes)}}
	post(t, link, big).want(t, http.StatusRequestEntityTooLarge, "the comment is too long")
	do(t, http.MethodPost, link, "text/plain", strings.Repeat("x", 2*surveylink.MaxBodyBytes)).want(t, http.StatusRequestEntityTooLarge)
	if inc := f.get(id); inc.State != intake.Validation || f.spentMarkers() != 0 {
		t.Fatal("an oversized form changed something")
	}
	// Just under the limit is fine.
	fits := strings.Repeat("y", surveylink.MaxBodyBytes-len("answer=yes&comment="))
	post(t, link, url.Values{"answer": {"yes"}, "comment": {fits}}).want(t, http.StatusOK)
}

func TestUnknownIncident(t *testing.T) {
	f := newFixture(t)
	link := f.link("INC-999999", surveylink.StepValidation)
	show(t, link).want(t, http.StatusNotFound, "INC-999999")
	post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusNotFound, "We cannot find incident")
	show(t, link, "Accept-Language", "es-ES").want(t, http.StatusNotFound, "No encontramos la incidencia")
	if f.spentMarkers() != 0 {
		t.Fatal("a link to no incident was spent")
	}
}

// failingAnswerer is the real engine behind a switch that makes the next
// vote fail, as a crash or a Redis error between spending and voting would.
type failingAnswerer struct {
	surveylink.Answerer
	err error
}

func (a *failingAnswerer) AnswerValidation(ctx context.Context, id string, by intake.Actor, yes bool, note string) (intake.Changed, error) {
	if a.err != nil {
		return intake.Changed{}, a.err
	}
	return a.Answerer.AnswerValidation(ctx, id, by, yes, note)
}

// TestVoteFailsAfterSpend pins the at-most-once choice: the link is spent,
// the reporter is asked to answer by mail, and the link does not vote twice.
func TestVoteFailsAfterSpend(t *testing.T) {
	fail := &failingAnswerer{err: errors.New("redis: connection reset")}
	f := newFixtureWith(t, func(e surveylink.Answerer) surveylink.Answerer { fail.Answerer = e; return fail })
	id := f.reach(intake.Spanish, intake.Validation)
	link := f.link(id, surveylink.StepValidation)
	post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusInternalServerError, "Algo ha fallado", "responda a nuestro correo")
	fail.err = nil
	post(t, link, url.Values{"answer": {"yes"}}).want(t, http.StatusConflict, "ya está respondida")
	if inc := f.get(id); inc.State != intake.Validation || len(inc.Surveys) != 0 {
		t.Fatal("a failed vote changed the incident")
	}
}

// TestPerAnswerLinksOfferTheirAnswer: the mails carry one link per answer;
// following one offers that answer first and still waits for the click.
func TestPerAnswerLinksOfferTheirAnswer(t *testing.T) {
	f := newFixture(t)
	id := f.reach(intake.Spanish, intake.Validation)
	link := f.link(id, surveylink.StepValidation)
	r := show(t, link+"?answer=no")
	r.want(t, http.StatusOK, `value="no" class="chosen"`)
	if strings.Contains(r.body, `value="yes" class="chosen"`) {
		t.Fatal("both answers offered first")
	}
	for _, bad := range []string{"?answer=maybe", "?rating=4"} {
		if r := show(t, link+bad); strings.Contains(r.body, `class="chosen"`) {
			t.Errorf("%s offered an answer", bad)
		}
	}
	if f.get(id).State != intake.Validation || f.spentMarkers() != 0 {
		t.Fatal("following a per-answer link voted")
	}
	id2 := f.reach(intake.English, intake.Satisfaction)
	show(t, f.link(id2, surveylink.StepSatisfaction)+"?rating=4").want(t, http.StatusOK, `value="4" class="chosen"`)
}
