package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/apiclient"
	"github.com/intakebot/intakebot/internal/config"
)

const incidentsUsage = `Usage: intakebot incidents COMMAND [flags]

  list [--state S] [--priority P] [--group G] [--owner O] [--sla warning|breached]
       [--limit N] [--cursor C | --all]
                                      newest first; --all follows every page
  show ID
  attachment ID N [-o FILE]           save attachment #N (see show) under its name, or FILE (- for stdout)
  create --subject TEXT [--description TEXT] [--reporter-name N] [--reporter-email E]
         [--reporter-slack U] [--language en|es] [--channel phone|web|email|slack|event]
         [--ci CI] [--category C] [--impact L] [--urgency L] [--group G]
  act ID TEXT [--public]              add an action (work note); --public tells the
                                      reporter too (sent to them by mail or Slack)
  move ID solution|validation|closed [--note TEXT]
  assign ID OWNER [--note TEXT]
  escalate ID [--group G] [--level 1-3] [--note TEXT]
  recategorize ID CATEGORY [--note TEXT]
  survey ID yes|no [--note TEXT]      record the reporter's validation answer given by phone
  survey ID --rating 1-5 [--comment TEXT]
  close ID [--note TEXT]
  link ID KE-ID [--note TEXT]         link the incident to a known error (see: intakebot known-errors help)
  unlink ID                           remove its link
  apply-workaround ID [KE-ID]         record the known error's workaround as an action (default: the linked one)
  group PARENT CHILD... [--note TEXT] group incidents of one outage under PARENT
  ungroup CHILD [--note TEXT]         take CHILD out of its outage group

Every command takes --url (default $INTAKEBOT_URL or http://127.0.0.1:8080),
--token (default $INTAKEBOT_TOKEN), --json (print the API's JSON; errors too,
as {"error": ..., "code": ...} on stderr) and --tz ZONE (the time zone times
are shown in: default $INTAKEBOT_DISPLAY_TIME_ZONE, else the machine's).
`

// apiFlags are the flags every API command takes.
type apiFlags struct {
	url, token *string
	json       *bool
}

func addAPIFlags(fs *flag.FlagSet, env config.Env) apiFlags {
	defURL := cmp.Or(env["INTAKEBOT_URL"], "http://127.0.0.1:8080")
	return apiFlags{
		url:   fs.String("url", defURL, "API base URL"),
		token: fs.String("token", env["INTAKEBOT_TOKEN"], "API token"),
		json:  fs.Bool("json", false, "print JSON"),
	}
}

func (a apiFlags) client() (*apiclient.Client, error) {
	if *a.token == "" {
		return nil, usageError{"no API token: pass --token or set INTAKEBOT_TOKEN"}
	}
	return apiclient.New(*a.url, *a.token), nil
}

// fail reports err as JSON on stderr when --json was given, so that a
// script reads every answer as JSON. The error is then marked as told, so
// that main does not print it again; its exit status is unchanged.
func (a apiFlags) fail(err error, stderr io.Writer) error {
	if err == nil || !*a.json || errors.Is(err, flag.ErrHelp) {
		return err
	}
	out := map[string]any{"error": err.Error(), "code": "error"}
	var apiErr *apiclient.Error
	var usage usageError
	var netErr net.Error
	switch {
	case errors.As(err, &apiErr):
		out["error"], out["code"], out["status"] = apiErr.Msg, apiErr.Code, apiErr.Status
		if apiErr.State != "" {
			out["state"], out["allowed"] = apiErr.State, apiErr.Allowed
		}
	case errors.As(err, &usage):
		out["code"] = "usage"
	case errors.As(err, &netErr):
		out["code"] = "unreachable"
	}
	_ = printJSON(stderr, out)
	return toldError{err}
}

// toldError is an error already shown to the person (as JSON): main
// exits with its status without printing it.
type toldError struct{ err error }

func (e toldError) Error() string { return e.err.Error() }
func (e toldError) Unwrap() error { return e.err }

