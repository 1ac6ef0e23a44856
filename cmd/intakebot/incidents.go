package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/intake"
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

func addAPIFlags(fs *flag.FlagSet, env func(string) (string, bool)) apiFlags {
	defURL, ok := env("INTAKEBOT_URL")
	if !ok {
		defURL = "http://127.0.0.1:8080"
	}
	defToken, _ := env("INTAKEBOT_TOKEN")
	return apiFlags{
		url:   fs.String("url", defURL, "API base URL"),
		token: fs.String("token", defToken, "API token"),
		json:  fs.Bool("json", false, "print JSON"),
	}
}

func (a apiFlags) client() (*apiClient, error) {
	if *a.token == "" {
		return nil, usageError{"no API token: pass --token or set INTAKEBOT_TOKEN"}
	}
	return &apiClient{base: *a.url, token: *a.token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// apiClient talks to a running intakebot's API.
type apiClient struct {
	base, token string
	http        *http.Client
}

// apiError is an error answer of the API.
type apiError struct {
	Status int
	Code   string `json:"code"`
	Msg    string `json:"error"`
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Msg) }

func (c *apiClient) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(raw, e) != nil || e.Msg == "" {
			e.Code, e.Msg = http.StatusText(resp.StatusCode), strings.TrimSpace(string(raw))
		}
		return e
	}
	return json.Unmarshal(raw, out)
}

func incidentsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, incidentsUsage)
		if len(args) == 0 {
			return usageError{"no incidents command given"}
		}
		return nil
	}
	cmd := args[0]
	fs := newFlags("incidents "+cmd, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, incidentsUsage) }
	api := addAPIFlags(fs, env)
	asJSON := api.json
	note := fs.String("note", "", "note")
	f := map[string]*string{}
	for _, name := range []string{"state", "priority", "group", "owner", "cursor", "subject", "description", "reporter-name",
		"reporter-email", "reporter-slack", "language", "channel", "ci", "category", "impact", "urgency", "comment"} {
		f[name] = fs.String(name, "", name)
	}
	limit := fs.Int("limit", 0, "page size")
	level := fs.Int("level", 0, "support level 1-3")
	rating := fs.Int("rating", 0, "satisfaction rating 1-5")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	need := func(n int, form string) error {
		if len(pos) != n {
			return usageError{"usage: intakebot incidents " + form}
		}
		return nil
	}
	var inc intake.Incident
	path := func(suffix string) string { return "/api/v1/incidents/" + url.PathEscape(pos[0]) + suffix }
	switch cmd {
	case "list":
		if err := need(0, "list [--state S] [--priority P] [--group G] [--owner O] [--limit N] [--cursor C]"); err != nil {
			return err
		}
		q := url.Values{}
		for _, k := range []string{"state", "priority", "group", "owner", "cursor"} {
			if *f[k] != "" {
				q.Set(k, *f[k])
			}
		}
		if *limit > 0 {
			q.Set("limit", strconv.Itoa(*limit))
		}
		var page struct {
			Incidents []intake.Incident `json:"incidents"`
			Next      string            `json:"next_cursor"`
		}
		if err := c.do(ctx, "GET", "/api/v1/incidents?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, page)
		}
		printList(stdout, page.Incidents, page.Next)
		return nil
	case "show":
		if err := need(1, "show ID"); err != nil {
			return err
		}
		if err := c.do(ctx, "GET", path(""), nil, &inc); err != nil {
			return err
		}
		if *asJSON {
			return printJSON(stdout, inc)
		}
		printIncident(stdout, &inc)
		return nil
	case "create":
		if err := need(0, "create --subject TEXT ..."); err != nil {
			return err
		}
		body := map[string]any{"subject": *f["subject"], "description": *f["description"], "channel": *f["channel"],
			"ci": *f["ci"], "category": *f["category"], "impact": *f["impact"], "urgency": *f["urgency"], "group": *f["group"],
			"reporter": map[string]string{"name": *f["reporter-name"], "email": *f["reporter-email"], "slack_id": *f["reporter-slack"], "language": *f["language"]}}
		err = c.do(ctx, "POST", "/api/v1/incidents", body, &inc)
	case "act":
		if len(pos) < 2 {
			return usageError{"usage: intakebot incidents act ID TEXT"}
		}
		err = c.do(ctx, "POST", path("/actions"), map[string]string{"text": strings.Join(pos[1:], " ")}, &inc)
	case "move":
		if err := need(2, "move ID STATE [--note TEXT]"); err != nil {
			return err
		}
		err = c.do(ctx, "POST", path("/transitions"), map[string]string{"to": pos[1], "note": *note}, &inc)
	case "close":
		if err := need(1, "close ID [--note TEXT]"); err != nil {
			return err
		}
		err = c.do(ctx, "POST", path("/transitions"), map[string]string{"to": string(intake.Closed), "note": *note}, &inc)
	case "assign":
		if err := need(2, "assign ID OWNER [--note TEXT]"); err != nil {
			return err
		}
		err = c.do(ctx, "POST", path("/assign"), map[string]string{"owner": pos[1], "note": *note}, &inc)
	case "escalate":
		if err := need(1, "escalate ID [--group G] [--level N] [--note TEXT]"); err != nil {
			return err
		}
		err = c.do(ctx, "POST", path("/escalate"), map[string]any{"group": *f["group"], "level": *level, "note": *note}, &inc)
	case "recategorize":
		if err := need(2, "recategorize ID CATEGORY [--note TEXT]"); err != nil {
			return err
		}
		err = c.do(ctx, "POST", path("/recategorize"), map[string]string{"category": pos[1], "note": *note}, &inc)
	case "survey":
		switch {
		case len(pos) == 2 && *rating == 0:
			answer := strings.ToLower(pos[1])
			if answer != "yes" && answer != "no" {
				return usageError{"usage: intakebot incidents survey ID yes|no [--note TEXT]"}
			}
			err = c.do(ctx, "POST", path("/survey"), map[string]string{"step": intake.SurveyValidation, "answer": answer, "note": *note}, &inc)
		case len(pos) == 1 && *rating != 0:
			err = c.do(ctx, "POST", path("/survey"), map[string]any{"step": intake.SurveySatisfaction, "rating": *rating, "comment": *f["comment"]}, &inc)
		default:
			return usageError{"usage: intakebot incidents survey ID yes|no [--note TEXT] | survey ID --rating 1-5 [--comment TEXT]"}
		}
	default:
		fmt.Fprint(stderr, incidentsUsage)
		return usageError{fmt.Sprintf("unknown incidents command %q", cmd)}
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, inc)
	}
	owner := inc.Owner
	if owner == "" {
		owner = "nobody"
	}
	fmt.Fprintf(stdout, "%s  %s  %s  owner: %s  %s\n", inc.ID, inc.State, inc.Priority, owner, inc.Subject)
	return nil
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
			dash(inc.Owner), inc.ReportedAt.Local().Format("2006-01-02 15:04"), clip(inc.Subject, 60))
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

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
