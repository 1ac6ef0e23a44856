package smtpout

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/templates"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/golden")

// fixedLinks is a survey link that never changes, so that the golden files
// can hold it. The real signer (channels/surveylink) makes a new token each
// time; its links are tested in TestNotifierWritesAndSendsTheMail.
type fixedLinks struct{}

func (fixedLinks) Link(id, step string, _ int64) (string, error) {
	return "https://hd.example.test/s/" + id + "-" + step + "-TOKEN", nil
}

func (fixedLinks) SolvedLink(id, article string) (string, error) {
	return "https://hd.example.test/k/" + id + "-" + article + "-TOKEN", nil
}

type labels map[string]map[intake.Lang]string

func (l labels) Label(name string, lang intake.Lang) string {
	if v := l[name][lang]; v != "" {
		return v
	}
	return name
}

var goldenOrg = templates.Org{Name: "Acme IT Service Desk", SupportURL: "https://it.acme.example/help"}

// stateOf is where an incident is when each notice is sent.
var stateOf = map[intake.NoticeKind]intake.State{
	intake.NoticeAck: intake.Analysis, intake.NoticeValidation: intake.Validation, intake.NoticeRemindValidation: intake.Validation,
	intake.NoticeSatisfaction: intake.Satisfaction, intake.NoticeRemindSatisfaction: intake.Satisfaction,
	intake.NoticeReopened: intake.Analysis, intake.NoticeClosed: intake.Closed, intake.NoticeNote: intake.Solution,
}

// publicNote is the note an agent marked "tell the reporter" in the golden
// incident: the note mail tells it, and only it.
var publicNote = map[intake.Lang]string{
	intake.English: "The new VPN client is ready for you.\nPlease install it from the software centre.",
	intake.Spanish: "El nuevo cliente VPN está listo.\nInstálelo desde el centro de software.",
}

// goldenIncident has been solved once with a note for the reporter, and
// carries an agent's action that must never reach them.
func goldenIncident(lang intake.Lang, kind intake.NoticeKind) *intake.Incident {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	subject := map[intake.Lang]string{intake.English: "The VPN does not connect", intake.Spanish: "La VPN no conecta"}[lang]
	note := map[intake.Lang]string{
		intake.English: "We restarted the VPN gateway and renewed its certificate.\nPlease reconnect once.",
		intake.Spanish: "Hemos reiniciado la pasarela VPN y renovado su certificado.\nVuelva a conectarse una vez.",
	}[lang]
	inc := &intake.Incident{ID: "INC-000042", Subject: subject, Category: "network", CI: "vpn", Priority: "P2", State: stateOf[kind],
		Reporter: intake.Reporter{Name: "Ana García", Email: "ana@example.test", Language: lang},
		Actions:  []intake.Action{{Author: "bob", At: at, Text: "INTERNAL: fw01 admin password reset"}},
		History: []intake.HistoryEntry{
			{At: at, Actor: "bot", Event: "registered", To: intake.Analysis},
			{At: at, Actor: "bob", Event: "move", From: intake.Analysis, To: intake.Solution},
			{At: at, Actor: "bob", Event: "move", From: intake.Solution, To: intake.Validation, Note: note},
		},
		MailIDs:     []string{"first@client.test"},
		Suggestions: goldenSuggestions(lang),
	}
	inc.Actions = append(inc.Actions, intake.Action{Author: "bob", At: at, Text: publicNote[lang], Public: true},
		intake.Action{Author: "bob", At: at, Text: "INTERNAL: reinstalled for the whole team"})
	return inc
}

