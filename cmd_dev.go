package main

import (
	"fmt"
	"io"
	"net"

	"github.com/urfave/cli/v2"
	"golang.org/x/sync/errgroup"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/config"
)

func devCommand() *cli.Command {
	d := config.Defaults()
	flags := append(simFlags("sim-", "127.0.0.1:8080"),
		&cli.StringFlag{Name: "listen", EnvVars: []string{"LISTEN_ADDRESS"}, Value: "127.0.0.1:8085", Usage: "address of the receivers API"},
		&cli.StringFlag{Name: "health-listen", EnvVars: []string{"HEALTH_LISTEN_ADDRESS"}, Value: "127.0.0.1:10240", Usage: "address of /healthcheck, /healthz and /metrics"},
		&cli.IntFlag{Name: "workers", EnvVars: []string{"WORKERS"}, Value: d.Workers, Usage: "number of queue workers"},
		&cli.StringFlag{Name: "log-level", EnvVars: []string{"LOG_LEVEL"}, Value: "info", Usage: "debug, info, warn or error"},
	)
	return &cli.Command{
		Name:  "dev",
		Usage: "run cattlesim on loopback with the demo seed and the service against it",
		Flags: flags,
		Action: func(c *cli.Context) error {
			log, err := newLogger(c.String("log-level"), "text")
			if err != nil {
				return err
			}
			sim, info, simLn, err := startSim(c, "sim-listen", log.WithField("component", "cattlesim"))
			if err != nil {
				return err
			}
			defer sim.Close()
			healthLn, err := net.Listen("tcp", c.String("health-listen"))
			if err != nil {
				return fmt.Errorf("listen for healthcheck: %w", err)
			}
			simAddr := simLn.Addr().String()
			cfg := config.Defaults()
			cfg.CattleURL = "http://" + simAddr + "/v1"
			cfg.AccessKey = info.Credentials[0].AccessKey
			cfg.SecretKey = info.Credentials[0].SecretKey
			cfg.ListenAddress = c.String("listen")
			cfg.HealthListenAddress = healthLn.Addr().String()
			cfg.Workers = c.Int("workers")

			g, gctx := errgroup.WithContext(c.Context)
			g.Go(func() error { return serveSim(gctx, sim, simLn) })
			a, err := app.New(gctx, app.Options{Config: cfg, Logger: log, HealthListener: healthLn})
			if err != nil {
				_ = healthLn.Close()
				return fmt.Errorf("start service against cattlesim: %w (stop with Ctrl-C)", err)
			}
			printDevInfo(c.App.Writer, simAddr, healthLn.Addr().String(), cfg)
			printSimInfo(c.App.Writer, simAddr, info)
			g.Go(func() error { return a.Run(gctx) })
			return g.Wait()
		},
	}
}

func printDevInfo(w io.Writer, simAddr, healthAddr string, cfg config.Config) {
	fmt.Fprintf(w, `scale-subscriber dev: the service runs against cattlesim (demo seed, project 1a5)
  service health  http://%[2]s/healthcheck   metrics http://%[2]s/metrics
  cattlesim API   http://%[1]s/v2-beta/projects/1a5   (Basic auth: %[3]s:%[4]s)

Try:
  curl -s http://%[2]s/healthcheck
  curl -s -u %[3]s:%[4]s http://%[1]s/v2-beta/projects/1a5/services | head -c 600
  curl -s -u %[3]s:%[4]s -X PUT -H 'Content-Type: application/json' -d '{"scale":3}' http://%[1]s/v2-beta/projects/1a5/services/1s1
  curl -s http://%[2]s/metrics | grep scale_subscriber_cache_objects
`, simAddr, healthAddr, cfg.AccessKey, cfg.SecretKey)
}
