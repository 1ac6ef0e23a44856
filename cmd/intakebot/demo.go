package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/apiclient"
	"github.com/intakebot/intakebot/internal/config"
	"github.com/intakebot/intakebot/internal/localmail"
)

// The demo runs serve in local mode inside this process and plays both
// other parts over the wire: the demo user over real SMTP and IMAP, and an
// agent over the HTTP API. Nothing in it is simulated, so a demo that ends
// well is also a check that the local mode works end to end.

// demoScript is one walk through the service model, in one language.
type demoScript struct {
	lang          string
	subject, body string
	diagnosis     string    // the agent's first action
	fixes         [2]string // the agent's two solutions
	no, yes       string    // the demo user's answers to the validation question
	rating        string    // and to the satisfaction survey
}

func demoScripts() []demoScript {
	return []demoScript{{
		lang:      "en",
		subject:   "The VPN drops every few minutes",
		body:      "Hello,\r\n\r\nThe VPN drops every few minutes since this morning, so I cannot work from home.\r\n\r\nThanks,\r\nDemo\r\n",
		diagnosis: "Checked the VPN gateway logs: the sessions time out",
		fixes:     [2]string{"Raised the VPN keep-alive timeout", "Replaced the VPN client profile"},
		no:        "No, it still fails", yes: "Yes, it works now", rating: "4",
	}, {
		lang:      "es",
		subject:   "No me funciona el correo desde esta mañana",
		body:      "Hola,\r\n\r\nNo me funciona el correo desde esta mañana: Outlook no descarga nada.\r\n\r\nGracias,\r\nDemo\r\n",
		diagnosis: "Revisado el servidor de correo: el buzón está lleno",
		fixes:     [2]string{"Ampliada la cuota del buzón", "Reconstruido el perfil de Outlook"},
		no:        "No, sigue fallando", yes: "Sí, ya funciona", rating: "5",
	}}
}

// demoCmd is "intakebot demo".
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	stepTimeout := fs.Duration("step-timeout", 30*time.Second, "how long each step may take")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"demo takes no arguments"}
	}
	srv, err := startDemoServer(ctx, stderr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "intakebot runs in this process in local mode: API %s, SMTP %s, IMAP %s\n",
		srv.api.Base(), srv.SMTPAddr, srv.IMAPAddr)
	err = runDemo(ctx, srv, stdout, *stepTimeout)
	if serr := srv.stop(); err == nil && serr != nil {
		err = fmt.Errorf("serve: %w", serr)
	}
	return err
}

// runDemo walks every script, one after the other, and checks at the end
// that every incident is closed.
func runDemo(ctx context.Context, srv *demoServer, stdout io.Writer, stepTimeout time.Duration) error {
	box, err := openMailbox(srv.IMAPAddr, srv.Demo.Address, srv.Demo.Password)
	if err != nil {
		return fmt.Errorf("demo user's mailbox: %w", err)
	}
	defer box.close()
	var done []string
	for _, sc := range demoScripts() {
		w := &demoWalk{srv: srv, box: box, sc: sc, out: stdout, timeout: stepTimeout}
		id, err := w.run(ctx)
		if err != nil {
			return fmt.Errorf("[%s] %w", sc.lang, err)
		}
		done = append(done, fmt.Sprintf("%s (%s)", id, sc.lang))
	}
	for _, d := range done {
		id, _, _ := strings.Cut(d, " ")
		var inc intake.Incident
		if err := srv.api.Do(ctx, "GET", "/api/v1/incidents/"+url.PathEscape(id), nil, &inc); err != nil {
			return err
		}
		if inc.State != intake.Closed {
			return fmt.Errorf("%s ended in %s, not closed", id, inc.State)
		}
	}
	fmt.Fprintf(stdout, "demo finished: %s went from mail to closed\n", strings.Join(done, " and "))
	return nil
}

