// Command scale-subscriber listens to Rancher 1.x (Cattle) events and serves receiver hooks that scale services
// and hosts and upgrade services on image pushes. See README.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"

	"github.com/rancher/scale-subscriber/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newApp().RunContext(ctx, os.Args)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "scale-subscriber: %v\n", err)
		os.Exit(1)
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "scale-subscriber",
		Usage:   "Rancher receiver hooks: scale services and hosts, upgrade services on image push",
		Version: version.String(),
		// run is the default command: `scale-subscriber` with no command behaves like `scale-subscriber run`.
		Action:   runAction,
		Flags:    runFlags(),
		Commands: []*cli.Command{runCommand(), simCommand(), devCommand()},
		// Errors are printed once, by main, with a non-zero exit.
		ExitErrHandler: func(*cli.Context, error) {},
	}
}

// newLogger builds the process logger from --log-level and --log-format.
func newLogger(level, format string) (*logrus.Logger, error) {
	log := logrus.New()
	log.SetOutput(os.Stderr)
	lvl, err := logrus.ParseLevel(level)
	if err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	log.SetLevel(lvl)
	switch strings.ToLower(format) {
	case "", "text":
		log.SetFormatter(&logrus.TextFormatter{FullTimestamp: true})
	case "json":
		log.SetFormatter(&logrus.JSONFormatter{})
	default:
		return nil, errors.New("log format must be text or json")
	}
	return log, nil
}