// goldenSuggestions are what registration found: two public articles in
// the reporter's language above the threshold (offered), one below it, an
// internal one, one in the other language and a known error (never
// offered).
func goldenSuggestions(lang intake.Lang) []intake.Suggestion {
	other := intake.Spanish
	if lang == intake.Spanish {
		other = intake.English
	}
	title := func(en, es string) string {
		if lang == intake.Spanish {
			return es
		}
		return en
	}
	return []intake.Suggestion{
		{Kind: intake.SuggestKnownError, ID: "KE-000007", Title: "KE: VPN gateway certificate expired", Lang: intake.English, Score: 15, Terms: []string{"vpn"}},
		{Kind: intake.SuggestArticle, ID: "vpn-internal", Title: "INTERNAL: restart the VPN concentrator", Lang: lang, Score: 14, Terms: []string{"vpn"}},
		{Kind: intake.SuggestArticle, ID: "vpn-connect", Title: title("The VPN does not connect", "La VPN no conecta"), Lang: lang, Public: true, Score: 12.5, Terms: []string{"vpn", "connect"}},
		{Kind: intake.SuggestArticle, ID: "vpn-other-lang", Title: "INTERNAL other language", Lang: other, Public: true, Score: 11, Terms: []string{"vpn"}},
		{Kind: intake.SuggestArticle, ID: "password-reset", Title: title("Reset your password", "Restablecer la contraseña"), Lang: lang, Public: true, Score: 7.2, Terms: []string{"vpn"}},
		{Kind: intake.SuggestArticle, ID: "office-wifi", Title: "INTERNAL below the threshold", Lang: lang, Public: true, Score: 6.9, Terms: []string{"connect"}},
	}
}

func goldenRenderer(t *testing.T) Renderer {
	return Renderer{Texts: loadTexts(t), Links: fixedLinks{}, Solved: fixedLinks{}, MinScore: 7, Org: goldenOrg,
		ConsoleURL: func(id string) string { return "https://hd.example.test/console/incidents/" + id }, Labels: labels{
			"network": {intake.English: "Network", intake.Spanish: "Red"},
			"vpn":     {intake.English: "VPN access", intake.Spanish: "Acceso VPN"},
		}}
}

// everyMail renders every notice in every language.
func everyMail(t *testing.T) map[string]Mail {
	t.Helper()
	r := goldenRenderer(t)
	out := map[string]Mail{}
	for _, lang := range intake.Langs() {
		for _, kind := range intake.Notices() {
			inc := goldenIncident(lang, kind)
			msg := intake.Outgoing{ID: inc.ID + ":" + string(kind) + ":1", IncidentID: inc.ID, Kind: kind, Lang: lang,
				Route: intake.RouteEmail, Email: inc.Reporter.Email, Attempt: 1, Round: 2}
			if kind == intake.NoticeNote {
				msg.Round, msg.Action = 0, 2
			}
			m, err := r.Render(msg, inc)
			if err != nil {
				t.Fatalf("%s/%s: %v", lang, kind, err)
			}
			out[string(lang)+"/"+string(kind)] = m
		}
		// The agent alerts (notify.email), one per event.
		for _, alert := range intake.Alerts() {
			inc := goldenIncident(lang, intake.NoticeAck)
			inc.Group = "networks"
			if alert != intake.AlertNew {
				inc.Owner = "bob"
			}
			if alert == intake.AlertRejected {
				words := map[intake.Lang]string{intake.English: "It still drops after a minute.", intake.Spanish: "Se sigue cortando al minuto."}[lang]
				inc.Surveys = []intake.SurveyResult{{Step: intake.SurveyValidation, Answer: "no", Comment: words}}
			}
			msg := intake.Outgoing{ID: inc.ID + ":agent_alert:3:0", IncidentID: inc.ID, Kind: intake.NoticeAgentAlert, Lang: lang,
				Route: intake.RouteAgentMail, Email: "redes@example.test", Attempt: 1, Alert: alert}
			m, err := r.Render(msg, inc)
			if err != nil {
				t.Fatalf("%s/alert %s: %v", lang, alert, err)
			}
			out[string(lang)+"/agent_alert_"+string(alert)] = m
		}
		// A child of an outage: its acknowledgment says the outage is
		// known and being worked on, under which incident.
		inc := goldenIncident(lang, intake.NoticeAck)
		inc.ParentID = "INC-000041"
		msg := intake.Outgoing{ID: inc.ID + ":ack:1", IncidentID: inc.ID, Kind: intake.NoticeAck, Lang: lang,
			Route: intake.RouteEmail, Email: inc.Reporter.Email, Attempt: 1}
		m, err := r.Render(msg, inc)
		if err != nil {
			t.Fatalf("%s/ack of a child: %v", lang, err)
		}
		out[string(lang)+"/ack_grouped"] = m
	}
	return out
}