// demoWalk is one script being played.
type demoWalk struct {
	srv     *demoServer
	box     *mailbox
	sc      demoScript
	out     io.Writer
	timeout time.Duration
}

func (w *demoWalk) say(format string, args ...any) {
	fmt.Fprintf(w.out, "[%s] %s\n", w.sc.lang, fmt.Sprintf(format, args...))
}

// run plays the script: report, acknowledgment, "no", back to analysis,
// "yes", rating, review, closed. It returns the incident's id.
func (w *demoWalk) run(ctx context.Context) (string, error) {
	u := w.srv
	if err := w.send(ctx, u.Helpdesk.Address, w.sc.subject, w.sc.body, ""); err != nil {
		return "", fmt.Errorf("step \"mail in\": %w", err)
	}
	w.say("mail in: %q from %s to %s", w.sc.subject, u.Demo.Address, u.Helpdesk.Address)
	inc, err := w.registered(ctx)
	if err != nil {
		return "", err
	}
	id := inc.ID
	w.say("%s registered (%s, %s, category %s, language %s)", id, inc.Channel, inc.Priority, inc.Category, inc.Reporter.Language)
	ack, err := w.mail(ctx, "acknowledgment", id, intake.NoticeAck)
	if err != nil {
		return "", err
	}
	w.say("acknowledgment received: %s", ack.Subject)
	if link := w.portalLink(ctx, id); link != "" {
		w.say("%s on the reporters' portal (the link every mail about it carries): %s", id, link)
	}

	if err := w.agent(ctx, "take the case", id, "/assign", map[string]string{"owner": "admin"}); err != nil {
		return "", err
	}
	w.say("agent admin takes %s", id)
	if err := w.agent(ctx, "record the diagnosis", id, "/actions", map[string]string{"text": w.sc.diagnosis}); err != nil {
		return "", err
	}
	w.say("agent action: %q", w.sc.diagnosis)

	if err := w.validate(ctx, id, w.sc.fixes[0], w.sc.no); err != nil {
		return "", err
	}
	back, err := w.state(ctx, "back to analysis", id, intake.Analysis)
	if err != nil {
		return "", err
	}
	w.say("%s back in analysis (reopened %d time)", id, back.ReopenCount)
	reopened, err := w.mail(ctx, "reopened notice", id, intake.NoticeReopened)
	if err != nil {
		return "", err
	}
	w.say("reopened notice received: %s", reopened.Subject)

	if err := w.validate(ctx, id, w.sc.fixes[1], w.sc.yes); err != nil {
		return "", err
	}
	if _, err := w.state(ctx, "satisfaction step", id, intake.Satisfaction); err != nil {
		return "", err
	}
	w.say("%s in satisfaction", id)
	survey, err := w.mail(ctx, "satisfaction survey", id, intake.NoticeSatisfaction)
	if err != nil {
		return "", err
	}
	w.say("satisfaction survey received: %s", survey.Subject)
	if err := w.reply(ctx, survey, w.sc.rating); err != nil {
		return "", fmt.Errorf("step \"rating\": %w", err)
	}
	w.say("reply: %q", w.sc.rating)
	review, err := w.state(ctx, "review step", id, intake.Review)
	if err != nil {
		return "", err
	}
	w.say("%s in review (rating %s/5)", id, rating(review))

	if err := w.agent(ctx, "close", id, "/transitions", map[string]string{"to": string(intake.Closed), "note": "checked with the user"}); err != nil {
		return "", err
	}
	w.say("agent admin closes %s", id)
	closed, err := w.mail(ctx, "closure notice", id, intake.NoticeClosed)
	if err != nil {
		return "", err
	}
	w.say("closure notice received: %s", closed.Subject)
	if _, err := w.state(ctx, "closed state", id, intake.Closed); err != nil {
		return "", err
	}
	w.say("%s closed", id)
	return id, nil
}