// displayZone is the time zone named by --tz or INTAKEBOT_DISPLAY_TIME_ZONE
// (the display.time_zone key), or the machine's when none is named.
func displayZone(name string) (*time.Location, error) {
	if name == "" {
		return time.Local, nil
	}
	zone, err := time.LoadLocation(name)
	if err != nil {
		return nil, usageError{fmt.Sprintf("--tz (or INTAKEBOT_DISPLAY_TIME_ZONE) %q is not a time zone: use an IANA name like Europe/Madrid, or UTC", name)}
	}
	return zone, nil
}

// formatTime shows t in zone with the zone's name, so that a time read
// from a terminal in another country is not taken for a local one.
func formatTime(t time.Time, zone *time.Location, layout string) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(zone).Format(layout + " MST")
}

// incidentsFlags are the flags of every incidents command.
type incidentsFlags struct {
	api                  apiFlags
	note, tz             *string
	f                    map[string]*string // the text flags, by name
	limit, level, rating *int
	all, public          *bool
}

func newIncidentsFlags(fs *flag.FlagSet, env config.Env) incidentsFlags {
	fl := incidentsFlags{api: addAPIFlags(fs, env), note: fs.String("note", "", "note"), f: map[string]*string{}}
	for _, name := range []string{"state", "priority", "group", "owner", "cursor", "subject", "description", "reporter-name",
		"reporter-email", "reporter-slack", "language", "channel", "ci", "category", "impact", "urgency", "comment", "sla", "o"} {
		fl.f[name] = fs.String(name, "", name)
	}
	fl.tz = fs.String("tz", env["INTAKEBOT_DISPLAY_TIME_ZONE"], "time zone to show times in (default: the machine's)")
	fl.all = fs.Bool("all", false, "list: follow every page")
	fl.public = fs.Bool("public", false, "act: tell the reporter (a public note)")
	fl.limit = fs.Int("limit", 0, "page size")
	fl.level = fs.Int("level", 0, "support level 1-3")
	fl.rating = fs.Int("rating", 0, "satisfaction rating 1-5")
	return fl
}

// incidentCall is one incidents command: the positional arguments and
// flags it was given, and the client.
type incidentCall struct {
	ctx    context.Context
	c      *apiclient.Client
	pos    []string
	fl     incidentsFlags
	zone   *time.Location // times are shown in it
	stdout io.Writer
	env    config.Env
}

// need checks the number of positional arguments.
func (k *incidentCall) need(n int, form string) error {
	if len(k.pos) != n {
		return usageError{"usage: intakebot incidents " + form}
	}
	return nil
}

// path is the API path of the incident named first, plus suffix.
func (k *incidentCall) path(suffix string) string {
	return "/api/v1/incidents/" + url.PathEscape(k.pos[0]) + suffix
}

// post sends body to the incident's suffix and prints the incident it
// answers with.
func (k *incidentCall) post(suffix string, body any) error {
	var inc intake.Incident
	if err := k.c.Do(k.ctx, "POST", k.path(suffix), body, &inc); err != nil {
		return err
	}
	return k.printOne(&inc)
}

// printOne prints an incident as one line (or JSON).
func (k *incidentCall) printOne(inc *intake.Incident) error {
	if *k.fl.api.json {
		return printJSON(k.stdout, inc)
	}
	sla := ""
	if status := inc.SLAStatus(); status != intake.SLAOK {
		sla = "  SLA " + status
	}
	fmt.Fprintf(k.stdout, "%s  %s  %s  owner: %s%s  %s\n", inc.ID, inc.State, inc.Priority, cmp.Or(inc.Owner, "nobody"), sla, inc.Subject)
	return nil
}

// incidentCommand is the incidents subcommand of that name, or nil.
func incidentCommand(name string) func(*incidentCall) error {
	return map[string]func(*incidentCall) error{
		"list": incidentsList, "show": incidentsShow, "create": incidentsCreate, "act": incidentsAct,
		"move": incidentsMove, "close": incidentsClose, "assign": incidentsAssign, "escalate": incidentsEscalate,
		"recategorize": incidentsRecategorize, "survey": incidentsSurvey, "attachment": incidentsAttachment,
		"link": incidentsLink, "unlink": incidentsUnlink, "apply-workaround": incidentsApplyWorkaround,
		"group": incidentsGroup, "ungroup": incidentsUngroup,
	}[name]
}

func incidentsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, incidentsUsage)
		if len(args) == 0 {
			return usageError{"no incidents command given"}
		}
		return nil
	}
	cmd := incidentCommand(args[0])
	if cmd == nil {
		fmt.Fprint(stderr, incidentsUsage)
		return usageError{fmt.Sprintf("unknown incidents command %q", args[0])}
	}
	fs := newFlags("incidents "+args[0], stderr)
	fs.Usage = func() { fmt.Fprint(stderr, incidentsUsage) }
	fl := newIncidentsFlags(fs, env)
	pos, err := parse(fs, args[1:])
	if err != nil {
		return fl.api.fail(err, stderr)
	}
	zone, err := displayZone(*fl.tz)
	if err != nil {
		return fl.api.fail(err, stderr)
	}
	c, err := fl.api.client()
	if err != nil {
		return fl.api.fail(err, stderr)
	}
	return fl.api.fail(cmd(&incidentCall{ctx: ctx, c: c, pos: pos, fl: fl, zone: zone, stdout: stdout, env: env}), stderr)
}

func incidentsList(k *incidentCall) error {
	const form = "list [--state S] [--priority P] [--group G] [--owner O] [--sla warning|breached] [--limit N] [--cursor C | --all]"
	if err := k.need(0, form); err != nil {
		return err
	}
	if sla := *k.fl.f["sla"]; sla != "" && sla != intake.SLAWarning && sla != intake.SLABreached {
		return usageError{fmt.Sprintf("--sla must be %s or %s, not %q", intake.SLAWarning, intake.SLABreached, sla)}
	}
	q := url.Values{}
	filtered := false
	for _, name := range []string{"state", "priority", "group", "owner", "sla", "cursor"} {
		if v := *k.fl.f[name]; v != "" {
			q.Set(name, v)
			filtered = filtered || name != "cursor"
		}
	}
	if *k.fl.limit > 0 {
		q.Set("limit", strconv.Itoa(*k.fl.limit))
	}
	type page struct {
		Incidents []intake.Incident `json:"incidents"`
		Next      string            `json:"next_cursor,omitempty"`
	}
	var all page
	for {
		var p page
		if err := k.c.Do(k.ctx, "GET", "/api/v1/incidents?"+q.Encode(), nil, &p); err != nil {
			return err
		}
		all.Incidents, all.Next = append(all.Incidents, p.Incidents...), p.Next
		if !*k.fl.all || p.Next == "" {
			break
		}
		q.Set("cursor", p.Next)
	}
	if all.Incidents == nil {
		all.Incidents = []intake.Incident{} // [] in JSON, never null
	}
	if *k.fl.api.json {
		return printJSON(k.stdout, all)
	}
	if len(all.Incidents) == 0 && q.Get("cursor") == "" {
		k.printEmpty(filtered)
		return nil
	}
	printList(k.stdout, all.Incidents, all.Next, k.zone)
	return nil
}

// printEmpty says that there is nothing to list, and what to do next: a
// first report when the queue is empty, a wider filter otherwise.
func (k *incidentCall) printEmpty(filtered bool) {
	if filtered {
		fmt.Fprintln(k.stdout, "No incidents match these filters; drop one to see more (intakebot incidents list).")
		return
	}
	fmt.Fprintln(k.stdout, "No incidents yet.")
	if st, _, err := readLocalState(k.env["INTAKEBOT_LOCAL_STATE_FILE"], k.env); err == nil && st.API == k.c.Base() {
		fmt.Fprint(k.stdout, `This intakebot runs in local mode: send a first report as the demo user with
  intakebot local send --subject 'VPN down' --body 'The VPN is down'
and read the help desk's answer with: intakebot local inbox
`)
		return
	}
	fmt.Fprint(k.stdout, `Reports arrive when someone mails a help-desk mailbox or writes to the bot in Slack.
To register one taken by phone:
  intakebot incidents create --subject 'VPN down' --reporter-name NAME --reporter-email ADDRESS
`)
}

func incidentsShow(k *incidentCall) error {
	if err := k.need(1, "show ID"); err != nil {
		return err
	}
	var inc intake.Incident
	if err := k.c.Do(k.ctx, "GET", k.path(""), nil, &inc); err != nil {
		return err
	}
	if *k.fl.api.json {
		return printJSON(k.stdout, inc)
	}
	printIncident(k.stdout, &inc, k.zone)
	return nil
}

