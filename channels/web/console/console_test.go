package console_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/web/console"
	"github.com/intakebot/intakebot/channels/web/webui"
	"github.com/intakebot/intakebot/intake"
)

func TestRootAndPagesWithoutSessionLeadToSignIn(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if resp, _ := c.do("GET", "/", nil); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("/ answered %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	inc := f.report("VPN down")
	for _, p := range []string{"/console/", "/console/incidents/" + inc.ID, "/console/incidents/" + inc.ID + "/attachments/0"} {
		resp, _ := c.do("GET", p, nil)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/console/login?next=") {
			t.Errorf("GET %s without a session: %d %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	// A POST without a session changes nothing and says so.
	resp, _ := c.do("POST", "/console/incidents/"+inc.ID, url.Values{"op": {"take"}, "csrf": {"x"}})
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("POST without a session: %d", resp.StatusCode)
	}
	if resp, _ := c.do("GET", "/console/events", nil); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("events without a session: %d", resp.StatusCode)
	}
	if got, _ := f.engine.Get(context.Background(), inc.ID); got.Owner != "" {
		t.Fatalf("owner %q after refused requests", got.Owner)
	}
}

func TestSignInSetsASafeCookieAndSignOutEndsIt(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	resp, _ := c.login("alice", password)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("sign-in: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	var cookie *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == "intakebot_session" {
			cookie = ck
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("session cookie %+v", cookie)
	}
	resp, page := c.do("GET", "/console/", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "<strong>alice</strong>") {
		t.Fatalf("queue after sign-in: %d\n%s", resp.StatusCode, page)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("security headers: %v", resp.Header)
	}
	resp, _ = c.do("POST", "/console/logout", url.Values{"csrf": {csrf(t, page)}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	// The old cookie, replayed, no longer opens anything.
	d := f.client()
	u, _ := url.Parse(f.srv.URL + "/console/")
	d.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "intakebot_session", Value: cookie.Value, Path: "/console/"}})
	if resp, _ := d.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("replayed cookie after sign-out: %d", resp.StatusCode)
	}
}

func TestSecureCookieOverHTTPS(t *testing.T) {
	f := newFixture(t)
	for _, secure := range []bool{false, true} {
		rec := httptest.NewRecorder()
		s := webui.NewSessions(f.rdb, f.prefix, time.Hour, 12*time.Hour, secure, time.Now)
		if _, err := s.Create(context.Background(), rec, "alice"); err != nil {
			t.Fatal(err)
		}
		ck := rec.Result().Cookies()
		if len(ck) != 1 || ck[0].Secure != secure || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteLaxMode || ck[0].Path != "/console/" {
			t.Fatalf("secure=%v: cookie %+v", secure, ck)
		}
	}
}

func TestWrongPasswordsAreRefusedAndLimited(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	for i := range 5 {
		resp, page := c.login("alice", "wrong")
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(page, "The name or the password is wrong.") {
			t.Fatalf("attempt %d: %d\n%s", i, resp.StatusCode, page)
		}
	}
	// Over the limit even the right password waits.
	resp, page := c.login("alice", password)
	if resp.StatusCode != http.StatusTooManyRequests || !strings.Contains(page, "Too many failed attempts") {
		t.Fatalf("after 5 failures: %d\n%s", resp.StatusCode, page)
	}
	// An unknown name reads the same as a wrong password.
	resp, page = f.client().login("nobody", "x")
	if resp.StatusCode != http.StatusTooManyRequests && !strings.Contains(page, "The name or the password is wrong.") {
		t.Fatalf("unknown agent: %d\n%s", resp.StatusCode, page)
	}
}

