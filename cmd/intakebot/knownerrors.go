package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/intake/kb"
	"github.com/intakebot/intakebot/internal/config"
)

const knownErrorsUsage = `Usage: intakebot known-errors COMMAND [flags]

  list [--status open|fixed]          every known error: id, status, incidents linked, symptom
  show KE-ID                          one known error with its cause, workaround and incidents
  add --symptom TEXT --workaround TEXT [--root-cause TEXT] [--ci CI,CI] [--lang en|es]
  add --from INC-ID --workaround TEXT [--root-cause TEXT]
                                      make one from an incident (its words are the symptom) and link it
  edit KE-ID [--symptom TEXT] [--workaround TEXT] [--root-cause TEXT] [--ci CI,CI] [--lang en|es] [--status open|fixed]
  fix KE-ID                           mark it fixed: it is no longer suggested
  rm KE-ID                            delete one no incident links to

Writing needs an admin or an editor. Every command takes --url, --token and --json
as the incidents commands do. To use one on an incident:
  intakebot incidents link ID KE-ID | unlink ID | apply-workaround ID [KE-ID]
`

// knownError is a known error as the API answers it, with its count.
type knownError struct {
	kb.KnownError
	Touched int `json:"touched"`
}

func knownErrorsCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, knownErrorsUsage)
		if len(args) == 0 {
			return usageError{"no known-errors command given"}
		}
		return nil
	}
	sub := args[0]
	fs := newFlags("known-errors "+sub, stderr)
	fs.Usage = func() { fmt.Fprint(stderr, knownErrorsUsage) }
	api := addAPIFlags(fs, env)
	f := map[string]*string{}
	for _, name := range []string{"status", "symptom", "workaround", "root-cause", "ci", "lang", "from"} {
		f[name] = fs.String(name, "", name)
	}
	tz := fs.String("tz", env["INTAKEBOT_DISPLAY_TIME_ZONE"], "time zone to show times in")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return api.fail(err, stderr)
	}
	want := map[string]int{"list": 0, "show": 1, "add": 0, "edit": 1, "fix": 1, "rm": 1}
	n, known := want[sub]
	if !known {
		fmt.Fprint(stderr, knownErrorsUsage)
		return usageError{fmt.Sprintf("unknown known-errors command %q", sub)}
	}
	if len(pos) != n {
		return api.fail(usageError{knownErrorsUsage}, stderr)
	}
	zone, err := displayZone(*tz)
	if err != nil {
		return api.fail(err, stderr)
	}
	c, err := api.client()
	if err != nil {
		return api.fail(err, stderr)
	}
	show := func(k kb.KnownError) error {
		if *api.json {
			return printJSON(stdout, k)
		}
		printKnownError(stdout, k, zone)
		return nil
	}
	path := func() string { return "/api/v1/known-errors/" + url.PathEscape(pos[0]) }
	set := func(name string) bool { return *f[name] != "" }
	run := func() error {
		switch sub {
		case "list":
			q := url.Values{}
			if set("status") {
				q.Set("status", *f["status"])
			}
			var out struct {
				KnownErrors []knownError `json:"known_errors"`
			}
			if err := c.Do(ctx, "GET", "/api/v1/known-errors?"+q.Encode(), nil, &out); err != nil {
				return err
			}
			if *api.json {
				return printJSON(stdout, out)
			}
			if len(out.KnownErrors) == 0 {
				fmt.Fprintln(stdout, "No known errors. Make one with: intakebot known-errors add --from INC-ID --workaround TEXT")
				return nil
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSTATUS\tLANG\tINCIDENTS\tSYMPTOM")
			for _, k := range out.KnownErrors {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", k.ID, k.Status, k.Lang, k.Touched, firstLine(k.Symptom))
			}
			return tw.Flush()
		case "show":
			var k kb.KnownError
			if err := c.Do(ctx, "GET", path(), nil, &k); err != nil {
				return err
			}
			return show(k)
		case "add":
			body := map[string]any{"workaround": *f["workaround"], "root_cause": *f["root-cause"]}
			if set("from") {
				if set("symptom") || set("ci") || set("lang") {
					return usageError{"add --from takes the symptom, language and CI from the incident: leave out --symptom, --ci and --lang"}
				}
				body["from_incident"] = *f["from"]
			} else {
				body["symptom"], body["lang"], body["cis"] = *f["symptom"], cmp.Or(*f["lang"], "en"), splitList(*f["ci"])
			}
			var k kb.KnownError
			if err := c.Do(ctx, "POST", "/api/v1/known-errors", body, &k); err != nil {
				return err
			}
			return show(k)
		case "edit", "fix":
			var k kb.KnownError
			if err := c.Do(ctx, "GET", path(), nil, &k); err != nil {
				return err
			}
			if sub == "fix" {
				k.Status = kb.KEFixed
			}
			for name, field := range map[string]*string{"symptom": &k.Symptom, "workaround": &k.Workaround, "root-cause": &k.RootCause} {
				if set(name) {
					*field = *f[name]
				}
			}
			if set("lang") {
				k.Lang = intake.Lang(*f["lang"])
			}
			if set("status") {
				k.Status = kb.KEStatus(*f["status"])
			}
			if set("ci") {
				k.CIs = splitList(*f["ci"])
			}
			body := map[string]any{"version": k.Version, "lang": k.Lang, "symptom": k.Symptom, "root_cause": k.RootCause,
				"workaround": k.Workaround, "cis": k.CIs, "status": k.Status}
			if err := c.Do(ctx, "PUT", path(), body, &k); err != nil {
				return err
			}
			return show(k)
		case "rm":
			var out map[string]string
			if err := c.Do(ctx, "DELETE", path(), nil, &out); err != nil {
				return err
			}
			if *api.json {
				return printJSON(stdout, out)
			}
			fmt.Fprintf(stdout, "deleted %s\n", pos[0])
		}
		return nil
	}
	return api.fail(run(), stderr)
}

