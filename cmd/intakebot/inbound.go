package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/intakebot/intakebot/intake"
	"github.com/intakebot/intakebot/internal/config"
)

// inboundCmd lists what became of the messages that reached a channel.
func inboundCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) (err error) {
	const use = "usage: intakebot inbound list [--channel email|slack] [--limit N] [--cursor C] [--json] | inbound release KEY"
	if len(args) == 0 || (args[0] != "list" && args[0] != "release") {
		return usageError{use}
	}
	fs := newFlags("inbound list", stderr)
	api := addAPIFlags(fs, env)
	defer func() { err = api.fail(err, stderr) }() // with --json, errors are JSON too
	channel := fs.String("channel", "email", "channel")
	limit := fs.Int("limit", 50, "page size")
	cursor := fs.String("cursor", "", "cursor from the previous page")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if (args[0] == "list" && len(pos) != 0) || (args[0] == "release" && len(pos) != 1) {
		return usageError{use}
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	if args[0] == "release" {
		// A quarantined message, once released, is processed anew when it
		// is put back in the mailbox.
		var out map[string]string
		if err := c.Do(ctx, "POST", "/api/v1/inbound/release", map[string]string{"key": pos[0]}, &out); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "released %s: move the mail from the quarantine folder back to the inbox to process it again\n", pos[0])
		return nil
	}
	q := url.Values{"channel": {*channel}, "limit": {strconv.Itoa(*limit)}}
	if *cursor != "" {
		q.Set("cursor", *cursor)
	}
	var page struct {
		Messages []intake.InboundRecord `json:"messages"`
		Next     string                 `json:"next_cursor"`
	}
	if err := c.Do(ctx, "GET", "/api/v1/inbound?"+q.Encode(), nil, &page); err != nil {
		return err
	}
	if *api.json {
		return printJSON(stdout, page)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "AT\tOUTCOME\tINCIDENT\tFROM\tSUBJECT\tMESSAGE-ID\tREASON")
	for _, m := range page.Messages {
		outcome := m.Outcome
		if m.Step != "" {
			outcome += " (" + m.Step + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.At.Local().Format(time.DateTime), outcome, dash(m.Incident),
			dash(m.From), clipCell(m.Subject, 40), clipCell(m.MessageID, 40), m.Reason)
	}
	tw.Flush()
	if page.Next != "" {
		fmt.Fprintf(stdout, "more: --cursor %s\n", page.Next)
	}
	return nil
}
