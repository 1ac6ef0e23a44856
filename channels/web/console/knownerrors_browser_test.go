package console_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
)

// In a real browser, without typing JavaScript of our own: an agent links
// an incident to a known error and applies its workaround with one click.
func TestBrowserApplyWorkaround(t *testing.T) {
	f := newFixture(t)
	k := f.knownError("VPN disconnects every few minutes", "Reinstall client 5.1 from the software center.", intake.English)
	inc := f.report("VPN keeps dropping")
	ctx := browser(t, 1280)
	run(t, ctx, signIn(f, "alice"), chromedp.Navigate(f.srv.URL+"/console/incidents/"+inc.ID), chromedp.WaitVisible(`#ke-link`, chromedp.ByQuery),
		chromedp.SetValue(`#ke-link`, k.ID, chromedp.ByQuery), click(`form:has(input[value=ke_link]) button`))
	waitFor(t, ctx, "the linked known error", `!!document.querySelector('#ke-apply')`)
	run(t, ctx, click(`#ke-apply`))
	waitFor(t, ctx, "the workaround as an action", `document.querySelector('.entries').textContent.includes('Workaround of KE-000001 applied')`)
	got, err := f.engine.Get(context.Background(), inc.ID)
	if err != nil || len(got.Actions) != 1 || got.KnownError != k.ID {
		t.Fatalf("after the clicks: %+v %v", got, err)
	}
}

// TestBrowserKnownErrorsScreenshots renders the known errors' page and an
// incident linked to one, in both languages, wide and at 360 px, as an
// admin (every form shown); with INTAKEBOT_SCREENSHOTS=DIR the PNGs are
// kept there.
func TestBrowserKnownErrorsScreenshots(t *testing.T) {
	f := newFixture(t)
	ctx0 := context.Background()
	vpn := f.knownError("VPN disconnects every few minutes since the client update to 5.2", "Reinstall client 5.1 from the software center, then restart.", intake.English, "vpn")
	es := f.knownError("La impresora de la tercera planta imprime páginas en blanco", "Cambiar el cartucho de tóner por uno de otro lote.", intake.Spanish, "printer")
	_, err := f.store.CreateKnownError(ctx0, "", kb.KnownError{Lang: intake.English, Status: kb.KEFixed, Author: "root",
		Symptom: "Outlook asks for the password again and again", RootCause: "Token lifetime set to 5 minutes by mistake.",
		Workaround: "Sign out of Office and in again.", CIs: []string{"exchange"}}, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	inc := f.report("La VPN se desconecta cada pocos minutos")
	root := intake.Actor{Kind: intake.ActorAgent, Name: "root", Admin: true, Via: "api"}
	kes := f.kes()
	if _, err := kes.Link(ctx0, inc.ID, root, vpn.ID, "Same symptom as the others this morning."); err != nil {
		t.Fatal(err)
	}
	if _, err := kes.ApplyWorkaround(ctx0, inc.ID, root, vpn.ID); err != nil {
		t.Fatal(err)
	}
	other := f.report("Impresora imprime en blanco")
	if _, err := kes.Link(ctx0, other.ID, root, es.ID, ""); err != nil {
		t.Fatal(err)
	}
	dir := os.Getenv("INTAKEBOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	for _, width := range []int{1280, 360} {
		ctx := browser(t, width)
		run(t, ctx, signIn(f, "root"))
		for _, lang := range []string{"en", "es"} {
			run(t, ctx, chromedp.Navigate(f.srv.URL+"/console/lang?to="+lang+"&back=/console/"), chromedp.WaitVisible(`table.queue`, chromedp.ByQuery))
			for name, path := range map[string]string{"known-errors": "/console/known-errors", "incident-known-error": "/console/incidents/" + inc.ID} {
				var png []byte
				run(t, ctx, chromedp.Navigate(f.srv.URL+path), chromedp.WaitReady(`main`, chromedp.ByQuery))
				// Open the texts' <details>, so the picture shows what they hold.
				run(t, ctx, chromedp.Evaluate(`document.querySelectorAll('details').forEach(d => { if (!d.querySelector('form')) d.open = true })`, nil), chromedp.FullScreenshot(&png, 100))
				file := filepath.Join(dir, fmt.Sprintf("%s-%s-%d.png", name, lang, width))
				if err := os.WriteFile(file, png, 0o644); err != nil {
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
