package console_test

// Tests in a real browser: chromedp drives Debian's chromium, headless.
// They fail (never skip) when chromium is missing: .ci/chromium.sh
// installs it, or apt-get install -y chromium.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/browsertest"
)

// browser starts a fresh headless chromium (its own cookies) showing
// pages width px wide.
func browser(t testing.TB, width int) context.Context {
	t.Helper()
	return browsertest.Start(t, width, "")
}

func run(t testing.TB, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	browsertest.Run(t, ctx, actions...)
}

// signIn fills the sign-in form as a person would.
func signIn(f *fixture, name string) chromedp.Tasks {
	return chromedp.Tasks{
		chromedp.Navigate(f.srv.URL + "/console/"),
		chromedp.WaitVisible(`#name`, chromedp.ByQuery),
		chromedp.SendKeys(`#name`, name, chromedp.ByQuery),
		chromedp.SendKeys(`#password`, password, chromedp.ByQuery),
		chromedp.Click(`button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`table.queue`, chromedp.ByQuery),
		// The queue finished loading, so what a test reads next stays.
		chromedp.Poll(`document.readyState === "complete"`, nil),
	}
}

func text(t testing.TB, ctx context.Context) string {
	t.Helper()
	return browsertest.Text(t, ctx)
}

func waitFor(t testing.TB, ctx context.Context, what, js string) {
	t.Helper()
	browsertest.WaitFor(t, ctx, what, js)
}

func click(sel string) chromedp.Action { return browsertest.Click(sel) }

func TestBrowserPasswordSignInAndWorkAnIncidentToClosed(t *testing.T) {
	f := newFixture(t)
	inc := f.report("VPN down for the whole floor")
	ctx := browser(t, 1280)
	run(t, ctx, signIn(f, "alice"))
	if s := text(t, ctx); !strings.Contains(s, inc.ID) || !strings.Contains(s, "VPN down") {
		t.Fatalf("queue after sign-in:\n%s", s)
	}
	run(t, ctx, click(`a[href="/console/incidents/`+inc.ID+`"]`), chromedp.WaitVisible(`button[name=to][value=solution]`, chromedp.ByQuery))
	// Take it, diagnose, find the solution, ask the reporter; each step
	// waits for the page that shows its result.
	run(t, ctx, click(`form:has(input[value=take]) button`))
	waitFor(t, ctx, "alice as owner", `!document.querySelector('input[value=take]') && document.querySelector('dl.facts').textContent.includes('alice')`)
	run(t, ctx, chromedp.SendKeys(`#action-text`, "Restarted the VPN concentrator.", chromedp.ByQuery),
		click(`form:has(input[value=action]) button`))
	waitFor(t, ctx, "the action", `document.querySelector('.entries').textContent.includes('Restarted the VPN concentrator.')`)
	// A note for the reporter: the same form, its box ticked.
	run(t, ctx, chromedp.SendKeys(`#action-text`, "Please reconnect the VPN once.", chromedp.ByQuery),
		click(`#action-public`), click(`form:has(input[value=action]) button`))
	waitFor(t, ctx, "the public note", `[...document.querySelectorAll('.entries > div.public')].length === 1 && document.querySelector('.entries > div.public').textContent.includes('Please reconnect the VPN once.')`)
	if s := text(t, ctx); !strings.Contains(s, "Note to the reporter") {
		t.Fatalf("the history does not name the note:\n%s", s)
	}
	run(t, ctx, click(`button[name=to][value=solution]`))
	waitFor(t, ctx, "solution", `!!document.querySelector('button[name=to][value=validation]')`)
	run(t, ctx, click(`button[name=to][value=validation]`))
	waitFor(t, ctx, "the lock", `!!document.querySelector('.lock')`)
	// The validation lock: it says why, and no form changes the case.
	s := text(t, ctx)
	if !strings.Contains(s, "Locked while the reporter validates") {
		t.Fatalf("no lock in validation:\n%s", s)
	}
	var forms int
	run(t, ctx, chromedp.Evaluate(`document.querySelectorAll('#action-text, button[name=to]').length`, &forms))
	if forms != 0 {
		t.Fatalf("%d action or move controls offered in validation", forms)
	}
	// The reporter phones: alice records the answer and the rating in
	// the console, so the whole way to closed is the console's.
	run(t, ctx, chromedp.SendKeys(`#pv-note`, "Ana called back", chromedp.ByQuery), click(`button[name=answer][value=yes]`))
	waitFor(t, ctx, "the rating form", `!!document.querySelector('#pr-rating')`)
	run(t, ctx, chromedp.SetValue(`#pr-rating`, "4", chromedp.ByQuery), chromedp.SendKeys(`#pr-comment`, "quick", chromedp.ByQuery),
		click(`form:has(input[value=phone_rating]) button`))
	waitFor(t, ctx, "the close button", `!!document.querySelector('button[name=to][value=closed]')`)
	run(t, ctx, click(`button[name=to][value=closed]`))
	waitFor(t, ctx, "closed", `document.querySelector('main').textContent.includes('Closed')`)
	got, err := f.engine.Get(context.Background(), inc.ID)
	if err != nil || got.State != intake.Closed || got.Owner != "alice" || len(got.Actions) != 2 || got.Actions[0].Public || !got.Actions[1].Public {
		t.Fatalf("incident after the console: %+v %v", got, err)
	}
	if n := len(got.Surveys); n != 2 || got.Surveys[0].Answer != "yes" || got.Surveys[1].Rating != 4 ||
		got.Surveys[1].Via != "phone" || got.Surveys[1].Recorder != "alice" {
		t.Fatalf("phone answers recorded: %+v", got.Surveys)
	}
	// After the report's registration every change is alice's in the
	// console; the reporter's answers say they came by phone (alice typed
	// them in).
	for _, h := range got.History[1:] {
		if h.Actor != "alice" || (h.Via != "console" && h.Via != "phone") {
			t.Errorf("a change by %s via %q", h.Actor, h.Via)
		}
	}
}

func TestBrowserSecondConsoleSeesChangesLive(t *testing.T) {
	f := newFixture(t)
	inc := f.report("Printer jammed")
	a, b := browser(t, 1280), browser(t, 1280)
	run(t, a, signIn(f, "alice"))
	run(t, b, signIn(f, "bob"))
	// Both look at the incident; bob takes it; alice sees it without a reload.
	run(t, a, chromedp.Navigate(f.srv.URL+"/console/incidents/"+inc.ID), chromedp.WaitVisible(`#h-facts`, chromedp.ByQuery))
	run(t, a, chromedp.Evaluate(`window.notReloaded = true`, nil))
	run(t, b, chromedp.Navigate(f.srv.URL+"/console/incidents/"+inc.ID), chromedp.WaitVisible(`#h-facts`, chromedp.ByQuery))
	clicked := time.Now()
	run(t, b, click(`form:has(input[value=take]) button`))
	waitFor(t, a, "bob as the owner on alice's page", `window.notReloaded && document.querySelector('dl.facts').textContent.includes('bob')`)
	// Reported, not asserted (timing belongs in benchmarks): the issue
	// asks for under 1 s, this includes bob's own page load and polling.
	t.Logf("alice saw bob's change %s after bob clicked", time.Since(clicked).Round(time.Millisecond))
	// A new incident shows on an open queue.
	run(t, a, chromedp.Navigate(f.srv.URL+"/console/"), chromedp.WaitVisible(`table.queue`, chromedp.ByQuery),
		chromedp.Evaluate(`window.notReloaded = true`, nil))
	fresh := f.report("Wi-Fi slow in room 4")
	waitFor(t, a, "the new incident in the queue", fmt.Sprintf(`window.notReloaded && document.querySelector('table.queue').textContent.includes(%q)`, fresh.ID))
}

func TestBrowserPostWithoutCSRFIsForbidden(t *testing.T) {
	f := newFixture(t)
	inc := f.report("VPN down")
	ctx := browser(t, 1280)
	run(t, ctx, signIn(f, "alice"))
	var status int
	run(t, ctx, chromedp.Evaluate(fmt.Sprintf(`fetch('/console/incidents/%s', {method: 'POST', body: new URLSearchParams({op: 'take'})}).then(r => r.status)`, inc.ID),
		&status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 403 {
		t.Fatalf("POST without CSRF token: %d", status)
	}
	if got, _ := f.engine.Get(context.Background(), inc.ID); got.Owner != "" {
		t.Fatalf("owner %q", got.Owner)
	}
}

func TestBrowserSpanishUI(t *testing.T) {
	f := newFixture(t)
	inc := f.report("VPN caída")
	ctx := browser(t, 1280)
	run(t, ctx, signIn(f, "alice"), click(`a[hreflang=es]`), chromedp.WaitVisible(`a[hreflang=en]`, chromedp.ByQuery))
	s := text(t, ctx)
	for _, want := range []string{"Cola de incidencias", "Análisis", "P3 · Media", "Filtrar"} {
		if !strings.Contains(s, want) {
			t.Errorf("Spanish queue lacks %q:\n%s", want, s)
		}
	}
	run(t, ctx, click(`a[href="/console/incidents/`+inc.ID+`"]`), chromedp.WaitVisible(`#h-facts`, chromedp.ByQuery))
	if s := text(t, ctx); !strings.Contains(s, "Trabajar en ella") || !strings.Contains(s, "Solución encontrada") {
		t.Errorf("Spanish incident page:\n%s", s)
	}
}

// TestBrowserKeyboardOnly works the incident page with the keyboard
// alone: Tab to a control, Enter to use it, typing into a focused field.
// Every control Tab reaches on the way shows its focus.
func TestBrowserKeyboardOnly(t *testing.T) {
	f := newFixture(t)
	inc := f.report("Keyboard test")
	ctx := browser(t, 1280)
	run(t, ctx, signIn(f, "alice"), chromedp.Navigate(f.srv.URL+"/console/incidents/"+inc.ID), chromedp.WaitVisible(`#h-facts`, chromedp.ByQuery))
	// tabTo presses Tab until the focused element matches js (an
	// expression on el), checking that each one reached shows focus.
	tabTo := func(what, js string) {
		t.Helper()
		for range 120 {
			run(t, ctx, chromedp.KeyEvent(kb.Tab))
			var st struct {
				Match   bool   `json:"match"`
				Outline string `json:"outline"`
				Tag     string `json:"tag"`
				Label   string `json:"label"`
			}
			run(t, ctx, chromedp.Evaluate(`(() => { const el = document.activeElement; if (!el || el === document.body) return {match: false, outline: 'body', tag: 'BODY', label: ''};
				const cs = getComputedStyle(el);
				return {match: !!(`+js+`), outline: cs.outlineStyle === 'none' || cs.outlineWidth === '0px' ? 'none' : cs.outlineStyle, tag: el.tagName, label: (el.textContent || el.id || '').trim().slice(0, 40)}; })()`, &st))
			if st.Tag != "BODY" && st.Outline == "none" {
				t.Errorf("%s %q has focus but shows none", st.Tag, st.Label)
			}
			if st.Match {
				return
			}
		}
		t.Fatalf("Tab never reached %s", what)
	}
	tabTo("the Take it button", `el.textContent.trim() === 'Take it'`)
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "alice as owner", `document.querySelector('dl.facts') && document.querySelector('dl.facts').textContent.includes('alice') && !document.querySelector('input[value=take]')`)
	tabTo("the action field", `el.id === 'action-text'`)
	run(t, ctx, chromedp.KeyEvent("Reseated the monitor cable."))
	tabTo("the Add action button", `el.textContent.trim() === 'Add action'`)
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the action", `document.querySelector('.entries') && document.querySelector('.entries').textContent.includes('Reseated the monitor cable.')`)
	tabTo("the Solution found button", `el.tagName === 'BUTTON' && el.value === 'solution'`)
	run(t, ctx, chromedp.KeyEvent(kb.Enter))
	waitFor(t, ctx, "the solution step", `!!document.querySelector('button[name=to][value=validation]')`)
	got, err := f.engine.Get(context.Background(), inc.ID)
	if err != nil || got.State != intake.Solution || got.Owner != "alice" || len(got.Actions) != 1 {
		t.Fatalf("incident after keyboard use: %+v %v", got, err)
	}
}

// TestBrowserScreenshots renders the pages in both languages, wide and at
// 360 px; with INTAKEBOT_SCREENSHOTS=DIR the PNGs are kept there (the
// README's are made so), otherwise in the test's temporary directory.
func TestBrowserScreenshots(t *testing.T) {
	f := newFixture(t)
	f.seedKB()
	ctx0 := context.Background()
	alice := intake.Actor{Kind: intake.ActorAgent, Name: "alice", Via: "api"}
	for _, s := range []string{"Outlook does not open", "Printer on floor 2 jammed", "VPN drops every few minutes"} {
		f.report(s)
	}
	inc := f.report("Wi-Fi slow in the meeting rooms")
	f.engine.Assign(ctx0, inc.ID, alice, "alice", "")
	f.engine.AddAction(ctx0, inc.ID, alice, "Checked the access points: channel 6 is crowded.")
	f.engine.AddPublicNote(ctx0, inc.ID, alice, "We are moving the meeting rooms to a quieter channel today. If the Wi-Fi drops once, reconnect.")
	f.engine.Move(ctx0, inc.ID, alice, intake.Solution, "")
	dir := os.Getenv("INTAKEBOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1280, 360} {
		ctx := browser(t, width)
		run(t, ctx, signIn(f, "alice"))
		for _, lang := range []string{"en", "es"} {
			run(t, ctx, chromedp.Navigate(f.srv.URL+"/console/lang?to="+lang+"&back=/console/"), chromedp.WaitVisible(`table.queue`, chromedp.ByQuery))
			for name, path := range map[string]string{"queue": "/console/", "incident": "/console/incidents/" + inc.ID, "dashboard": "/console/dashboard",
				"kb": "/console/kb?q=wifi+slow", "article": "/console/kb/office-wifi"} {
				var png []byte
				run(t, ctx, chromedp.Navigate(f.srv.URL+path), chromedp.WaitReady(`main`, chromedp.ByQuery), chromedp.FullScreenshot(&png, 100))
				file := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", name, lang, width))
				if err := os.WriteFile(file, png, 0o644); err != nil {
					t.Fatal(err)
				}
				// The page fits its width: nothing scrolls sideways.
				var wide bool
				run(t, ctx, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &wide))
				if wide {
					t.Errorf("%s (%s) is wider than %d px", name, lang, width)
				}
			}
		}
	}
}

// TestBrowserOutage groups two reports under a third with the incident
// page's form in a real browser, then renders the outage (queue and
// parent page) in both languages, wide and at 360 px: nothing scrolls
// sideways. With INTAKEBOT_SCREENSHOTS=DIR the PNGs are kept there.
func TestBrowserOutage(t *testing.T) {
	f := newFixture(t)
	parent := f.report("VPN down for the whole floor")
	a, b := f.report("VPN does not connect"), f.report("No VPN since 9:00")
	f.report("Printer on floor 2 jammed")
	dir := os.Getenv("INTAKEBOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for i, width := range []int{1280, 360} {
		ctx := browser(t, width)
		run(t, ctx, signIn(f, "alice"))
		if i == 0 {
			run(t, ctx, chromedp.Navigate(f.srv.URL+"/console/incidents/"+parent.ID), chromedp.WaitVisible(`#grp-children`, chromedp.ByQuery),
				chromedp.SendKeys(`#grp-children`, a.ID+" "+b.ID, chromedp.ByQuery), click(`form:has(input[value=group]) button`))
			waitFor(t, ctx, "the children listed", `!!document.querySelector('ul.children') && document.querySelectorAll('ul.children li').length == 2`)
		}
		for _, lang := range []string{"en", "es"} {
			run(t, ctx, chromedp.Navigate(f.srv.URL+"/console/lang?to="+lang+"&back=/console/"), chromedp.WaitVisible(`table.queue`, chromedp.ByQuery))
			if s := text(t, ctx); strings.Contains(s, a.ID) || !strings.Contains(s, map[string]string{"en": "2 more reports", "es": "2 avisos más"}[lang]) {
				t.Errorf("%s queue at %d px does not show the outage as one row:\n%s", lang, width, s)
			}
			for name, path := range map[string]string{"outage-queue": "/console/", "outage-incident": "/console/incidents/" + parent.ID} {
				var png []byte
				run(t, ctx, chromedp.Navigate(f.srv.URL+path), chromedp.WaitReady(`main`, chromedp.ByQuery), chromedp.FullScreenshot(&png, 100))
				if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", name, lang, width)), png, 0o644); err != nil {
					t.Fatal(err)
				}
				var wide bool
				run(t, ctx, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &wide))
				if wide {
					t.Errorf("%s (%s) is wider than %d px", name, lang, width)
				}
			}
		}
	}
}
