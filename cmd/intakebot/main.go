// Command intakebot runs the help-desk intake bot (serve) and talks to a
// running one as an agent (incidents ...), or administers it (agents add).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/intakebot/intakebot/internal/config"
)

const usage = `intakebot: help-desk incident intake

Usage:
  intakebot serve [--config FILE]            run the bot (no config: embedded store and a local mail server)
  intakebot demo [--step-timeout 30s]        walk two incidents (English, Spanish) through the service model, locally
  intakebot agents add|list|revoke|rotate|passwd ...
                                             administer agents in Redis (see: intakebot agents help)
  intakebot incidents list|show|attachment|create|act|move|assign|escalate|recategorize|survey|close ...
                                             work incidents through the API (see: intakebot incidents help)
  intakebot local send --subject S --body B  report as the demo user to a local-mode serve (see: intakebot local help)
  intakebot local inbox                      the demo user's mails from the help desk, newest first, with their links
  intakebot kb list|show|add|edit|rm|import DIR|export DIR|seed   the knowledge base (see: intakebot kb help)
  intakebot known-errors list|show|add|edit|fix|rm ...   known errors through the API (see: intakebot known-errors help)
  intakebot inbound list [--channel email]   what became of each inbound message, newest first
  intakebot archive [--dry-run]              move incidents closed longer than retention.closed_after to archive files
  intakebot config example                   print a commented example configuration
  intakebot config check [--config FILE]     list every problem of the configuration (with the environment); exit 1 if any
  intakebot version                          print the version, commit and Go version
  intakebot health [--url URL]               exit 0 when a running intakebot answers /healthz (container health checks)
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, config.Environ(os.Environ()))
	stop()
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		if !errors.As(err, new(toldError)) {
			fmt.Fprintln(os.Stderr, "intakebot:", err)
		}
		var u usageError
		if errors.As(err, &u) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (u usageError) Error() string { return u.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], stdout, stderr, env)
	case "demo":
		return demoCmd(ctx, args[1:], stdout, stderr)
	case "agents":
		return agentsCmd(ctx, args[1:], os.Stdin, stdout, stderr, env)
	case "incidents":
		return incidentsCmd(ctx, args[1:], stdout, stderr, env)
	case "local":
		return localCmd(ctx, args[1:], stdout, stderr, env)
	case "kb":
		return kbCmd(ctx, args[1:], stdout, stderr, env)
	case "known-errors":
		return knownErrorsCmd(ctx, args[1:], stdout, stderr, env)
	case "inbound":
		return inboundCmd(ctx, args[1:], stdout, stderr, env)
	case "archive":
		return archiveCmd(ctx, args[1:], stdout, stderr, env)
	case "config":
		return configCmd(args[1:], stdout, stderr, env)
	case "version":
		return versionCmd(args[1:], stdout)
	case "health":
		return healthCmd(ctx, args[1:], stdout, stderr, env)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags wherever they stand among the positional arguments,
// so that "move INC-000001 solution --note x" works as typed.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
