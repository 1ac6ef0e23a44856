package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/apiclient"
	"github.com/intakebot/intakebot/internal/config"
)

const incidentsUsage = `Usage: intakebot incidents COMMAND [flags]

  list [--state S] [--priority P] [--group G] [--owner O] [--limit N] [--cursor C]
  show ID
  create --subject TEXT [--description TEXT] [--reporter-name N] [--reporter-email E]
         [--reporter-slack U] [--language en|es] [--channel phone|web|email|slack|event]
         [--ci CI] [--category C] [--impact L] [--urgency L] [--group G]
  act ID TEXT                         add an action (work note)
  move ID solution|validation|closed [--note TEXT]
  assign ID OWNER [--note TEXT]
  escalate ID [--group G] [--level 1-3] [--note TEXT]
  recategorize ID CATEGORY [--note TEXT]
  survey ID yes|no [--note TEXT]      record the reporter's validation answer given by phone
  survey ID --rating 1-5 [--comment TEXT]
  close ID [--note TEXT]

Every command takes --url (default $INTAKEBOT_URL or http://127.0.0.1:8080),
--token (default $INTAKEBOT_TOKEN) and --json (print the API's JSON).
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

// incidentsFlags are the flags of every incidents command.
type incidentsFlags struct {
	api                  apiFlags
	note                 *string
	f                    map[string]*string // the text flags, by name
	limit, level, rating *int
}

func newIncidentsFlags(fs *flag.FlagSet, env config.Env) incidentsFlags {
	fl := incidentsFlags{api: addAPIFlags(fs, env), note: fs.String("note", "", "note"), f: map[string]*string{}}
	for _, name := range []string{"state", "priority", "group", "owner", "cursor", "subject", "description", "reporter-name",
		"reporter-email", "reporter-slack", "language", "channel", "ci", "category", "impact", "urgency", "comment"} {
		fl.f[name] = fs.String(name, "", name)
	}
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
	stdout io.Writer
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
	fmt.Fprintf(k.stdout, "%s  %s  %s  owner: %s  %s\n", inc.ID, inc.State, inc.Priority, cmp.Or(inc.Owner, "nobody"), inc.Subject)
	return nil
}

// incidentCommand is the incidents subcommand of that name, or nil.
func incidentCommand(name string) func(*incidentCall) error {
	return map[string]func(*incidentCall) error{
		"list": incidentsList, "show": incidentsShow, "create": incidentsCreate, "act": incidentsAct,
		"move": incidentsMove, "close": incidentsClose, "assign": incidentsAssign, "escalate": incidentsEscalate,
		"recategorize": incidentsRecategorize, "survey": incidentsSurvey,
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
		return err
	}
	c, err := fl.api.client()
	if err != nil {
		return err
	}
	return cmd(&incidentCall{ctx: ctx, c: c, pos: pos, fl: fl, stdout: stdout})
}

func incidentsList(k *incidentCall) error {
	if err := k.need(0, "list [--state S] [--priority P] [--group G] [--owner O] [--limit N] [--cursor C]"); err != nil {
		return err
	}
	q := url.Values{}
	for _, name := range []string{"state", "priority", "group", "owner", "cursor"} {
		if v := *k.fl.f[name]; v != "" {
			q.Set(name, v)
		}
	}
	if *k.fl.limit > 0 {
		q.Set("limit", strconv.Itoa(*k.fl.limit))
	}
	var page struct {
		Incidents []intake.Incident `json:"incidents"`
		Next      string            `json:"next_cursor"`
	}
	if err := k.c.Do(k.ctx, "GET", "/api/v1/incidents?"+q.Encode(), nil, &page); err != nil {
		return err
	}
	if *k.fl.api.json {
		return printJSON(k.stdout, page)
	}
	printList(k.stdout, page.Incidents, page.Next)
	return nil
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
	printIncident(k.stdout, &inc)
	return nil
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
		return usageError{"usage: intakebot incidents act ID TEXT"}
	}
	return k.post("/actions", map[string]string{"text": strings.Join(k.pos[1:], " ")})
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

func printList(w io.Writer, list []intake.Incident, next string) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tPRIORITY\tCATEGORY\tGROUP\tOWNER\tREPORTED\tSUBJECT")
	for _, inc := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.State, inc.Priority, inc.Category, inc.Group,
			dash(inc.Owner), inc.ReportedAt.Local().Format("2006-01-02 15:04"), clipCell(inc.Subject, 60))
	}
	tw.Flush()
	if next != "" {
		fmt.Fprintf(w, "more: --cursor %s\n", next)
	}
}

func printIncident(w io.Writer, inc *intake.Incident) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s\t%s\n", k, v) }
	row("Incident", inc.ID)
	row("State", string(inc.State))
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
	row("Reported", inc.ReportedAt.Local().Format(time.DateTime))
	row("Registered", inc.RegisteredAt.Local().Format(time.DateTime))
	if inc.ClosedAt != nil {
		row("Closed", inc.ClosedAt.Local().Format(time.DateTime))
	}
	row("Reopened", strconv.Itoa(inc.ReopenCount))
	if inc.RelatedID != "" {
		row("Related", inc.RelatedID)
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
	if section("Actions", len(inc.Actions)) {
		for _, a := range inc.Actions {
			fmt.Fprintf(w, "  %s  %s: %s\n", a.At.Local().Format(time.DateTime), a.Author, a.Text)
		}
	}
	if section("Comments", len(inc.Comments)) {
		for _, c := range inc.Comments {
			fmt.Fprintf(w, "  %s  %s (%s): %s\n", c.At.Local().Format(time.DateTime), c.Author, c.Via, c.Text)
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
			fmt.Fprintf(w, "  %s  %s: %s (%s) %s\n", s.At.Local().Format(time.DateTime), s.Step, answer, by, s.Comment)
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
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", h.At.Local().Format(time.DateTime), h.Actor, h.Event, move, via, note)
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