func incidentsAttachment(k *incidentCall) error {
	if err := k.need(2, "attachment ID N [-o FILE]"); err != nil {
		return err
	}
	n, err := strconv.Atoi(k.pos[1])
	if err != nil || n < 0 {
		return usageError{fmt.Sprintf("attachment number %q: a number from 0, as show lists them (#0, #1, ...)", k.pos[1])}
	}
	f, err := k.c.Download(k.ctx, k.path("/attachments/"+strconv.Itoa(n)))
	if err != nil {
		return err
	}
	out := *k.fl.f["o"]
	if out == "-" {
		_, err := k.stdout.Write(f.Content)
		return err
	}
	// Only a file named by the person may be replaced: a name that came in
	// a stranger's mail may not overwrite anything.
	flags := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if out == "" {
		out = safeFileName(f.Name, n)
		flags = os.O_WRONLY | os.O_CREATE | os.O_EXCL
	}
	file, err := os.OpenFile(out, flags, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists: choose another name with -o FILE", out)
	}
	if err != nil {
		return err
	}
	if _, err := file.Write(f.Content); err != nil {
		file.Close()
		return err
	}
	if err := file.Close(); err != nil {
		return err
	}
	kept := f.Header.Get("X-Intakebot-Truncated")
	if *k.fl.api.json {
		res := map[string]any{"file": out, "name": f.Name, "bytes": len(f.Content), "type": f.Header.Get("X-Intakebot-Content-Type")}
		if kept != "" {
			res["truncated_from"] = kept
		}
		return printJSON(k.stdout, res)
	}
	fmt.Fprintf(k.stdout, "saved %s (%d bytes) to %s\n", f.Name, len(f.Content), out)
	if kept != "" {
		fmt.Fprintf(k.stdout, "only the first %d of its %s bytes were kept\n", len(f.Content), kept)
	}
	return nil
}

// safeFileName makes an attachment's name a plain file name in the
// current directory: no directories, no hidden file, nothing empty.
func safeFileName(name string, n int) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r < ' ' || r == 0x7f {
			return '_'
		}
		return r
	}, name)
	name = strings.TrimLeft(strings.TrimSpace(name), ".")
	if name == "" {
		return fmt.Sprintf("attachment-%d", n)
	}
	return name
}

func incidentsCreate(k *incidentCall) error {
	if err := k.need(0, "create --subject TEXT ..."); err != nil {
		return err
	}
	f := k.fl.f
	body := map[string]any{"subject": *f["subject"], "description": *f["description"], "channel": *f["channel"],
		"ci": *f["ci"], "category": *f["category"], "impact": *f["impact"], "urgency": *f["urgency"], "group": *f["group"],
		"reporter": map[string]string{"name": *f["reporter-name"], "email": *f["reporter-email"], "slack_id": *f["reporter-slack"], "language": *f["language"]}}
	var inc intake.Incident
	if err := k.c.Do(k.ctx, "POST", "/api/v1/incidents", body, &inc); err != nil {
		return err
	}
	return k.printOne(&inc)
}

func incidentsAct(k *incidentCall) error {
	if len(k.pos) < 2 {
		return usageError{"usage: intakebot incidents act ID TEXT [--public]"}
	}
	return k.post("/actions", map[string]any{"text": strings.Join(k.pos[1:], " "), "public": *k.fl.public})
}

func incidentsMove(k *incidentCall) error {
	if err := k.need(2, "move ID STATE [--note TEXT]"); err != nil {
		return err
	}
	return k.post("/transitions", map[string]string{"to": k.pos[1], "note": *k.fl.note})
}

func incidentsClose(k *incidentCall) error {
	if err := k.need(1, "close ID [--note TEXT]"); err != nil {
		return err
	}
	return k.post("/transitions", map[string]string{"to": string(intake.Closed), "note": *k.fl.note})
}

func incidentsAssign(k *incidentCall) error {
	if err := k.need(2, "assign ID OWNER [--note TEXT]"); err != nil {
		return err
	}
	return k.post("/assign", map[string]string{"owner": k.pos[1], "note": *k.fl.note})
}

