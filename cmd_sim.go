package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/httpserve"
)

func simFlags(prefix string, listenDefault string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: prefix + "listen", EnvVars: []string{"SIM_LISTEN_ADDRESS"}, Value: listenDefault, Usage: "address of the emulated Cattle API"},
		&cli.StringFlag{Name: "seed", EnvVars: []string{"SIM_SEED"}, Value: "demo", Usage: "initial state: demo or empty"},
		&cli.StringFlag{Name: "access-key", EnvVars: []string{"SIM_ACCESS_KEY"}, Value: "demo-access-key", Usage: "access key of project 1a5's environment key"},
		&cli.StringFlag{Name: "secret-key", EnvVars: []string{"SIM_SECRET_KEY"}, Value: "demo-secret-key", Usage: "secret key of project 1a5's environment key"},
		&cli.DurationFlag{Name: "step", EnvVars: []string{"SIM_STEP"}, Value: 200 * time.Millisecond, Usage: "duration of one state-machine transition"},
		&cli.DurationFlag{Name: "sim-ping-interval", EnvVars: []string{"SIM_PING_INTERVAL"}, Value: 5 * time.Second, Usage: "period of the subscribe websocket's ping event"},
		&cli.DurationFlag{Name: "max-connection-lifetime", EnvVars: []string{"SIM_MAX_CONNECTION_LIFETIME"}, Usage: "close subscriptions after this long (0 = never)"},
	}
}

func simCommand() *cli.Command {
	flags := append(simFlags("", "127.0.0.1:8080"),
		&cli.StringFlag{Name: "log-level", EnvVars: []string{"LOG_LEVEL"}, Value: "info", Usage: "debug, info, warn or error"},
	)
	return &cli.Command{
		Name:  "sim",
		Usage: "run cattlesim, the Cattle emulator, alone",
		Flags: flags,
		Action: func(c *cli.Context) error {
			log, err := newLogger(c.String("log-level"), "text")
			if err != nil {
				return err
			}
			sim, info, ln, err := startSim(c, "listen", log)
			if err != nil {
				return err
			}
			defer sim.Close()
			printSimInfo(c.App.Writer, ln.Addr().String(), info)
			return serveSim(c.Context, sim, ln, log)
		},
	}
}

// startSim builds and seeds the emulator and opens its listener, so that its address is known (and a port
// conflict reported) before anything runs.
func startSim(c *cli.Context, listenFlag string, log logrus.FieldLogger) (*cattlesim.Sim, *cattlesim.SeedInfo, net.Listener, error) {
	seed := c.String("seed")
	if seed != "demo" && seed != "empty" {
		return nil, nil, nil, fmt.Errorf("--seed must be demo or empty, got %q", seed)
	}
	sim := cattlesim.New(cattlesim.Options{
		Timings:               cattlesim.Timings{Step: c.Duration("step")},
		PingInterval:          c.Duration("sim-ping-interval"),
		MaxConnectionLifetime: c.Duration("max-connection-lifetime"),
		Logger:                log,
	})
	info, err := sim.Seed(seed, cattlesim.SeedOptions{AccessKey: c.String("access-key"), SecretKey: c.String("secret-key")})
	if err != nil {
		sim.Close()
		return nil, nil, nil, fmt.Errorf("seed cattlesim: %w", err)
	}
	ln, err := net.Listen("tcp", c.String(listenFlag))
	if err != nil {
		sim.Close()
		return nil, nil, nil, fmt.Errorf("listen for cattlesim: %w", err)
	}
	return sim, info, ln, nil
}

// serveSim serves the emulator on ln until ctx ends, with the event hub running beside it. The server is
// httpserve's: a header read timeout but no read or write timeout, since the subscribe websockets are
// long-lived connections.
func serveSim(ctx context.Context, sim *cattlesim.Sim, ln net.Listener, log logrus.FieldLogger) error {
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return sim.Run(gctx) })
	g.Go(func() error {
		return httpserve.Serve(gctx, ln, sim.Handler(), httpserve.Options{
			Name:              "cattlesim",
			Logger:            log,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			ShutdownTimeout:   5 * time.Second,
		})
	})
	return g.Wait()
}

func printSimInfo(w io.Writer, addr string, info *cattlesim.SeedInfo) {
	fmt.Fprintf(w, "cattlesim listening on http://%s (CATTLE_URL=http://%s/v1)\n", addr, addr)
	for _, k := range info.Credentials {
		fmt.Fprintf(w, "  key %-8s account %-4s access=%s secret=%s\n", k.Kind, cattlesim.FormatID("account", k.AccountID), k.AccessKey, k.SecretKey)
	}
}