func printKnownError(w io.Writer, k kb.KnownError, zone *time.Location) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("Known error", k.ID)
	row("Status", string(k.Status))
	row("Language", string(k.Lang))
	row("CIs", dash(strings.Join(k.CIs, ", ")))
	row("Incidents", strconv.Itoa(len(k.Incidents))+" "+strings.Join(k.Incidents, " "))
	if k.From != "" {
		row("Made from", k.From)
	}
	row("Author", dash(k.Author))
	row("Updated", formatTime(k.Updated, zone, time.DateTime)+" (version "+strconv.Itoa(k.Version)+")")
	tw.Flush()
	fmt.Fprintf(w, "\nSymptom:\n%s\n", k.Symptom)
	if k.RootCause != "" {
		fmt.Fprintf(w, "\nRoot cause:\n%s\n", k.RootCause)
	}
	fmt.Fprintf(w, "\nWorkaround:\n%s\n", k.Workaround)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	if r := []rune(line); len(r) > 70 {
		return string(r[:69]) + "…"
	}
	return line
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func incidentsLink(k *incidentCall) error {
	if err := k.need(2, "link ID KE-ID [--note TEXT]"); err != nil {
		return err
	}
	var inc intake.Incident
	if err := k.c.Do(k.ctx, "PUT", k.path("/known-error"), map[string]string{"known_error": k.pos[1], "note": *k.fl.note}, &inc); err != nil {
		return err
	}
	return k.printOne(&inc)
}

func incidentsUnlink(k *incidentCall) error {
	if err := k.need(1, "unlink ID"); err != nil {
		return err
	}
	var inc intake.Incident
	if err := k.c.Do(k.ctx, "DELETE", k.path("/known-error"), nil, &inc); err != nil {
		return err
	}
	return k.printOne(&inc)
}

// incidentsApplyWorkaround records a known error's workaround as an
// action on the incident (the linked one's when none is named).
func incidentsApplyWorkaround(k *incidentCall) error {
	if len(k.pos) != 1 && len(k.pos) != 2 {
		return usageError{"usage: intakebot incidents apply-workaround ID [KE-ID]"}
	}
	body := map[string]string{}
	if len(k.pos) == 2 {
		body["known_error"] = k.pos[1]
	}
	return k.post("/workaround", body)
}