func TestPostWithoutCSRFIsForbidden(t *testing.T) {
	f := newFixture(t)
	inc := f.report("VPN down")
	c := f.client()
	c.login("alice", password)
	for name, form := range map[string]url.Values{
		"no token":    {"op": {"take"}},
		"wrong token": {"op": {"take"}, "csrf": {"not-the-token"}},
	} {
		if resp, _ := c.do("POST", "/console/incidents/"+inc.ID, form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, resp.StatusCode)
		}
	}
	// The right token from another site's page is refused too.
	_, page := c.do("GET", "/console/incidents/"+inc.ID, nil)
	if resp, _ := c.do("POST", "/console/incidents/"+inc.ID, url.Values{"op": {"take"}, "csrf": {csrf(t, page)}}, "Origin", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", resp.StatusCode)
	}
	// The sign-in form needs its token as well.
	if resp, _ := f.client().do("POST", "/console/login", url.Values{"name": {"alice"}, "password": {password}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in without token: %d", resp.StatusCode)
	}
	if got, _ := f.engine.Get(context.Background(), inc.ID); got.Owner != "" {
		t.Fatalf("a refused POST changed the owner to %q", got.Owner)
	}
	// With the token it works.
	if resp, _ := c.do("POST", "/console/incidents/"+inc.ID, url.Values{"op": {"take"}, "csrf": {csrf(t, page)}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("take with token: %d", resp.StatusCode)
	}
}

func TestSessionsExpireIdleAndAbsolute(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("alice", password)
	// Absolute: 12 h after sign-in the session is over however busy.
	f.clock.Add(12*time.Hour + time.Second)
	if resp, _ := c.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the absolute limit: %d", resp.StatusCode)
	}
	// Idle: the key's TTL is the idle time; past it Redis forgot it.
	d := f.client()
	d.login("alice", password)
	keys, err := f.rdb.Keys(context.Background(), f.prefix+":{web}:session:*").Result()
	if err != nil || len(keys) != 1 {
		t.Fatalf("session keys %v %v", keys, err)
	}
	if ttl := f.rdb.PTTL(context.Background(), keys[0]).Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Fatalf("idle TTL %s, want 1h", ttl)
	}
	f.rdb.PExpire(context.Background(), keys[0], time.Millisecond)
	for f.rdb.Exists(context.Background(), keys[0]).Val() != 0 {
		runtime.Gosched() // Redis expires it on the next access after 1 ms
	}
	if resp, _ := d.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after idling out: %d", resp.StatusCode)
	}
}

func TestRevokedAgentIsOutAtOnce(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("bob", password)
	if err := f.store.RevokeAgent(context.Background(), "bob"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := c.do("GET", "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoked agent's session: %d", resp.StatusCode)
	}
}

func TestQueueFiltersAndWords(t *testing.T) {
	f := newFixture(t)
	a := f.report("VPN down")
	b := f.report("Printer jammed")
	c := f.client()
	c.login("alice", password)
	_, page := c.do("GET", "/console/", nil)
	if !strings.Contains(page, a.ID) || !strings.Contains(page, b.ID) || strings.Index(page, b.ID) > strings.Index(page, a.ID) {
		t.Fatalf("queue is not newest first:\n%s", page)
	}
	if !strings.Contains(page, "Analysis") || !strings.Contains(page, "P3 · Medium") || !strings.Contains(page, "left</span>") {
		t.Fatalf("queue lacks state, priority or SLA in words:\n%s", page)
	}
	if _, err := f.engine.Assign(context.Background(), a.ID, intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}, "alice", ""); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string][2]bool{ // shows a, shows b
		"owner=me":           {true, false},
		"owner=none":         {false, true},
		"group=networks":     {true, false},
		"channel=phone":      {false, false},
		"channel=email":      {true, true},
		"sla=breached":       {false, false},
		"state=solution":     {false, false},
		"priority=P3":        {true, true},
		"state=bogus&sla=no": {true, true}, // unknown values filter nothing
		"q=printers":         {false, true},
		"q=vpn&owner=me":     {true, false},
		"q=printer&owner=me": {false, false},
		"q=jam":              {false, true}, // the last word as a prefix
	} {
		_, page := c.do("GET", "/console/?"+q, nil)
		if strings.Contains(page, a.ID) != want[0] || strings.Contains(page, b.ID) != want[1] {
			t.Errorf("%s: shows %s %v, %s %v; want %v", q, a.ID, strings.Contains(page, a.ID), b.ID, strings.Contains(page, b.ID), want)
		}
	}
	// Spanish, by the agent's choice.
	resp, _ := c.do("GET", "/console/lang?to=es&back=/console/", nil)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("language switch: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	_, page = c.do("GET", "/console/", nil)
	if !strings.Contains(page, `<html lang="es">`) || !strings.Contains(page, "Análisis") || !strings.Contains(page, "P3 · Media") {
		t.Fatalf("Spanish queue:\n%s", page)
	}
	// The switch never leads off the console.
	if resp, _ := c.do("GET", "/console/lang?to=en&back=https://evil.example/", nil); resp.Header.Get("Location") != "/console/" {
		t.Fatalf("open redirect: %q", resp.Header.Get("Location"))
	}
}

