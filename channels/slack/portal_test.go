package slack

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/intakebot/intakebot/channels/portallink"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/slackserver"
)

// Users without an e-mail address in their Slack profile.
const (
	noMailEN = "UNOMAILEN"
	noMailES = "UNOMAILES"
)

// portalWorld is a world with the reporters' portal on, and the signer
// that verifies the links the bot hands out.
func portalWorld(t *testing.T) (*world, *portallink.Signer) {
	t.Helper()
	signer, err := portallink.New([]byte(strings.Repeat("k", portallink.MinKeyBytes)), "https://desk.example.test", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, func(d *Deps) { d.Portal = signer })
	w.srv.AddUser(slackserver.User{ID: noMailEN, Name: "pat", RealName: "Pat NoMail", Locale: "en-US"})
	w.srv.AddUser(slackserver.User{ID: noMailES, Name: "paco", RealName: "Paco SinCorreo", Locale: "es-ES"})
	return w, signer
}

// urlButtons are the URLs of the URL buttons in a message's blocks,
// by action id.
func urlButtons(t *testing.T, raw json.RawMessage) map[string]string {
	t.Helper()
	out := map[string]string{}
	if len(raw) == 0 {
		return out
	}
	var blocks []struct {
		Elements []struct {
			ActionID string          `json:"action_id"`
			URL      string          `json:"url"`
			Text     json.RawMessage `json:"text"` // a string in context elements
		} `json:"elements"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatalf("blocks: %v: %s", err, raw)
	}
	for _, b := range blocks {
		for _, e := range b.Elements {
			if e.URL != "" {
				out[e.ActionID] = e.URL
				var label struct{ Text string }
				if err := json.Unmarshal(e.Text, &label); err != nil {
					t.Fatalf("button label: %v: %s", err, e.Text)
				}
				out[e.ActionID+":label"] = label.Text
			}
		}
	}
	return out
}

// verified checks that link is a genuine portal link of the given kind
// for email (and incident id), and returns its claims.
func verified(t *testing.T, s *portallink.Signer, link string, p portallink.Purpose, email, id string) {
	t.Helper()
	i := strings.LastIndex(link, "/")
	if i < 0 || !strings.HasPrefix(link, "https://desk.example.test/portal/") {
		t.Fatalf("link %q is not a portal link", link)
	}
	c, err := s.Verify(link[i+1:])
	if err != nil {
		t.Fatalf("link %q: %v", link, err)
	}
	if c.Purpose != p || c.Email != email || c.IncidentID != id {
		t.Fatalf("link %q claims %+v; want purpose %c, %s, incident %q", link, c, p, email, id)
	}
	if p == portallink.SignIn && time.Until(c.Expires) > portallink.SignInTTL {
		t.Fatalf("sign-in link lives until %v, more than %v", c.Expires, portallink.SignInTTL)
	}
}

// The acknowledgment in the reporter's DM carries a URL button to the
// incident's page, signed for that reporter, labelled in their language.
func TestPortalButtonOnDMAcknowledgment(t *testing.T) {
	for _, tc := range []struct {
		user, email, label string
	}{
		{john, "john@example.test", "View in the portal"},
		{ana, "ana@example.test", "Ver en el portal"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			w, signer := portalWorld(t)
			w.dm(tc.user, "my screen stays black")
			w.drain()
			inc := w.onlyIncident()
			acks := w.botMessages(tc.user)
			if len(acks) != 1 {
				t.Fatalf("%d bot messages in the DM, want the acknowledgment", len(acks))
			}
			links := urlButtons(t, acks[0].Blocks)
			if links[actionPortal+":label"] != tc.label {
				t.Fatalf("portal button label = %q, want %q; blocks %s", links[actionPortal+":label"], tc.label, acks[0].Blocks)
			}
			verified(t, signer, links[actionPortal], portallink.Incident, tc.email, inc.ID)
			// Slack reports the click on a URL button: it changes nothing
			// and is acknowledged like any other.
			before := len(w.incident(inc.ID).History)
			w.click(tc.user, acks[0].Channel, acks[0].TS, actionPortal, inc.ID)
			w.settle()
			if after := len(w.incident(inc.ID).History); after != before {
				t.Fatalf("the click changed the incident's history: %d -> %d entries", before, after)
			}
		})
	}
}

// Reported in a channel, the acknowledgment in the thread is public: it
// must not carry the link (it signs in whoever follows it), which goes to
// the reporter alone.
func TestPortalButtonInChannelThreadIsPrivate(t *testing.T) {
	w, signer := portalWorld(t)
	text := "<@" + slackserver.BotUserID + "> the printer on floor 3 is broken"
	m := w.srv.AddMessage(slackserver.Message{Channel: "CGENERAL", User: john, Text: text})
	w.push("events_api", callback(map[string]any{"type": "app_mention", "channel": "CGENERAL", "user": john, "text": text, "ts": m.TS, "event_ts": m.TS}), 0)
	w.drain()
	inc := w.onlyIncident()
	for _, msg := range w.srv.Messages("CGENERAL") {
		if strings.Contains(string(msg.Blocks), "/portal/") || strings.Contains(msg.Text, "/portal/") {
			t.Fatalf("a public message carries a portal link: %s %s", msg.Text, msg.Blocks)
		}
	}
	eph := w.srv.Ephemerals()
	if len(eph) != 1 || eph[0].User != john || eph[0].Channel != "CGENERAL" || eph[0].ThreadTS != m.TS {
		t.Fatalf("ephemerals = %+v, want one to john in the report's thread", eph)
	}
	if !strings.Contains(eph[0].Text, "Only you can see this") || !strings.Contains(eph[0].Text, inc.ID) {
		t.Fatalf("ephemeral text = %q", eph[0].Text)
	}
	verified(t, signer, urlButtons(t, eph[0].Blocks)[actionPortal], portallink.Incident, "john@example.test", inc.ID)
}

var signInLink = regexp.MustCompile(`<(https://[^|>]+)\|`)

// "portal", written to the bot, gets the asker (and only them) a sign-in
// link bound to their own address, in their language; nothing is
// registered, and Slack's retry of the event sends nothing more.
func TestPortalWordGivesOwnSignInLink(t *testing.T) {
	w, signer := portalWorld(t)
	_, ev := w.dm(ana, "Portal")
	w.push("events_api", ev, 1) // Slack's retry: same event_id
	// john asks by mention in a channel: his link, not ana's, to him alone.
	text := "<@" + slackserver.BotUserID + "> portal?"
	m := w.srv.AddMessage(slackserver.Message{Channel: "CGENERAL", User: john, Text: text})
	w.push("events_api", callback(map[string]any{"type": "app_mention", "channel": "CGENERAL", "user": john, "text": text, "ts": m.TS, "event_ts": m.TS}), 0)
	w.drain()

	eph := w.srv.Ephemerals()
	if len(eph) != 2 {
		t.Fatalf("%d ephemerals, want one per asker: %+v", len(eph), eph)
	}
	want := map[string]struct{ channel, email, words string }{
		ana:  {"DUANA", "ana@example.test", "entre en el portal"},
		john: {"CGENERAL", "john@example.test", "sign in to the portal"},
	}
	for _, e := range eph {
		wt, ok := want[e.User]
		if !ok || e.Channel != wt.channel || !strings.Contains(e.Text, wt.words) {
			t.Fatalf("ephemeral %+v; want %+v", e, wt)
		}
		link := signInLink.FindStringSubmatch(e.Text)
		if link == nil {
			t.Fatalf("no link in %q", e.Text)
		}
		verified(t, signer, link[1], portallink.SignIn, wt.email, "")
		delete(want, e.User)
	}
	for _, ch := range []string{ana, "CGENERAL"} {
		for _, msg := range w.srv.Messages(ch) {
			if strings.Contains(msg.Text+string(msg.Blocks), "/portal/") {
				t.Fatalf("a message in %s carries a portal link: %s", ch, msg.Text)
			}
		}
	}
	page, err := w.store.List(w.ctx, intake.ListFilter{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Incidents) != 0 {
		t.Fatalf("asking for the portal registered %d incidents", len(page.Incidents))
	}
}

// Without an e-mail address there is no portal account: no button on the
// acknowledgment, and "portal" gets a clear answer, in both languages.
func TestPortalWithoutEmail(t *testing.T) {
	for _, tc := range []struct{ user, answer string }{
		{noMailEN, "your Slack profile has no e-mail address"},
		{noMailES, "su perfil de Slack no tiene dirección de correo"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			w, _ := portalWorld(t)
			w.dm(tc.user, "the VPN drops every hour")
			w.drain()
			acks := w.botMessages(tc.user)
			if len(acks) != 1 || strings.Contains(string(acks[0].Blocks), actionPortal) {
				t.Fatalf("acknowledgment = %+v, want one without a portal button", acks)
			}
			w.dm(tc.user, "portal")
			w.drain()
			eph := w.srv.Ephemerals()
			if len(eph) != 1 || eph[0].User != tc.user || !strings.Contains(eph[0].Text, tc.answer) || strings.Contains(eph[0].Text, "/portal/") {
				t.Fatalf("ephemerals = %+v, want the no-address answer %q", eph, tc.answer)
			}
		})
	}
}

// With the portal off, "portal" is a report like any other word, and the
// acknowledgment has no portal button.
func TestPortalOff(t *testing.T) {
	w := newWorld(t)
	w.dm(john, "portal")
	w.drain()
	inc := w.onlyIncident()
	acks := w.botMessages(john)
	if len(acks) != 1 || strings.Contains(string(acks[0].Blocks), actionPortal) || !strings.Contains(acks[0].Text, inc.ID) {
		t.Fatalf("acknowledgment = %+v", acks)
	}
}
