package portal_test

// Tests in a real browser: chromedp drives Debian's chromium, headless.
// They fail (never skip) when chromium is missing.

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
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/browsertest"
)

// browser starts a fresh headless chromium (its own profile and cookies)
// showing pages width px wide, with the given Accept-Language.
func browser(t testing.TB, width int, lang string) context.Context {
	t.Helper()
	return browsertest.Start(t, width, lang)
}

func run(t testing.TB, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	browsertest.Run(t, ctx, actions...)
}

func text(t testing.TB, ctx context.Context) string {
	t.Helper()
	return browsertest.Text(t, ctx)
}

func waitFor(t testing.TB, ctx context.Context, what, js string) {
	t.Helper()
	browsertest.WaitFor(t, ctx, what, js)
}

func mainHas(s string) string {
	return fmt.Sprintf(`!!document.querySelector('main') && document.querySelector('main').textContent.includes(%q)`, s)
}

func click(sel string) chromedp.Action { return browsertest.Click(sel) }

// signInByMail asks for a link on the sign-in page as a person would,
// reads it from the mailbox over IMAP, follows it and continues.
func signInByMail(t *testing.T, f *fixture, ctx context.Context, earlier int) {
	t.Helper()
	run(t, ctx, chromedp.Navigate(f.srv.URL+"/portal/"), chromedp.WaitVisible(`#email`, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, f.demo().Address, chromedp.ByQuery), click(`main button[type=submit]`),
		chromedp.WaitVisible(`.sent`, chromedp.ByQuery))
	_, link := f.signInLink(earlier)
	run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(`#continue`, chromedp.ByQuery), click(`#continue`),
		chromedp.WaitVisible(`.headline`, chromedp.ByQuery))
}