// The search box finds words in Spanish and English, keeps what was typed,
// and its pages go on with the search.
func TestQueueSearchBox(t *testing.T) {
	f := newFixture(t)
	var want []string
	for i := range 110 {
		if i%2 == 0 {
			want = append(want, f.report(fmt.Sprintf("La impresora %d no imprime", i)).ID)
		} else {
			f.report(fmt.Sprintf("VPN caída %d", i))
		}
	}
	c := f.client()
	c.login("alice", password)
	_, page := c.do("GET", "/console/?q=IMPRESORAS", nil)
	if !strings.Contains(page, `value="IMPRESORAS"`) || !strings.Contains(page, want[54]) || strings.Contains(page, "VPN caída") {
		t.Fatalf("search page:\n%s", page)
	}
	older := regexp.MustCompile(`href="([^"]*)" rel="next"`).FindStringSubmatch(page)
	if older == nil || !strings.Contains(older[1], "q=IMPRESORAS") {
		t.Fatalf("the next page forgets the search: %v", older)
	}
	_, page = c.do("GET", html.UnescapeString(older[1]), nil)
	if !strings.Contains(page, want[0]+"<") || strings.Contains(page, "VPN caída") {
		t.Fatalf("second page:\n%s", page)
	}
	c.do("GET", "/console/lang?to=es&back=/console/", nil)
	_, page = c.do("GET", "/console/?q=ca%C3%ADda+vpn", nil)
	if !strings.Contains(page, ">Buscar<") || !strings.Contains(page, "VPN caída 109<") || strings.Contains(page, "impresora") {
		t.Fatalf("Spanish search page:\n%s", page)
	}
}

func TestQueuePages(t *testing.T) {
	f := newFixture(t)
	var first *intake.Incident
	for i := range 52 {
		inc := f.report("Report " + string(rune('A'+i%26)))
		if i == 0 {
			first = inc
		}
	}
	c := f.client()
	c.login("alice", password)
	_, page := c.do("GET", "/console/", nil)
	if strings.Contains(page, first.ID+"<") || !strings.Contains(page, `rel="next"`) {
		t.Fatalf("first page shows the oldest or no next link")
	}
	_, page = c.do("GET", "/console/?before=3", nil)
	if !strings.Contains(page, first.ID) || !strings.Contains(page, "INC-000002") || strings.Contains(page, `rel="next"`) {
		t.Fatalf("last page:\n%s", page)
	}
}

func TestNonOwnerSeesNoCloseAndIsRefusedInline(t *testing.T) {
	f := newFixture(t)
	inc := f.report("VPN down")
	ctx := context.Background()
	alice := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	reporter := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email"}
	f.engine.Assign(ctx, inc.ID, alice, "alice", "")
	f.engine.Move(ctx, inc.ID, alice, intake.Solution, "")
	f.engine.Move(ctx, inc.ID, alice, intake.Validation, "")
	f.engine.AnswerValidation(ctx, inc.ID, reporter, true, "")
	if _, err := f.engine.Rate(ctx, inc.ID, reporter, 5, ""); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	c.login("bob", password)
	_, page := c.do("GET", "/console/incidents/"+inc.ID, nil)
	if strings.Contains(page, `value="closed"`) || strings.Contains(page, `value="take"`) {
		t.Fatalf("bob is offered to close or take alice's case:\n%s", page)
	}
	// Posting it anyway: refused, in the page, in his language.
	resp, page := c.do("POST", "/console/incidents/"+inc.ID, url.Values{"op": {"move"}, "to": {"closed"}, "csrf": {csrf(t, page)}}, "Accept-Language", "es")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "requiere al responsable") {
		t.Fatalf("bob closing: %d\n%s", resp.StatusCode, page)
	}
}