// TestMailsMatchTheGoldenFiles shows every mail, text and HTML, in every
// language, as a reporter gets it. After a deliberate change of a
// template, run go test ./channels/email/smtpout -run Golden -update and
// read the diff.
func TestMailsMatchTheGoldenFiles(t *testing.T) {
	for name, m := range everyMail(t) {
		for ext, got := range map[string]string{".txt": "Subject: " + m.Subject + "\n\n" + m.Text, ".html": m.HTML} {
			file := filepath.Join("testdata", "golden", name+ext)
			if *update {
				if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(file, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			want, err := os.ReadFile(file)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs from the golden file (run with -update after checking):\n%s", file, got)
			}
		}
	}
}

var urlRE = regexp.MustCompile(`https?://[^\s<>"]+`)

// Every HTML part is well-formed, and every link of the text part is a
// link of the HTML part too: the two parts offer the same answers.
func TestHTMLIsWellFormedAndHasEveryLinkOfTheText(t *testing.T) {
	for name, m := range everyMail(t) {
		if err := wellFormed(m.HTML); err != nil {
			t.Errorf("%s.html: %v", name, err)
		}
		doc, err := html.Parse(strings.NewReader(m.HTML))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		hrefs := links(doc)
		textLinks := urlRE.FindAllString(m.Text, -1)
		if len(textLinks) == 0 {
			t.Errorf("%s: no link in the text part (the support URL at least):\n%s", name, m.Text)
		}
		for _, u := range textLinks {
			if !slices.Contains(hrefs, u) {
				t.Errorf("%s: the text links %s, the HTML does not (it has %v)", name, u, hrefs)
			}
		}
		if strings.Contains(m.HTML, "<img") || strings.Contains(m.HTML, "<link") || strings.Contains(m.HTML, "<script") {
			t.Errorf("%s: the HTML loads something from outside", name)
		}
	}
}

// Priority and state are words, the solution note is there, the agent's
// action is not, and the organisation signs.
func TestMailsSpeakPlainly(t *testing.T) {
	mails := everyMail(t)
	for name, m := range mails {
		for _, part := range []string{m.Text, m.HTML} {
			if strings.Contains(part, "INTERNAL") || strings.Contains(part, "no_solution") {
				t.Errorf("%s shows internal data", name)
			}
			if !strings.Contains(part, "Acme IT Service Desk") {
				t.Errorf("%s is not signed by the organisation", name)
			}
		}
	}
	for _, tc := range []struct{ name, want string }{
		{"en/ack", "Priority: High"}, {"es/ack", "Prioridad: Alta"},
		{"en/ack_grouped", "known outage"}, {"es/ack_grouped", "avería general ya conocida"},
		{"en/ack_grouped", "INC-000041"}, {"es/ack_grouped", "INC-000041"},
		{"en/validation", "We restarted the VPN gateway"}, {"es/validation", "Hemos reiniciado la pasarela VPN"},
		{"en/remind_validation", "We restarted the VPN gateway"}, {"es/remind_validation", "Hemos reiniciado la pasarela VPN"},
		{"en/note", "The new VPN client is ready for you."}, {"es/note", "El nuevo cliente VPN está listo."},
	} {
		if m := mails[tc.name]; !strings.Contains(m.Text, tc.want) || !strings.Contains(m.HTML, strings.Split(tc.want, ": ")[len(strings.Split(tc.want, ": "))-1]) {
			t.Errorf("%s lacks %q:\n%s", tc.name, tc.want, m.Text)
		}
	}
	if !strings.Contains(mails["en/ack"].HTML, "Waiting for your confirmation") && !strings.Contains(mails["en/ack"].HTML, "We are working on it") {
		t.Errorf("the acknowledgment shows no state in words:\n%s", mails["en/ack"].HTML)
	}
}

// Without a note on the move to validation the question says nothing about
// what was done: actions are internal and never stand in for the note.
func TestValidationWithoutNoteShowsNoAction(t *testing.T) {
	inc := goldenIncident(intake.English, intake.NoticeValidation)
	inc.History[2].Note = ""
	msg := intake.Outgoing{ID: "x", IncidentID: inc.ID, Kind: intake.NoticeValidation, Lang: intake.English, Email: inc.Reporter.Email}
	m, err := goldenRenderer(t).Render(msg, inc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "What we did") || strings.Contains(m.HTML, "What we did") || strings.Contains(m.Text, "INTERNAL") {
		t.Fatalf("a note appeared:\n%s", m.Text)
	}
	// Solved twice: the latest move's note is the one told.
	inc.History = append(inc.History, intake.HistoryEntry{Event: "move", From: intake.Solution, To: intake.Validation, Note: "Second fix."})
	if got := solutionNote(inc); got != "Second fix." {
		t.Fatalf("note = %q", got)
	}
}

// No line breaks right after an incident number: in the text part the
// number is followed by a no-break space or punctuation, never a plain
// space or a line end; in the HTML part every number sits in a span that
// does not wrap (browsers may break at its hyphen otherwise). The end of
// a link (an agent alert's console page) is no number standing alone.
func TestIncidentNumberIsNeverLeftAtALineEnd(t *testing.T) {
	bad := regexp.MustCompile(`(^|[^/])INC-000042[ \t\r\n]`)
	for name, m := range everyMail(t) {
		if loc := bad.FindStringIndex(m.Text); loc != nil {
			t.Errorf("%s.txt breaks after the number: %q", name, m.Text[max(0, loc[0]-30):loc[1]])
		}
		doc, err := html.Parse(strings.NewReader(m.HTML))
		if err != nil {
			t.Fatal(err)
		}
		for n := range doc.Descendants() {
			if n.Type != html.TextNode || !strings.Contains(n.Data, "INC-000042") || n.Parent.Data == "title" {
				continue
			}
			if !nowrap(n) {
				t.Errorf("%s.html: %q may wrap", name, n.Data)
			}
		}
	}
}

func nowrap(n *html.Node) bool {
	for p := n.Parent; p != nil; p = p.Parent {
		for _, a := range p.Attr {
			if a.Key == "style" && strings.Contains(a.Val, "white-space:nowrap") {
				return true
			}
		}
	}
	return false
}

func links(n *html.Node) []string {
	var out []string
	for d := range n.Descendants() {
		if d.Type == html.ElementNode && d.Data == "a" {
			for _, a := range d.Attr {
				if a.Key == "href" {
					out = append(out, a.Val)
				}
			}
		}
	}
	return out
}

// voidElements have no end tag.
var voidElements = map[string]bool{"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true,
	"img": true, "input": true, "link": true, "meta": true, "source": true, "track": true, "wbr": true}

// wellFormed checks what html.Parse would silently repair: every element
// closed, in order, and a document with one html element.
func wellFormed(doc string) error {
	z := html.NewTokenizer(strings.NewReader(doc))
	var open []string
	roots := 0
	for {
		switch z.Next() {
		case html.ErrorToken:
			if !errors.Is(z.Err(), io.EOF) {
				return z.Err()
			}
			if len(open) > 0 {
				return errors.New("unclosed <" + strings.Join(open, "> <") + ">")
			}
			if roots != 1 {
				return errors.New("not one <html> document")
			}
			return nil
		case html.StartTagToken:
			name, _ := z.TagName()
			if string(name) == "html" {
				roots++
			}
			if !voidElements[string(name)] {
				open = append(open, string(name))
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(open) == 0 || open[len(open)-1] != string(name) {
				return errors.New("</" + string(name) + "> closes nothing open (open: " + strings.Join(open, ",") + ")")
			}
			open = open[:len(open)-1]
		}
	}
}

// TestComposeSendsTheTemplateHTML: the authored HTML is the mail's HTML
// part; the derived one only stands in when a Mail has none.
func TestComposeSendsTheTemplateHTML(t *testing.T) {
	ts := startServer(t, &backend{}, serverOpts{})
	s := newSender(t, ts, func(c *Config) { c.From, c.Name = "helpdesk@example.test", "Acme IT Service Desk" })
	m := everyMail(t)["es/validation"]
	m.Email = "ana@example.test"
	if err := s.Send(t.Context(), m); err != nil {
		t.Fatal(err)
	}
	got := parseMail(t, only(t, ts.be).Data)
	if !bytes.Equal([]byte(strings.ReplaceAll(got.html, "\r\n", "\n")), []byte(m.HTML)) {
		t.Errorf("the HTML part is not the template's:\n%s", got.html)
	}
	if from, _ := got.header.AddressList("From"); len(from) != 1 || from[0].Name != "Acme IT Service Desk" {
		t.Errorf("From = %v, want the organisation's name", from)
	}
}

func TestWellFormedCatchesBrokenHTML(t *testing.T) {
	for _, doc := range []string{"<html><body><p>x</body></html>", "<html><table><tr><td>x</tr></table></html>", "<p>x</p>"} {
		if wellFormed(doc) == nil {
			t.Errorf("%q passed", doc)
		}
	}
	if err := wellFormed("<!DOCTYPE html><html><body><p>x<br></p></body></html>"); err != nil {
		t.Error(err)
	}
}

// A note mail tells the public note it names and nothing else; one that
// names an internal action (or none) is never written, and the outbox
// dead-letters it instead of retrying.
func TestNoteMailNeverTellsAnInternalAction(t *testing.T) {
	r := goldenRenderer(t)
	for _, lang := range intake.Langs() {
		inc := goldenIncident(lang, intake.NoticeNote)
		for _, n := range []int{0, 1, 3, 4} { // none, internal, internal, past the end
			msg := intake.Outgoing{ID: "INC-000042:note:7", IncidentID: inc.ID, Kind: intake.NoticeNote, Lang: lang,
				Route: intake.RouteEmail, Email: inc.Reporter.Email, Action: n}
			m, err := r.Render(msg, inc)
			if !errors.Is(err, intake.ErrUndeliverable) {
				t.Errorf("%s: action %d: err %v, mail %q", lang, n, err, m.Text)
			}
		}
	}
}

// The acknowledgment offers the public articles in the reporter's
// language that reach the threshold, each with its solved link, and
// nothing else: not the article below the threshold, not an internal one,
// not a known error, not another language's (all marked INTERNAL, which
// TestMailsSpeakPlainly keeps out of every mail).
func TestAckOffersOnlyPublicArticlesAboveTheThreshold(t *testing.T) {
	mails := everyMail(t)
	for _, tc := range []struct{ name, first, second, reply string }{
		{"en/ack", "1. The VPN does not connect", "2. Reset your password", "reply SOLVED with its number"},
		{"es/ack", "1. La VPN no conecta", "2. Restablecer la contraseña", "responder RESUELTO con su número"},
	} {
		m := mails[tc.name]
		for _, want := range []string{tc.first, tc.second, tc.reply,
			"https://hd.example.test/k/INC-000042-vpn-connect-TOKEN", "https://hd.example.test/k/INC-000042-password-reset-TOKEN"} {
			if !strings.Contains(m.Text, want) || !strings.Contains(m.HTML, strings.TrimPrefix(strings.TrimPrefix(want, "1. "), "2. ")) {
				t.Errorf("%s lacks %q:\n%s", tc.name, want, m.Text)
			}
		}
		for _, never := range []string{"office-wifi", "vpn-internal", "KE-000007", "vpn-other-lang", "3. "} {
			if strings.Contains(m.Text, never) || strings.Contains(m.HTML, never) {
				t.Errorf("%s offers %q", tc.name, never)
			}
		}
	}
	// Every other mail offers nothing, and neither does an ack whose
	// suggestions are all below the threshold.
	for name, m := range mails {
		if !strings.HasSuffix(name, "/ack") && strings.Contains(m.Text, "/k/") {
			t.Errorf("%s offers articles", name)
		}
	}
	r := goldenRenderer(t)
	r.MinScore = 20
	inc := goldenIncident(intake.Spanish, intake.NoticeAck)
	m, err := r.Render(intake.Outgoing{ID: "x", IncidentID: inc.ID, Kind: intake.NoticeAck, Lang: intake.Spanish, Email: inc.Reporter.Email}, inc)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.Text, "/k/") || strings.Contains(m.Text, "RESUELTO") || strings.Contains(m.HTML, "/k/") {
		t.Fatalf("offered below the threshold:\n%s", m.Text)
	}
}