// validate has the agent apply a fix and ask the user, who answers the
// question by replying to its mail.
func (w *demoWalk) validate(ctx context.Context, id, fix, answer string) error {
	if err := w.agent(ctx, "move to solution", id, "/transitions", map[string]string{"to": string(intake.Solution), "note": fix}); err != nil {
		return err
	}
	w.say("agent: analysis -> solution (%q)", fix)
	if err := w.agent(ctx, "move to validation", id, "/transitions", map[string]string{"to": string(intake.Validation)}); err != nil {
		return err
	}
	w.say("agent: solution -> validation")
	q, err := w.mail(ctx, "validation question", id, intake.NoticeValidation)
	if err != nil {
		return err
	}
	w.say("validation question received: %s", q.Subject)
	if err := w.reply(ctx, q, answer); err != nil {
		return fmt.Errorf("step \"answer %q\": %w", answer, err)
	}
	w.say("reply: %q", answer)
	return nil
}

func rating(inc *intake.Incident) string {
	for _, s := range inc.Surveys {
		if s.Step == intake.SurveySatisfaction {
			return fmt.Sprint(s.Rating)
		}
	}
	return "?"
}

// agent acts on the incident through the API, as an agent's tools do.
func (w *demoWalk) agent(ctx context.Context, step, id, path string, body any) error {
	var inc intake.Incident
	if err := w.srv.api.Do(ctx, "POST", "/api/v1/incidents/"+url.PathEscape(id)+path, body, &inc); err != nil {
		return fmt.Errorf("step %q: %w", step, err)
	}
	return nil
}

// registered waits for the incident the report became.
func (w *demoWalk) registered(ctx context.Context) (*intake.Incident, error) {
	return waitFor(ctx, w.timeout, "registration", func() (*intake.Incident, bool, error) {
		var page struct {
			Incidents []intake.Incident `json:"incidents"`
		}
		if err := w.srv.api.Do(ctx, "GET", "/api/v1/incidents?limit=50", nil, &page); err != nil {
			return nil, false, err
		}
		for i := range page.Incidents {
			if page.Incidents[i].Subject == w.sc.subject {
				return &page.Incidents[i], true, nil
			}
		}
		return nil, false, nil
	})
}

// state waits until the incident is in want.
func (w *demoWalk) state(ctx context.Context, step, id string, want intake.State) (*intake.Incident, error) {
	var last intake.State
	inc, err := waitFor(ctx, w.timeout, step, func() (*intake.Incident, bool, error) {
		var inc intake.Incident
		if err := w.srv.api.Do(ctx, "GET", "/api/v1/incidents/"+url.PathEscape(id), nil, &inc); err != nil {
			return nil, false, err
		}
		last = inc.State
		return &inc, inc.State == want, nil
	})
	if err != nil && last != "" {
		err = fmt.Errorf("%w (%s is in %s, want %s)", err, id, last, want)
	}
	return inc, err
}

// mail waits for the next mail of one kind about the incident in the demo
// user's INBOX. The bot's Message-IDs are "INC-000001.KIND.VERSION.TOKEN@…".
func (w *demoWalk) mail(ctx context.Context, step, id string, kind intake.NoticeKind) (*imap.Envelope, error) {
	return waitFor(ctx, w.timeout, step, func() (*imap.Envelope, bool, error) {
		env, err := w.box.next(id + "." + string(kind) + ".")
		return env, env != nil, err
	})
}

// portalLink is the "view your incident" link of the newest mail about id
// in the demo user's mailbox, or "" when there is none (portal off).
func (w *demoWalk) portalLink(ctx context.Context, id string) string {
	mails, err := localmail.Inbox(ctx, w.srv.IMAPAddr, w.srv.Demo, 5)
	if err != nil {
		return ""
	}
	for _, m := range mails {
		for _, l := range m.Links {
			if strings.Contains(m.Subject, id) && strings.Contains(l, "/portal/i/") {
				return l
			}
		}
	}
	return ""
}

