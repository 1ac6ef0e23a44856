package portal_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/intake"
)

// The sign-in page answers the same whatever the address; the link comes
// by mail, in the reporter's language (that of their incidents), works
// once, and not after 15 minutes.
func TestSignInLinkIsMailedInTheReportersLanguageAndWorksOnce(t *testing.T) {
	f := newFixture(t)
	f.report(f.demo().Address, "La impresora no imprime", intake.Spanish)
	c := f.client()
	resp, page := c.askLink(strings.ToUpper(f.demo().Address))
	if resp.StatusCode != 200 || !strings.Contains(page, "Check your mail") {
		t.Fatalf("after asking: %d\n%s", resp.StatusCode, page)
	}
	// An address that never reported anything gets the same page.
	_, other := f.client().askLink("nobody@desk.test")
	if strip(other) != strip(strings.Replace(page, strings.ToLower(f.demo().Address), "nobody@desk.test", 1)) {
		t.Errorf("the answer differs for an unknown address:\n%s\n---\n%s", page, other)
	}
	mail, link := f.signInLink(0)
	if !strings.Contains(mail.Subject, "Su enlace para entrar") {
		t.Errorf("sign-in mail subject %q, want Spanish (the reporter's record)", mail.Subject)
	}
	// The GET only shows the page: a mail scanner does not use the link.
	for range 2 {
		if resp, _ := f.client().do("GET", link, nil); resp.StatusCode != 200 {
			t.Fatalf("GET of the link: %d", resp.StatusCode)
		}
	}
	resp, _ = c.useLink(link)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/portal/" {
		t.Fatalf("using the link: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, page := c.do("GET", "/portal/", nil); resp.StatusCode != 200 || !strings.Contains(page, "La impresora no imprime") || !strings.Contains(page, "Estamos trabajando en ello") {
		t.Fatalf("home after sign-in: %d\n%s", resp.StatusCode, page)
	}
	// Used: a clear page, in the reporter's language, offering a new link.
	resp, page = f.client().do("GET", link, nil)
	if resp.StatusCode != 410 || !strings.Contains(page, "Este enlace ya se usó") || !strings.Contains(page, `href="/portal/login"`) {
		t.Fatalf("used link: %d\n%s", resp.StatusCode, page)
	}
	// Expired.
	f.client().askLink(f.demo().Address)
	_, link2 := f.signInLink(1)
	f.clock.Add(16 * time.Minute)
	resp, page = f.client().do("GET", link2, nil)
	if resp.StatusCode != 410 || !strings.Contains(page, "Este enlace ha caducado") {
		t.Fatalf("expired link: %d\n%s", resp.StatusCode, page)
	}
	// Mangled.
	resp, _ = f.client().do("GET", link2[:len(link2)-3], nil)
	if resp.StatusCode != 400 {
		t.Fatalf("mangled link: %d", resp.StatusCode)
	}
}

func strip(page string) string { return csrfField.ReplaceAllString(page, "") }

func TestSignInRefusesBadAddressesAndLimitsRequests(t *testing.T) {
	f := newFixture(t)
	c := f.client()
	if resp, page := c.askLink("not an address"); resp.StatusCode != 400 || !strings.Contains(page, "does not look like an e-mail address") {
		t.Fatalf("bad address: %d\n%s", resp.StatusCode, page)
	}
	// Without the form's token: 403.
	if resp, _ := c.do("POST", "/portal/login", url.Values{"email": {f.demo().Address}}); resp.StatusCode != 403 {
		t.Fatalf("POST without CSRF: %d", resp.StatusCode)
	}
	// Three mails per address in the window (the fixture's limit); the
	// fourth request reads the same but sends nothing.
	for range 4 {
		if resp, page := c.askLink(f.demo().Address); resp.StatusCode != 200 || !strings.Contains(page, "Check your mail") {
			t.Fatalf("ask: %d", resp.StatusCode)
		}
	}
	f.signInLink(2)
	if n := f.countSignInMails(); n != 3 {
		t.Fatalf("%d sign-in mails, want 3", n)
	}
}