func TestAttachmentsKeepTheirTypeAndCannotRunAsPages(t *testing.T) {
	f := newFixture(t)
	inc := f.report("Screenshot")
	png := []byte("\x89PNG\r\n\x1a\n fake")
	if err := f.store.AddAttachments(context.Background(), inc.ID, "test:1", []intake.Attachment{
		{Name: "screen.png", Type: "image/png", Size: int64(len(png)), Content: png},
		{Name: "page.html", Type: "text/html", Size: 20, Content: []byte("<script>alert(1)</script>")},
	}); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	c.login("alice", password)
	_, page := c.do("GET", "/console/incidents/"+inc.ID, nil)
	if !strings.Contains(page, `<img class="preview" src="/console/incidents/`+inc.ID+`/attachments/0"`) || strings.Contains(page, `attachments/1" alt`) {
		t.Fatalf("previews:\n%s", page)
	}
	resp, body := c.do("GET", "/console/incidents/"+inc.ID+"/attachments/0", nil)
	if resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "inline") || body != string(png) {
		t.Fatalf("png: %v", resp.Header)
	}
	resp, _ = c.do("GET", "/console/incidents/"+inc.ID+"/attachments/1", nil)
	if resp.Header.Get("Content-Type") != "text/html" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "sandbox") {
		t.Fatalf("html attachment: %v", resp.Header)
	}
	if resp, _ := c.do("GET", "/console/incidents/"+inc.ID+"/attachments/7", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("missing attachment: %d", resp.StatusCode)
	}
}

func TestExportIsTheFilteredQueueAsCSV(t *testing.T) {
	f := newFixture(t)
	a := f.report("=HYPERLINK(\"http://evil\") VPN")
	b := f.report("Printer jammed")
	f.engine.Assign(context.Background(), b.ID, intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}, "alice", "")
	c := f.client()
	c.login("alice", password)
	resp, body := c.do("GET", "/console/export.csv", nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export: %d %v", resp.StatusCode, resp.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][0] != "id" || rows[1][0] != b.ID || rows[2][0] != a.ID {
		t.Fatalf("rows %q %v", rows, err)
	}
	if rows[2][1] != `'=HYPERLINK("http://evil") VPN` {
		t.Fatalf("a formula reached the file: %q", rows[2][1])
	}
	_, body = c.do("GET", "/console/export.csv?owner=me", nil)
	if rows, _ := csv.NewReader(strings.NewReader(body)).ReadAll(); len(rows) != 2 || rows[1][0] != b.ID {
		t.Fatalf("filtered export %q", rows)
	}
	if resp, _ := f.client().do("GET", "/console/export.csv", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("export without a session: %d", resp.StatusCode)
	}
}

