package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/intakebot/intakebot/internal/config"
)

// configCmd is "intakebot config example|check".
func configCmd(args []string, stdout, stderr io.Writer, env config.Env) error {
	const use = "usage: intakebot config example | config check [--config FILE]"
	if len(args) == 0 {
		return usageError{use}
	}
	switch args[0] {
	case "example":
		if len(args) != 1 {
			return usageError{use}
		}
		_, err := stdout.Write(config.Default())
		return err
	case "check":
		fs := newFlags("config check", stderr)
		configPath := fs.String("config", "", "YAML configuration file (default: embedded defaults)")
		if pos, err := parse(fs, args[1:]); err != nil {
			return err
		} else if len(pos) > 0 {
			return usageError{use}
		}
		return configCheck(*configPath, stdout, env)
	}
	return usageError{use}
}

// errInvalidConfig ends "config check" with status 1 once the problems
// are listed.
var errInvalidConfig = errors.New("the configuration has problems (listed above)")

// configCheck loads and validates the configuration as serve would and
// lists every problem and warning.
func configCheck(path string, stdout io.Writer, env config.Env) error {
	cfg, warnings, err := config.Load(path, env)
	for _, w := range warnings {
		fmt.Fprintln(stdout, "warning:", w)
	}
	var probs config.Problems
	switch {
	case errors.As(err, &probs):
	case err != nil:
		return err
	default:
		probs = cfg.Validate()
	}
	for _, p := range probs {
		fmt.Fprintln(stdout, "error:", p)
	}
	if len(probs) > 0 {
		return errInvalidConfig
	}
	fmt.Fprintln(stdout, "configuration OK")
	return nil
}

// invalidConfig introduces the list of problems, one a line.
func invalidConfig(err error) error {
	var probs config.Problems
	if errors.As(err, &probs) {
		return fmt.Errorf("the configuration has problems (intakebot config check lists them):\n  %w", indented(probs))
	}
	return err
}

// indented is Problems printed one a line, indented under the first.
type indented config.Problems

func (ps indented) Error() string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "\n  "
		}
		s += p.String()
	}
	return s
}

func (ps indented) Unwrap() error { return config.Problems(ps) }
