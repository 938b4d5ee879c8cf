package main

import (
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/rancher/scale-subscriber/config"
)

// parseRun parses args (after "run") with the run flags, as the run command does, and returns the config.
func parseRun(t *testing.T, args ...string) config.Config {
	t.Helper()
	var cfg config.Config
	app := &cli.App{Flags: runFlags(), Action: func(c *cli.Context) error {
		cfg = configFromFlags(c)
		return nil
	}}
	if err := app.Run(append([]string{"scale-subscriber"}, args...)); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return cfg
}

// --host-create-settle-window (HOST_CREATE_SETTLE_WINDOW) reaches the config, a minute when unset; the flag wins
// over the environment.
func TestHostCreateSettleWindowFlag(t *testing.T) {
	t.Setenv("HOST_CREATE_SETTLE_WINDOW", "")
	if got := parseRun(t).HostCreateSettleWindow; got != time.Minute {
		t.Errorf("default: %s, want 1m", got)
	}
	t.Setenv("HOST_CREATE_SETTLE_WINDOW", "90s")
	if got := parseRun(t).HostCreateSettleWindow; got != 90*time.Second {
		t.Errorf("from the environment: %s, want 1m30s", got)
	}
	if got := parseRun(t, "--host-create-settle-window", "2m").HostCreateSettleWindow; got != 2*time.Minute {
		t.Errorf("from the flag: %s, want 2m", got)
	}
}