func incidentsEscalate(k *incidentCall) error {
	if err := k.need(1, "escalate ID [--group G] [--level N] [--note TEXT]"); err != nil {
		return err
	}
	return k.post("/escalate", map[string]any{"group": *k.fl.f["group"], "level": *k.fl.level, "note": *k.fl.note})
}

func incidentsRecategorize(k *incidentCall) error {
	if err := k.need(2, "recategorize ID CATEGORY [--note TEXT]"); err != nil {
		return err
	}
	return k.post("/recategorize", map[string]string{"category": k.pos[1], "note": *k.fl.note})
}

func incidentsGroup(k *incidentCall) error {
	if len(k.pos) < 2 {
		return usageError{"usage: intakebot incidents group PARENT CHILD... [--note TEXT]"}
	}
	return k.post("/children", map[string]any{"children": k.pos[1:], "note": *k.fl.note})
}

func incidentsUngroup(k *incidentCall) error {
	if err := k.need(1, "ungroup CHILD [--note TEXT]"); err != nil {
		return err
	}
	return k.post("/ungroup", map[string]string{"note": *k.fl.note})
}

func incidentsSurvey(k *incidentCall) error {
	rating := *k.fl.rating
	switch {
	case len(k.pos) == 2 && rating == 0:
		answer := strings.ToLower(k.pos[1])
		if answer != "yes" && answer != "no" {
			return usageError{"usage: intakebot incidents survey ID yes|no [--note TEXT]"}
		}
		return k.post("/survey", map[string]string{"step": intake.SurveyValidation, "answer": answer, "note": *k.fl.note})
	case len(k.pos) == 1 && rating != 0:
		return k.post("/survey", map[string]any{"step": intake.SurveySatisfaction, "rating": rating, "comment": *k.fl.f["comment"]})
	}
	return usageError{"usage: intakebot incidents survey ID yes|no [--note TEXT] | survey ID --rating 1-5 [--comment TEXT]"}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func printList(w io.Writer, list []intake.Incident, next string, zone *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPRIORITY\tSLA\tCATEGORY\tGROUP\tOWNER\tREPORTED\tSUBJECT")
	for _, inc := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.State, inc.Priority, dash(inc.SLAStatus()), inc.Category, inc.Group,
			dash(inc.Owner), formatTime(inc.ReportedAt, zone, "2006-01-02 15:04"), clipCell(inc.Subject, 60))
	}
	tw.Flush()
	if next != "" {
		fmt.Fprintf(w, "more: --cursor %s (or --all for every page)\n", next)
	}
}

// slaLine tells an incident's SLA flags, oldest first, e.g. "breached:
// response warning at ..., response breach at ...", or "-" when none.
func slaLine(inc *intake.Incident, zone *time.Location) string {
	var flags []string
	for f := range inc.Flags {
		if intake.SLAFlagStatus(f) != intake.SLAOK {
			flags = append(flags, f)
		}
	}
	if len(flags) == 0 {
		return "-"
	}
	slices.SortFunc(flags, func(a, b string) int { return cmp.Or(inc.Flags[a].Compare(inc.Flags[b]), strings.Compare(a, b)) })
	parts := make([]string, len(flags))
	for i, f := range flags {
		what := strings.ReplaceAll(strings.TrimPrefix(f, "sla_"), "_", " ")
		parts[i] = what + " at " + formatTime(inc.Flags[f], zone, time.DateTime)
	}
	return inc.SLAStatus() + ": " + strings.Join(parts, ", ")
}