// reply answers a mail of the bot the way a mail client does: to its
// Reply-To, with In-Reply-To and References, "Re: " and the subject.
func (w *demoWalk) reply(ctx context.Context, to *imap.Envelope, text string) error {
	addrs := to.ReplyTo
	if len(addrs) == 0 {
		addrs = to.From
	}
	if len(addrs) == 0 || addrs[0].Addr() == "" {
		return errors.New("the mail has no address to reply to")
	}
	return w.send(ctx, addrs[0].Addr(), "Re: "+to.Subject, text+"\r\n", to.MessageID)
}

// send mails text as the demo user over SMTP.
func (w *demoWalk) send(ctx context.Context, to, subject, text, inReplyTo string) error {
	u := w.srv.Demo
	raw := composeMail(u.Address, to, subject, text, inReplyTo)
	return sendMail(ctx, w.srv.SMTPAddr, u.Address, u.Password, to, raw)
}

// composeMail writes a plain-text mail as a simple mail client would.
func composeMail(from, to, subject, text, inReplyTo string) string {
	_, domain, _ := strings.Cut(from, "@")
	var b strings.Builder
	header := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	header("From", "Demo <"+from+">")
	header("To", to)
	header("Subject", mime.QEncoding.Encode("utf-8", subject))
	header("Date", time.Now().Format(time.RFC1123Z))
	header("Message-ID", "<demo."+strings.ToLower(rand.Text())+"@"+domain+">")
	if inReplyTo != "" {
		header("In-Reply-To", "<"+inReplyTo+">")
		header("References", "<"+inReplyTo+">")
	}
	header("MIME-Version", "1.0")
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "8bit")
	b.WriteString("\r\n")
	b.WriteString(text)
	return b.String()
}

// sendMail delivers raw over SMTP, logging in with AUTH PLAIN.
func sendMail(ctx context.Context, addr, user, password, to, raw string) error {
	dialer := net.Dialer{Timeout: 10 * time.Second}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Auth(sasl.NewPlainClient("", user, password)); err != nil {
		return err
	}
	if err := c.SendMail(user, []string{to}, strings.NewReader(raw)); err != nil {
		return err
	}
	return c.Quit()
}

// waitFor calls check every 100 ms until it reports done, fails, or the
// step's time is up.
func waitFor[T any](ctx context.Context, timeout time.Duration, step string, check func() (T, bool, error)) (T, error) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		v, ok, err := check()
		if err != nil {
			return v, fmt.Errorf("step %q: %w", step, err)
		}
		if ok {
			return v, nil
		}
		select {
		case <-tick.C:
		case <-deadline.C:
			return v, fmt.Errorf("step %q: nothing happened within %s", step, timeout)
		case <-ctx.Done():
			return v, fmt.Errorf("step %q: %w", step, ctx.Err())
		}
	}
}

// mailbox is a user's INBOX read over IMAP, as a mail client reads it.
type mailbox struct {
	c    *imapclient.Client
	seen map[string]bool // Message-IDs already handed out by next
}

func openMailbox(addr, user, password string) (*mailbox, error) {
	c, err := imapclient.DialInsecure(addr, nil)
	if err != nil {
		return nil, err
	}
	if err := c.Login(user, password).Wait(); err != nil {
		c.Close()
		return nil, err
	}
	return &mailbox{c: c, seen: map[string]bool{}}, nil
}

func (m *mailbox) close() {
	_ = m.c.Logout().Wait()
	m.c.Close()
}

// next returns the first mail not handed out before whose Message-ID
// starts with prefix, or nil when there is none yet.
func (m *mailbox) next(prefix string) (*imap.Envelope, error) {
	envs, err := m.envelopes()
	if err != nil {
		return nil, err
	}
	for _, env := range envs {
		if strings.HasPrefix(env.MessageID, prefix) && !m.seen[env.MessageID] {
			m.seen[env.MessageID] = true
			return env, nil
		}
	}
	return nil, nil
}

