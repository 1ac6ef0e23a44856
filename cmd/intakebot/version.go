package main

import (
	"fmt"
	"io"
	"runtime/debug"
)

// versionCmd prints what the binary was built from, as Go recorded it.
func versionCmd(args []string, stdout io.Writer) error {
	if len(args) > 0 {
		return usageError{"usage: intakebot version"}
	}
	version, commit, goVersion := "unknown", "unknown", "unknown"
	modified := false
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if v := info.Main.Version; v != "" {
			version = v // "(devel)" for a build from a checkout; the commit tells which
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				commit = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	if modified {
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(stdout, "intakebot %s\ncommit %s\n%s\n", version, commit, goVersion)
	return nil
}