func printIncident(w io.Writer, inc *intake.Incident, zone *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Incident", inc.ID)
	row("State", string(inc.State))
	row("SLA", slaLine(inc, zone))
	row("Subject", inc.Subject)
	reporter := []string{inc.Reporter.Name}
	if inc.Reporter.Email != "" {
		reporter = append(reporter, "<"+inc.Reporter.Email+">")
	}
	if inc.Reporter.SlackID != "" {
		reporter = append(reporter, "slack:"+inc.Reporter.SlackID)
	}
	row("Reporter", strings.TrimSpace(strings.Join(reporter, " "))+" ("+string(inc.Reporter.Language)+")")
	row("Channel", string(inc.Channel))
	row("Category", inc.Category)
	row("CI", dash(inc.CI))
	row("Impact/urgency", fmt.Sprintf("%s/%s -> %s", inc.Impact, inc.Urgency, inc.Priority))
	row("Group/level", fmt.Sprintf("%s / %d", inc.Group, inc.Level))
	row("Owner", dash(inc.Owner))
	row("Reported", formatTime(inc.ReportedAt, zone, time.DateTime))
	row("Registered", formatTime(inc.RegisteredAt, zone, time.DateTime))
	if inc.ClosedAt != nil {
		row("Closed", formatTime(*inc.ClosedAt, zone, time.DateTime))
	}
	row("Reopened", strconv.Itoa(inc.ReopenCount))
	if inc.RelatedID != "" {
		row("Related", inc.RelatedID)
	}
	if inc.KnownError != "" {
		row("Known error", inc.KnownError)
	}
	if inc.ParentID != "" {
		row("Outage", "grouped under "+inc.ParentID)
	}
	if len(inc.Children) > 0 {
		row("Outage", fmt.Sprintf("parent of %d: %s", len(inc.Children), strings.Join(inc.Children, " ")))
	}
	tw.Flush()
	if inc.Description != "" {
		fmt.Fprintf(w, "\n%s\n", inc.Description)
	}
	section := func(title string, n int) bool {
		if n > 0 {
			fmt.Fprintf(w, "\n%s:\n", title)
		}
		return n > 0
	}
	if section("Suggestions (score: matching words)", len(inc.Suggestions)) {
		for _, sg := range inc.Suggestions {
			kind := ""
			if sg.Kind == intake.SuggestKnownError {
				kind = "known error "
			}
			audience := "internal"
			if sg.Public {
				audience = "public"
			}
			fmt.Fprintf(w, "  %s%s  %s (%s, %s)  %.1f: %s\n", kind, sg.ID, sg.Title, sg.Lang, audience, sg.Score, strings.Join(sg.Terms, ", "))
		}
	}
	if section("Actions", len(inc.Actions)) {
		for _, a := range inc.Actions {
			told := ""
			if a.Public {
				told = " (to the reporter)"
			}
			fmt.Fprintf(w, "  %s  %s%s: %s\n", formatTime(a.At, zone, time.DateTime), a.Author, told, a.Text)
		}
	}
	if section("Comments", len(inc.Comments)) {
		for _, c := range inc.Comments {
			fmt.Fprintf(w, "  %s  %s (%s): %s\n", formatTime(c.At, zone, time.DateTime), c.Author, c.Via, c.Text)
		}
	}
	if section("Attachments", len(inc.Attachments)) {
		for _, a := range inc.Attachments {
			cut := ""
			if a.Truncated {
				cut = ", first bytes kept"
			}
			fmt.Fprintf(w, "  #%d  %s (%s, %d bytes%s)\n", a.Index, a.Name, a.Type, a.Size, cut)
		}
	}
	if section("Surveys", len(inc.Surveys)) {
		for _, s := range inc.Surveys {
			answer := s.Answer
			if s.Step == intake.SurveySatisfaction {
				answer = fmt.Sprintf("%d/5", s.Rating)
			}
			by := s.Via
			if s.Recorder != "" {
				by += ", recorded by " + s.Recorder
			}
			fmt.Fprintf(w, "  %s  %s: %s (%s) %s\n", formatTime(s.At, zone, time.DateTime), s.Step, answer, by, s.Comment)
		}
	}
	if section("History", len(inc.History)) {
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, h := range inc.History {
			move := ""
			if h.To != "" {
				move = fmt.Sprintf("%s -> %s", dash(string(h.From)), h.To)
			}
			via := ""
			if h.Via != "" {
				via = "via " + h.Via
			}
			note := strings.TrimSpace(h.Detail + "  " + h.Note)
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", formatTime(h.At, zone, time.DateTime), h.Actor, h.Event, move, via, note)
		}
		tw.Flush()
	}
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// clipCell cuts s to a table cell of n characters, marking the cut.
func clipCell(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