func TestBrowserReporterReportsInSpanishAndAnswersToClosed(t *testing.T) {
	f := newFixture(t)
	ctx := browser(t, 1280, "es-ES")
	signInByMail(t, f, ctx, 0)
	if s := text(t, ctx); !strings.Contains(s, "Mis incidencias") || !strings.Contains(s, "Todavía no ha comunicado nada") {
		t.Fatalf("home in Spanish after sign-in:\n%s", s)
	}
	// Report an incident with a file.
	file := filepath.Join(t.TempDir(), "error.png")
	if err := os.WriteFile(file, pngBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, click(`.headline a.button`), chromedp.WaitVisible(`#subject`, chromedp.ByQuery),
		chromedp.SendKeys(`#subject`, "La impresora de la segunda planta no imprime", chromedp.ByQuery),
		chromedp.SendKeys(`#description`, "Sale un error de papel atascado, pero no hay papel.", chromedp.ByQuery),
		chromedp.SetValue(`#service`, "printers", chromedp.ByQuery),
		click(`input[name=who][value=team]`), click(`input[name=when][value=blocks]`),
		chromedp.SetUploadFiles(`#file`, []string{file}, chromedp.ByQuery),
		click(`main form button[type=submit]`))
	waitFor(t, ctx, "the registered report", mainHas("hemos registrado su aviso"))
	var path string
	run(t, ctx, chromedp.Evaluate(`location.pathname`, &path))
	id := strings.TrimPrefix(path, "/portal/incidents/")
	inc, err := f.engine.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if inc.Channel != intake.ChannelPortal || inc.Reporter.Email != f.demo().Address || inc.Reporter.Language != intake.Spanish ||
		inc.CI != "printers" || inc.Impact != intake.Medium || inc.Urgency != intake.High || inc.Category != "printing" ||
		len(inc.Attachments) != 1 || inc.Attachments[0].Name != "error.png" {
		t.Fatalf("registered incident: %+v", inc)
	}
	if s := text(t, ctx); !strings.Contains(s, "Impresoras") || !strings.Contains(s, "error.png") || strings.Contains(s, "P2") || strings.Contains(s, "analysis") {
		t.Fatalf("incident page:\n%s", s)
	}
	// Listed, in plain words.
	run(t, ctx, chromedp.Navigate(f.srv.URL+"/portal/"), chromedp.WaitVisible(`ul.incidents`, chromedp.ByQuery))
	if s := text(t, ctx); !strings.Contains(s, "La impresora de la segunda planta") || !strings.Contains(s, "Estamos trabajando en ello") {
		t.Fatalf("list:\n%s", s)
	}
	// The agents work: an internal action, a public note, the solution.
	if _, err := f.engine.AddAction(context.Background(), id, bob, "INTERNO: contraseña de admin de fw01 cambiada"); err != nil {
		t.Fatal(err)
	}
	f.publicNote(id, "Vamos a revisar la impresora esta tarde.")
	f.solve(id, "Hemos limpiado el sensor de papel.")
	run(t, ctx, chromedp.Navigate(f.srv.URL+"/portal/incidents/"+id), chromedp.WaitVisible(`#answer-no`, chromedp.ByQuery))
	s := text(t, ctx)
	for _, want := range []string{"Vamos a revisar la impresora esta tarde.", "Hemos limpiado el sensor de papel.", "¿Vuelve a funcionar?", "Esperando su confirmación"} {
		if !strings.Contains(s, want) {
			t.Errorf("incident page lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "INTERNO") || strings.Contains(s, "fw01") {
		t.Fatalf("the internal action shows:\n%s", s)
	}
	// No: back in work.
	run(t, ctx, chromedp.SendKeys(`#q-text`, "Sigue saliendo el error.", chromedp.ByQuery), click(`#answer-no`))
	waitFor(t, ctx, "the answer no", mainHas("Volvemos a ello"))
	if s := text(t, ctx); !strings.Contains(s, "Estamos trabajando en ello") || !strings.Contains(s, "Nos dijo que sigue sin funcionar") {
		t.Fatalf("after no:\n%s", s)
	}
	if got, _ := f.engine.Get(context.Background(), id); got.State != intake.Analysis {
		t.Fatalf("state after no: %s", got.State)
	}
	// Solved again; yes; rate 4 with a comment.
	f.solve(id, "Hemos cambiado el sensor.")
	run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(`#answer-yes`, chromedp.ByQuery), click(`#answer-yes`))
	waitFor(t, ctx, "the rating form", `!!document.querySelector('#send-rating')`)
	shoot(t, ctx, "rating-es", 1280)
	run(t, ctx, click(`#rating-4`), chromedp.SendKeys(`#q-text`, "Rápidos y amables.", chromedp.ByQuery), click(`#send-rating`))
	waitFor(t, ctx, "the rating", mainHas("Gracias por su valoración"))
	got, _ := f.engine.Get(context.Background(), id)
	if got.State != intake.Review || len(got.Surveys) != 3 || got.Surveys[2].Rating != 4 || got.Surveys[2].Comment != "Rápidos y amables." || got.Surveys[2].Via != "portal" {
		t.Fatalf("after the rating: %s %+v", got.State, got.Surveys)
	}
	if _, err := f.engine.Move(context.Background(), id, bob, intake.Closed, ""); err != nil {
		t.Fatal(err)
	}
	run(t, ctx, chromedp.Reload(), chromedp.WaitVisible(`p.status`, chromedp.ByQuery))
	if s := text(t, ctx); !strings.Contains(s, "Cerrada") || strings.Contains(s, "Enviar el comentario") {
		t.Fatalf("closed incident page:\n%s", s)
	}
	// A POST without the form's token is refused, and changes nothing.
	var status int
	run(t, ctx, chromedp.Evaluate(`fetch('/portal/new', {method: 'POST', body: new URLSearchParams({subject: 'x', who: 'me', when: 'wait'})}).then(r => r.status)`,
		&status, func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }))
	if status != 403 {
		t.Fatalf("POST without CSRF token: %d", status)
	}
}

func TestBrowserUsedExpiredAndForeignLinks(t *testing.T) {
	f := newFixture(t)
	theirs := f.report("someone.else@desk.test", "Theirs", intake.English)
	ctx := browser(t, 1280, "en-GB")
	signInByMail(t, f, ctx, 0)
	// Another reporter's incident: not found.
	run(t, ctx, chromedp.Navigate(f.srv.URL+"/portal/incidents/"+theirs.ID), chromedp.WaitVisible(`.error`, chromedp.ByQuery))
	if s := text(t, ctx); !strings.Contains(s, "There is no such page or incident.") {
		t.Fatalf("another's incident:\n%s", s)
	}
	// The used link, in a second browser.
	_, link := f.signInLink(0)
	other := browser(t, 1280, "en-GB")
	run(t, other, chromedp.Navigate(link), chromedp.WaitVisible(`.error`, chromedp.ByQuery))
	if s := text(t, other); !strings.Contains(s, "already used") || !strings.Contains(s, "Get a new sign-in link") {
		t.Fatalf("used link:\n%s", s)
	}
	// A fresh link that waited too long.
	f.client().askLink(f.demo().Address)
	_, late := f.signInLink(1)
	f.clock.Add(16 * time.Minute)
	run(t, other, chromedp.Navigate(late), chromedp.WaitVisible(`.error`, chromedp.ByQuery))
	if s := text(t, other); !strings.Contains(s, "expired") {
		t.Fatalf("expired link:\n%s", s)
	}
}

