package console_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Single sign-on in a real browser: the sign-in page's button leads to
// the provider and back, signed in, to the page first asked for; a person
// the provider knows but no agent names reads why, in Spanish too.
func TestBrowserSSOSignIn(t *testing.T) {
	f, idp := ssoFixture(t)
	inc := f.report("Monitor flickers")
	ctx := browser(t, 1280)
	idp.SignInAs(map[string]any{"preferred_username": "alice", "groups": []string{adminGroup}})
	run(t, ctx, chromedp.Navigate(f.srv.URL+"/console/incidents/"+inc.ID),
		chromedp.WaitVisible(`.sso a.button`, chromedp.ByQuery), click(`.sso a.button`),
		chromedp.WaitVisible(`#h-facts`, chromedp.ByQuery))
	var where, who string
	run(t, ctx, chromedp.Evaluate(`location.pathname`, &where), chromedp.Text(`header.top strong`, &who, chromedp.ByQuery))
	if where != "/console/incidents/"+inc.ID || who != "alice" {
		t.Fatalf("after single sign-on: at %s as %q", where, who)
	}
	// The provider's admin group made this session an admin's.
	run(t, ctx, chromedp.Navigate(f.srv.URL+"/console/agents"), chromedp.WaitVisible(`main`, chromedp.ByQuery))
	if s := text(t, ctx); !strings.Contains(s, "root") {
		t.Fatalf("agents page for an SSO admin:\n%s", s)
	}

	// Someone the provider knows, whom no agent names.
	idp.SignInAs(map[string]any{"preferred_username": "mallory"})
	other := browser(t, 360)
	run(t, other, chromedp.Navigate(f.srv.URL+"/console/lang?to=es&back=/console/login"),
		chromedp.WaitVisible(`.sso a.button`, chromedp.ByQuery), click(`.sso a.button`),
		chromedp.WaitVisible(`p.error`, chromedp.ByQuery))
	if s := text(t, other); !strings.Contains(s, "Has entrado como mallory, pero ningún agente") {
		t.Fatalf("Spanish refusal in the browser:\n%s", s)
	}
}

// TestBrowserSSOScreenshots renders the sign-in page with single sign-on
// (EN, ES; 1280 and 360 px) and its refusal, kept under
// INTAKEBOT_SCREENSHOTS when set.
func TestBrowserSSOScreenshots(t *testing.T) {
	f, idp := ssoFixture(t)
	idp.SignInAs(map[string]any{"preferred_username": "mallory"})
	dir := os.Getenv("INTAKEBOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1280, 360} {
		ctx := browser(t, width)
		for _, lang := range []string{"en", "es"} {
			for name, steps := range map[string]chromedp.Tasks{
				"login-sso": {chromedp.Navigate(f.srv.URL + "/console/login"), chromedp.WaitVisible(`.sso a.button`, chromedp.ByQuery)},
				"login-sso-refused": {chromedp.Navigate(f.srv.URL + "/console/login"), chromedp.WaitVisible(`.sso a.button`, chromedp.ByQuery),
					click(`.sso a.button`), chromedp.WaitVisible(`p.error`, chromedp.ByQuery)},
			} {
				var png []byte
				run(t, ctx, chromedp.Navigate(f.srv.URL+"/console/lang?to="+lang+"&back=/console/login"), chromedp.WaitVisible(`main`, chromedp.ByQuery))
				run(t, ctx, steps, chromedp.FullScreenshot(&png, 100))
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