// envelopes lists the INBOX, oldest first. Selecting it again each time
// shows what was delivered since.
func (m *mailbox) envelopes() ([]*imap.Envelope, error) {
	sel, err := m.c.Select("INBOX", &imap.SelectOptions{ReadOnly: true}).Wait()
	if err != nil || sel.NumMessages == 0 {
		return nil, err
	}
	msgs, err := m.c.Fetch(imap.SeqSet{imap.SeqRange{Start: 1, Stop: 0}}, &imap.FetchOptions{Envelope: true}).Collect()
	if err != nil {
		return nil, err
	}
	envs := make([]*imap.Envelope, 0, len(msgs))
	for _, msg := range msgs {
		if msg.Envelope != nil {
			envs = append(envs, msg.Envelope)
		}
	}
	return envs, nil
}

// demoServer is serve running in local mode inside the demo.
type demoServer struct {
	localmail.Banner
	api     *apiclient.Client
	cancel  context.CancelFunc
	done    chan error    // serve's result
	drained chan struct{} // serve's output was read to its end
}

// demoEnv is the demo's whole configuration: local mode on free ports, and
// quick polls so that each step takes about a second. Nothing comes from
// the environment, so a configured deployment cannot leak into the demo.
func demoEnv() config.Env {
	return config.Env{
		"INTAKEBOT_REDIS_URL":         "",
		"INTAKEBOT_HTTP_LISTEN":       "127.0.0.1:0",
		"INTAKEBOT_LOCAL_IMAP_LISTEN": "127.0.0.1:0",
		"INTAKEBOT_LOCAL_SMTP_LISTEN": "127.0.0.1:0",
		"INTAKEBOT_LOCAL_POLL":        "@every 1s",
		// A serve the person runs beside the demo keeps its state file.
		"INTAKEBOT_LOCAL_STATE_FILE": localmail.StateFileOff,
		"INTAKEBOT_OUTBOX_POLL":      "@every 1s",
		"INTAKEBOT_LOG_LEVEL":        "error",
	}
}

// startDemoServer runs serve and reads what it prints until it listens.
func startDemoServer(ctx context.Context, stderr io.Writer) (*demoServer, error) {
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	s := &demoServer{cancel: cancel, done: make(chan error, 1), drained: make(chan struct{})}
	go func() {
		err := run(ctx, []string{"serve"}, pw, stderr, demoEnv())
		pw.Close()
		s.done <- err
	}()
	sc := bufio.NewScanner(pr)
	err := s.readBanner(sc)
	go func() {
		defer close(s.drained)
		_, _ = io.Copy(io.Discard, pr)
	}()
	if err != nil {
		if serr := s.stop(); serr != nil {
			return nil, fmt.Errorf("serve: %w", serr)
		}
		return nil, err
	}
	return s, nil
}

var (
	tokenRe   = regexp.MustCompile(`INTAKEBOT_TOKEN=(\S+)`)
	servingRe = regexp.MustCompile(`serving the API on (http://\S+)`)
)

// readBanner takes the token, the mail servers and accounts, and the API's
// address from serve's output.
func (s *demoServer) readBanner(sc *bufio.Scanner) error {
	var token string
	for sc.Scan() {
		line := sc.Text()
		if m := tokenRe.FindStringSubmatch(line); m != nil {
			token = m[1]
		}
		s.Read(line)
		if m := servingRe.FindStringSubmatch(line); m != nil {
			if token == "" || !s.Complete() {
				return errors.New("serve did not print the token, the local mail server and its accounts")
			}
			s.api = apiclient.New(m[1], token)
			return nil
		}
	}
	return errors.New("serve stopped before it listened")
}

// stop ends serve and waits for it and for its output.
func (s *demoServer) stop() error {
	s.cancel()
	<-s.drained
	return <-s.done
}
