// Package browsertest drives Debian's chromium, headless, for the web
// pages' tests (the agent console and the reporter portal): a fresh
// browser per call, actions that survive a live page swap, and waiting on
// a condition instead of sleeping. Tests fail, never skip, when chromium is
// missing: .ci/chromium.sh installs it (apt-get install -y chromium).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/intakebot/intakebot/internal/poll"
)

// chromiumPath finds the browser or fails the test saying how to get it.
func chromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is not installed: the browser tests need it. Install it with `apt-get install -y chromium` " +
		"(.ci/test does so through .ci/chromium.sh)")
	return ""
}

// Start starts a fresh headless chromium (its own profile, so its own
// cookies) showing pages width px wide, and returns its context. lang,
// when not "", is the browser's language (its Accept-Language).
func Start(t testing.TB, width int, lang string) context.Context {
	t.Helper()
	// Not t.TempDir: chromium's helper processes may still write to the
	// profile for a moment after it exits, and that would fail the test.
	profile, err := os.MkdirTemp("", "intakebot-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		// This machine's network is closed: no background connections.
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(width, 900),
	}
	if lang != "" {
		opts = append(opts, chromedp.Flag("lang", lang), chromedp.Flag("accept-lang", lang))
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	// The guard against a hung browser, not a timing assertion.
	ctx, cancelTimeout := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
		poll.Within(5*time.Second, func() bool { return os.RemoveAll(profile) == nil })
	})
	// The window alone cannot be narrower than about 500 px; the viewport
	// emulation gives the page the phone width it is tested at.
	if err := chromedp.Run(ctx, chromedp.EmulateViewport(int64(width), 900)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// Run performs the actions one by one. A live update may swap the part of
// the page an action had just found (as when the outbox's delivery of the
// agent's own change bumps the incident's version): the browser then
// answers that the node is gone, and the action is tried again on the
// fresh page (a failed click or key press changed nothing).
func Run(t testing.TB, ctx context.Context, actions ...chromedp.Action) {
	t.Helper()
	for _, a := range actions {
		var err error
		for range 5 {
			if err = chromedp.Run(ctx, a); err == nil || !staleNode(err) {
				break
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// staleNode reports whether err says the node an action found left the
// page before the action was done.
func staleNode(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "Could not find node with given id") || strings.Contains(msg, "No node with given id found") ||
		strings.Contains(msg, "Node is detached from document")
}

// Text is the visible text of the page's main part.
func Text(t testing.TB, ctx context.Context) string {
	t.Helper()
	var s string
	Run(t, ctx, chromedp.Text(`main`, &s, chromedp.ByQuery))
	return s
}

// WaitFor polls a JavaScript condition, on a page that finished loading,
// until it holds; after 15 s the test fails showing the page.
func WaitFor(t testing.TB, ctx context.Context, what, js string) {
	t.Helper()
	// Only a page that finished loading: while it still loads, the
	// browser may renew its document and a node found now be gone when
	// the next action reaches for it. A page that is navigating answers
	// nothing for a moment: ask again.
	holds := func() bool {
		var ok bool
		err := chromedp.Run(ctx, chromedp.Evaluate(`document.readyState === "complete" && (`+js+`)`, &ok))
		return err == nil && ok
	}
	if !poll.Within(15*time.Second, holds) {
		var page string
		_ = chromedp.Run(ctx, chromedp.Text(`body`, &page, chromedp.ByQuery))
		t.Fatalf("waiting for %s: not so after 15 s\npage:\n%s", what, page)
	}
}

// Click clicks the first element the CSS selector finds.
func Click(sel string) chromedp.Action { return chromedp.Click(sel, chromedp.ByQuery) }
