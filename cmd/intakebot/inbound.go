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
)

// inboundCmd lists what became of the messages that reached a channel.
func inboundCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) (string, bool)) error {
	const use = "usage: intakebot inbound list [--channel email|slack] [--limit N] [--cursor C] [--json]"
	if len(args) == 0 || args[0] != "list" {
		return usageError{use}
	}
	fs := newFlags("inbound list", stderr)
	api := addAPIFlags(fs, env)
	channel := fs.String("channel", "email", "channel")
	limit := fs.Int("limit", 50, "page size")
	cursor := fs.String("cursor", "", "cursor from the previous page")
	if pos, err := parse(fs, args[1:]); err != nil {
		return err
	} else if len(pos) != 0 {
		return usageError{use}
	}
	c, err := api.client()
	if err != nil {
		return err
	}
	q := url.Values{"channel": {*channel}, "limit": {strconv.Itoa(*limit)}}
	if *cursor != "" {
		q.Set("cursor", *cursor)
	}
	var page struct {
		Messages []intake.InboundRecord `json:"messages"`
		Next     string                 `json:"next_cursor"`
	}
	if err := c.do(ctx, "GET", "/api/v1/inbound?"+q.Encode(), nil, &page); err != nil {
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
			dash(m.From), clip(m.Subject, 40), clip(m.MessageID, 40), m.Reason)
	}
	tw.Flush()
	if page.Next != "" {
		fmt.Fprintf(stdout, "more: --cursor %s\n", page.Next)
	}
	return nil
}
