package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/intakebot/intakebot/internal/config"
)

// healthCmd asks a running intakebot's /healthz, for a container's health
// check: the image has no curl. The address comes from --url, else
// http.listen as configured (a wildcard address is asked on loopback).
func healthCmd(ctx context.Context, args []string, stdout, stderr io.Writer, env config.Env) error {
	fs := newFlags("health", stderr)
	url := fs.String("url", "", "base URL of the running intakebot (default: from http.listen)")
	configPath := fs.String("config", "", "YAML configuration file, for http.listen")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the answer")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError{"usage: intakebot health [--url URL | --config FILE] [--timeout 5s]"}
	}
	base := *url
	if base == "" {
		cfg, _, err := config.Load(*configPath, env)
		if err != nil {
			return invalidConfig(err)
		}
		base = "http://" + probeAddr(cfg.HTTP.Listen)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s/healthz answered %s", base, resp.Status)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// probeAddr is the address to ask a server that listens on addr: a
// wildcard host (0.0.0.0, [::], none) is reached on loopback.
func probeAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
