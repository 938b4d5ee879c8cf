package main

import (
	"context"
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
			simLog := log.WithField("component", "cattlesim")
			sim, info, simLn, err := startSim(c, "sim-listen", simLog)
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
			apiLn, err := net.Listen("tcp", c.String("listen"))
			if err != nil {
				_ = healthLn.Close()
				return fmt.Errorf("listen for the receivers api: %w", err)
			}
			cfg.ListenAddress = apiLn.Addr().String()
			apiBase := "http://" + cfg.ListenAddress
			cfg.PublicURL = apiBase
			cfg.HealthListenAddress = healthLn.Addr().String()
			cfg.Workers = c.Int("workers")

			ctx, cancel := context.WithCancel(c.Context)
			defer cancel()
			g, gctx := errgroup.WithContext(ctx)
			g.Go(func() error { return serveSim(gctx, sim, simLn, simLog) })
			a, err := app.New(gctx, app.Options{Config: cfg, Logger: log, HealthListener: healthLn, Listener: apiLn})
			if err != nil {
				_ = healthLn.Close()
				_ = apiLn.Close()
				// The emulator is already serving: stop it and wait for it before reporting.
				cancel()
				_ = g.Wait()
				return fmt.Errorf("start service against cattlesim: %w", err)
			}
			printDevInfo(c.App.Writer, simAddr, healthLn.Addr().String(), cfg, info.Objects["1a5/service/web"])
			printSimInfo(c.App.Writer, simAddr, info)
			g.Go(func() error { return a.Run(gctx) })
			if webID, ok := info.Objects[a.Client().ProjectID()+"/service/web"]; ok {
				g.Go(func() error {
					return createDemoReceivers(gctx, c.App.Writer, a, apiBase, a.Client().ProjectID(), webID)
				})
			}
			return g.Wait()
		},
	}
}

func printDevInfo(w io.Writer, simAddr, healthAddr string, cfg config.Config, webID string) {
	fmt.Fprintf(w, `scale-subscriber dev: the service runs against cattlesim (demo seed, project 1a5)
  receivers API   http://%[5]s/v1-webhooks?projectId=1a5
  web page        http://%[5]s/v1-webhooks/ui/?projectId=1a5
  service health  http://%[2]s/healthcheck   metrics http://%[2]s/metrics
  cattlesim API   http://%[1]s/v2-beta/projects/1a5   (Basic auth: %[3]s:%[4]s)

Try:
  curl -s http://%[2]s/healthcheck
  curl -s -u %[3]s:%[4]s http://%[1]s/v2-beta/projects/1a5/services | head -c 600
  curl -s -u %[3]s:%[4]s -X PUT -H 'Content-Type: application/json' -d '{"scale":3}' http://%[1]s/v2-beta/projects/1a5/services/%[6]s
  curl -s http://%[2]s/metrics | grep scale_subscriber_cache_objects
`, simAddr, healthAddr, cfg.AccessKey, cfg.SecretKey, cfg.ListenAddress, webID)
}