func TestAgentsPageIsForAdminsOnly(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("alice", password)
	if resp, page := c.do("GET", "/console/agents", nil); resp.StatusCode != http.StatusForbidden || !strings.Contains(page, "Only admins") {
		t.Fatalf("non-admin GET /console/agents: %d", resp.StatusCode)
	}
	_, page := c.do("GET", "/console/", nil)
	if strings.Contains(page, `href="/console/agents"`) {
		t.Fatal("a plain agent is offered the agents page")
	}
	resp, _ := c.do("POST", "/console/agents", url.Values{"csrf": {csrf(t, page)}, "op": {"revoke"}, "name": {"bob"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("non-admin revoke: %d", resp.StatusCode)
	}
	if _, err := f.store.Agent(context.Background(), "bob"); err != nil {
		t.Fatalf("bob after a refused revoke: %v", err)
	}
}

func TestAdminAddsSetsPasswordAndRevokes(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	c.login("root", password)
	_, page := c.do("GET", "/console/agents", nil)
	if !strings.Contains(page, "<strong>alice</strong>") || !strings.Contains(page, "Revoke bob") || strings.Contains(page, "Revoke root") {
		t.Fatalf("agents page:\n%s", page)
	}
	token := csrf(t, page)
	resp, page := c.do("POST", "/console/agents", url.Values{"csrf": {token}, "op": {"add"}, "name": {"carol"}, "password": {"a long enough password"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "ibt_") {
		t.Fatalf("add: %d\n%s", resp.StatusCode, page)
	}
	if resp, _ := f.client().login("carol", "a long enough password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("carol cannot sign in: %d", resp.StatusCode)
	}
	if resp, page := c.do("POST", "/console/agents", url.Values{"csrf": {token}, "op": {"add"}, "name": {"carol"}}); resp.StatusCode != http.StatusConflict || !strings.Contains(page, "exists already") {
		t.Fatalf("adding carol again: %d", resp.StatusCode)
	}
	if resp, page := c.do("POST", "/console/agents", url.Values{"csrf": {token}, "op": {"passwd"}, "name": {"bob"}, "password": {"short"}}); resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, "not valid") {
		t.Fatalf("short password: %d", resp.StatusCode)
	}
	if resp, _ := c.do("POST", "/console/agents", url.Values{"csrf": {token}, "op": {"passwd"}, "name": {"bob"}, "password": {"bob's new password"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("set bob's password: %d", resp.StatusCode)
	}
	if resp, _ := f.client().login("bob", "bob's new password"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("bob with the new password: %d", resp.StatusCode)
	}
	if resp, _ := c.do("POST", "/console/agents", url.Values{"csrf": {token}, "op": {"revoke"}, "name": {"root"}}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("self-revoke: %d", resp.StatusCode)
	}
	if resp, _ := c.do("POST", "/console/agents", url.Values{"csrf": {token}, "op": {"revoke"}, "name": {"carol"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("revoke carol: %d", resp.StatusCode)
	}
	if resp, _ := f.client().login("carol", "a long enough password"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("revoked carol signs in: %d", resp.StatusCode)
	}
}

func TestDashboardCountsAndMeasures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	alice := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	reporter := intake.Actor{Kind: intake.ActorReporter, Name: "Ana", Via: "email"}
	f.report("VPN down")
	f.report("Printer jammed")
	done := f.report("Outlook slow")
	f.engine.Assign(ctx, done.ID, alice, "alice", "")
	f.engine.Move(ctx, done.ID, alice, intake.Solution, "")
	f.engine.Move(ctx, done.ID, alice, intake.Validation, "")
	f.engine.AnswerValidation(ctx, done.ID, reporter, false, "") // reopened
	f.engine.Move(ctx, done.ID, alice, intake.Solution, "")
	f.engine.Move(ctx, done.ID, alice, intake.Validation, "")
	f.engine.AnswerValidation(ctx, done.ID, reporter, true, "")
	if _, err := f.engine.Rate(ctx, done.ID, reporter, 4, ""); err != nil {
		t.Fatal(err)
	}
	c := f.client()
	c.login("alice", password)
	resp, page := c.do("GET", "/console/dashboard", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("dashboard: %d", resp.StatusCode)
	}
	for _, want := range []string{
		"<strong>3</strong> open incidents", // analysis 2, review 1
		"Analysis: 2; Solution: 0; Validation: 0; Satisfaction survey: 0; Review: 1;",
		"Critical: 0; High: 0; Medium: 3;", "4.0 / 5 (1 ratings)", "<dd>1 (33\u00a0%)</dd>", "<svg class=\"chart\"",
		"Registered in the last 7 days", "Registered in the last 30 days",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("dashboard lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(page)
	}
}

// TestChangesReachEveryBotsConsoles: a change made anywhere reaches the
// event stream of this bot's console and the hub of another bot on the
// same Redis (which does not drain the watch route itself).
func TestChangesReachEveryBotsConsoles(t *testing.T) {
	f := newFixture(t)
	other := console.NewHub(f.rdb, f.prefix, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = other.Run(ctx, nil, 0) }()
	t.Cleanup(func() { cancel(); <-done })
	<-other.Ready()
	changes, stop := other.Subscribe()
	defer stop()

	c := f.client()
	c.login("alice", password)
	req, _ := http.NewRequest("GET", f.srv.URL+"/console/events", nil)
	resp, err := c.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("events: %d %v", resp.StatusCode, resp.Header)
	}
	stream := bufio.NewReader(resp.Body)
	if line, _ := stream.ReadString('\n'); line != ": live\n" {
		t.Fatalf("first line %q", line)
	}
	inc := f.report("VPN down")
	select {
	case change := <-changes:
		// The id and the version the change made: a console showing that
		// version already has nothing to reload.
		if change != inc.ID+" 1" {
			t.Fatalf("other bot heard %q, want %q", change, inc.ID+" 1")
		}
	case <-time.After(15 * time.Second): // a guard, not a timing assertion
		t.Fatal("the other bot heard nothing")
	}
	for {
		line, err := stream.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == "data: "+inc.ID+" 1\n" {
			break
		}
	}
}