// shoot keeps a screenshot of the page: in INTAKEBOT_SCREENSHOTS (the
// README's are made so) or the test's directory. The page must fit its
// width.
func shoot(t *testing.T, ctx context.Context, name string, width int) {
	t.Helper()
	dir := os.Getenv("INTAKEBOT_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	var png []byte
	run(t, ctx, chromedp.FullScreenshot(&png, 100))
	if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("portal-%s-%d.png", name, width)), png, 0o644); err != nil {
		t.Fatal(err)
	}
	var wide bool
	run(t, ctx, chromedp.Evaluate(`document.documentElement.scrollWidth > window.innerWidth`, &wide))
	if wide {
		t.Errorf("%s is wider than %d px", name, width)
	}
}

// TestBrowserScreenshots renders the portal's pages in both languages,
// wide and at 360 px (docs/screenshots/portal-*.png are made with
// INTAKEBOT_SCREENSHOTS=docs/screenshots).
func TestBrowserScreenshots(t *testing.T) {
	f := newFixture(t)
	ctx0 := context.Background()
	me := f.demo().Address
	f.report(me, "Outlook does not open attachments", intake.English)
	f.report(me, "The VPN drops every few minutes", intake.English)
	inc := f.report(me, "The printer on floor 2 says paper jam, but there is no paper", intake.English)
	if _, err := f.engine.Comment(ctx0, inc.ID, intake.Actor{Kind: intake.ActorReporter, Name: "Demo", Via: "portal"}, "It happens with every tray."); err != nil {
		t.Fatal(err)
	}
	f.publicNote(inc.ID, "We will look at the printer this afternoon.")
	f.solve(inc.ID, "We cleaned the paper sensor and printed a test page.")
	link, err := f.signer.Incident(inc.ID, me)
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range []int{1280, 360} {
		ctx := browser(t, width, "en-GB")
		for _, lang := range []string{"en", "es"} {
			run(t, ctx, chromedp.Navigate(f.srv.URL+"/portal/lang?to="+lang+"&back=/portal/login"), chromedp.WaitVisible(`#email`, chromedp.ByQuery))
			shoot(t, ctx, "login-"+lang, width)
		}
		run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(`#answer-yes`, chromedp.ByQuery))
		for _, lang := range []string{"en", "es"} {
			for name, path := range map[string]string{"home": "/portal/", "new": "/portal/new", "incident": "/portal/incidents/" + inc.ID} {
				run(t, ctx, chromedp.Navigate(f.srv.URL+"/portal/lang?to="+lang+"&back="+path), chromedp.WaitVisible(`main h1`, chromedp.ByQuery))
				shoot(t, ctx, name+"-"+lang, width)
			}
		}
	}
}

// A Spanish reporter reads the article the acknowledgment offered and
// says it solved the problem, at 1280 and 360 px, without the page's
// script doing anything special: the rating question follows.
func TestBrowserReporterSolvesByArticleInSpanish(t *testing.T) {
	for _, width := range []int{1280, 360} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			f := newFixture(t)
			inc := f.jam(intake.Spanish)
			link, err := f.signer.Incident(inc.ID, f.demo().Address)
			if err != nil {
				t.Fatal(err)
			}
			ctx := browser(t, width, "es-ES")
			run(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(`#offered`, chromedp.ByQuery))
			if s := text(t, ctx); !strings.Contains(s, "Estos artículos pueden resolverlo") || !strings.Contains(s, "Atascos de impresora") {
				t.Fatalf("incident page:\n%s", s)
			}
			shoot(t, ctx, "solved-es", width)
			run(t, ctx, click(`#offered a`), chromedp.WaitVisible(`article.kbtext`, chromedp.ByQuery))
			if s := text(t, ctx); !strings.Contains(s, "atasco de papel") || !strings.Contains(s, "Volver a la incidencia") {
				t.Fatalf("article page:\n%s", s)
			}
			shoot(t, ctx, "article-es", width)
			run(t, ctx, click(`#solved-printer-jam`))
			waitFor(t, ctx, "the rating question", mainHas("Nos alegra que esté resuelto"))
			if s := text(t, ctx); !strings.Contains(s, "¿Qué tal lo hicimos?") || strings.Contains(s, "Estos artículos pueden resolverlo") {
				t.Fatalf("after solved:\n%s", s)
			}
			got, _ := f.engine.Get(context.Background(), inc.ID)
			if got.State != intake.Satisfaction || f.solvedCount("printer-jam") != 1 {
				t.Fatalf("after solved: %s, count %d", got.State, f.solvedCount("printer-jam"))
			}
		})
	}
}