func (f *fixture) countSignInMails() int {
	mails, err := localmailInbox(f)
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, m := range mails {
		if strings.Contains(strings.Join(m.Links, " "), "/portal/login/") {
			n++
		}
	}
	return n
}

// A reporter sees only their incidents: another's is "not found", the
// same as one that does not exist, for the page, a form and a file.
func TestAnotherReportersIncidentIsNotFound(t *testing.T) {
	f := newFixture(t)
	mine := f.report(f.demo().Address, "Mine", intake.English)
	theirs := f.report("someone.else@desk.test", "Theirs", intake.English)
	c := f.signedIn()
	if resp, _ := c.do("GET", "/portal/incidents/"+mine.ID, nil); resp.StatusCode != 200 {
		t.Fatalf("own incident: %d", resp.StatusCode)
	}
	_, home := c.do("GET", "/portal/", nil)
	if strings.Contains(home, theirs.ID) || !strings.Contains(home, mine.ID) {
		t.Fatalf("home lists another's incident or not mine:\n%s", home)
	}
	for _, path := range []string{"/portal/incidents/" + theirs.ID, "/portal/incidents/INC-999999", "/portal/incidents/x", "/portal/incidents/" + theirs.ID + "/attachments/0"} {
		if resp, _ := c.do("GET", path, nil); resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	_, page := c.do("GET", "/portal/incidents/"+mine.ID, nil)
	resp, _ := c.do("POST", "/portal/incidents/"+theirs.ID, url.Values{"csrf": {csrf(t, page)}, "op": {"comment"}, "text": {"hi"}})
	if resp.StatusCode != 404 {
		t.Fatalf("comment on another's incident: %d", resp.StatusCode)
	}
	if got, _ := f.engine.Get(context.Background(), theirs.ID); len(got.Comments) != 0 {
		t.Fatal("the comment was recorded")
	}
	// An incident link for someone else's incident opens nothing either.
	link, _ := f.signer.Incident(theirs.ID, f.demo().Address)
	if resp, _ := f.client().do("GET", link, nil); resp.StatusCode != 404 {
		t.Fatalf("incident link naming another reporter's incident: %d", resp.StatusCode)
	}
	// Without a session: the sign-in page, never the incident.
	if resp, _ := f.client().do("GET", "/portal/incidents/"+mine.ID, nil); resp.StatusCode != 303 || resp.Header.Get("Location") != "/portal/login" {
		t.Fatalf("without a session: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The link in a mail opens the incident for its reporter, signed in.
func TestIncidentLinkOpensTheIncident(t *testing.T) {
	f := newFixture(t)
	inc := f.report(f.demo().Address, "VPN caída", intake.Spanish)
	link, err := f.signer.Incident(inc.ID, f.demo().Address)
	if err != nil {
		t.Fatal(err)
	}
	c := f.client()
	resp, _ := c.do("GET", link, nil)
	if resp.StatusCode != 303 || resp.Header.Get("Location") != "/portal/incidents/"+inc.ID {
		t.Fatalf("incident link: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, page := c.do("GET", "/portal/incidents/"+inc.ID, nil); resp.StatusCode != 200 || !strings.Contains(page, "VPN caída") || !strings.Contains(page, "Lo que nos comunicó") {
		t.Fatalf("incident page: %d\n%s", resp.StatusCode, page)
	}
	f.clock.Add(15 * 24 * time.Hour)
	if resp, _ := f.client().do("GET", link, nil); resp.StatusCode != 410 {
		t.Fatalf("expired incident link: %d", resp.StatusCode)
	}
}

// signedIn is a client signed in as the demo user by a mailed link.
func (f *fixture) signedIn() *client {
	f.t.Helper()
	c := f.client()
	n := f.countSignInMails()
	c.askLink(f.demo().Address)
	_, link := f.signInLink(n)
	if resp, _ := c.useLink(link); resp.StatusCode != 303 {
		f.t.Fatalf("sign-in: %d", resp.StatusCode)
	}
	return c
}

func TestFilesAreCheckedAndCapped(t *testing.T) {
	f := newFixture(t)
	inc := f.report(f.demo().Address, "Printer", intake.English)
	c := f.signedIn()
	_, page := c.do("GET", "/portal/incidents/"+inc.ID, nil)
	token := csrf(t, page)
	for _, tc := range []struct {
		name    string
		content []byte
		status  int
		want    string
	}{
		{"screen.png", pngBytes, 303, ""},
		{"notes.txt", []byte("the printer says PC LOAD LETTER\n"), 303, ""},
		{"run.exe", []byte("MZ\x90\x00\x03\x00\x00\x00"), 400, "cannot take this kind of file"},
		{"fake.png", []byte("#!/bin/sh\necho hi\n"), 400, "cannot take this kind of file"},
		{"big.txt", []byte(strings.Repeat("a", 5<<20+1)), 413, "too large"},
	} {
		resp, body := c.upload("/portal/incidents/"+inc.ID, token, tc.name, tc.content)
		if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d, want %d with %q\n%.300s", tc.name, resp.StatusCode, tc.status, tc.want, body)
		}
	}
	got, _ := f.engine.Get(context.Background(), inc.ID)
	if len(got.Attachments) != 2 || len(got.Comments) != 2 {
		t.Fatalf("attachments %d, comments %d; want 2 and 2", len(got.Attachments), len(got.Comments))
	}
	if resp, body := c.do("GET", "/portal/incidents/"+inc.ID+"/attachments/1", nil); resp.StatusCode != 200 || !strings.Contains(body, "PC LOAD LETTER") ||
		!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("download: %d %v", resp.StatusCode, resp.Header)
	}
}

// Bad input gets a clear error on the page, with what was typed kept;
// a double submit of one form registers once.
func TestReportFormErrorsAndDoubleSubmit(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn()
	_, page := c.do("GET", "/portal/new", nil)
	token := csrf(t, page)
	nonce := regexp.MustCompile(`name="nonce" value="([^"]+)"`).FindStringSubmatch(page)[1]
	form := func(kv ...string) url.Values {
		v := url.Values{"csrf": {token}, "nonce": {nonce}, "subject": {"Printer jam"}, "who": {"me"}, "when": {"wait"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	for _, tc := range []struct {
		form url.Values
		want string
	}{
		{form("subject", " "), "Please say in a few words what the problem is."},
		{form("who", "the whole city"), "Something in the form is not valid."},
		{form("service", "not-a-service"), "Something in the form is not valid."},
	} {
		resp, body := c.do("POST", "/portal/new", tc.form)
		if resp.StatusCode != 400 || !strings.Contains(body, tc.want) {
			t.Errorf("%v: %d\n%.400s", tc.form, resp.StatusCode, body)
		}
	}
	first, _ := c.do("POST", "/portal/new", form("service", "vpn", "when", "blocks"))
	again, _ := c.do("POST", "/portal/new", form("service", "vpn", "when", "blocks"))
	if first.StatusCode != 303 || first.Header.Get("Location") != again.Header.Get("Location") {
		t.Fatalf("double submit: %d %s, then %s", first.StatusCode, first.Header.Get("Location"), again.Header.Get("Location"))
	}
	page2, err := f.store.List(context.Background(), intake.ListFilter{Reporter: f.demo().Address})
	if err != nil || len(page2.Incidents) != 1 || page2.Incidents[0].Channel != intake.ChannelPortal || page2.Incidents[0].Priority == "" {
		t.Fatalf("registered: %+v %v", page2.Incidents, err)
	}
	// An empty comment is refused with a word, not recorded.
	id := page2.Incidents[0].ID
	_, incPage := c.do("GET", "/portal/incidents/"+id, nil)
	if resp, body := c.do("POST", "/portal/incidents/"+id, url.Values{"csrf": {csrf(t, incPage)}, "op": {"comment"}, "text": {"  "}}); resp.StatusCode != 400 || !strings.Contains(body, "The comment is empty.") {
		t.Fatalf("empty comment: %d", resp.StatusCode)
	}
}
