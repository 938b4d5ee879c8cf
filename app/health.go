package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rancher/scale-subscriber/healthcheck"
)

// readinessChecks are what /healthcheck (Rancher's HAProxy check) requires: a live subscription that has heard
// from Cattle recently, and a cache that has completed its first sync. A process that answers HTTP but lost its
// event stream is not healthy: Rancher should recreate it.
func (a *App) readinessChecks() []healthcheck.Check {
	return []healthcheck.Check{
		{Name: "subscription", Func: func(context.Context) error {
			sub := a.subscriber.Load()
			if sub == nil {
				return errors.New("not started")
			}
			st := sub.Status()
			if !st.Connected {
				if st.LastError != nil {
					return fmt.Errorf("disconnected: %s", st.LastError)
				}
				return errors.New("disconnected")
			}
			return nil
		}},
		{Name: "ping", Func: func(context.Context) error {
			sub := a.subscriber.Load()
			if sub == nil {
				return errors.New("not started")
			}
			st := sub.Status()
			last := st.LastPing
			if st.LastPong.After(last) {
				last = st.LastPong
			}
			if last.IsZero() {
				return errors.New("no ping or pong from cattle yet")
			}
			if age := time.Since(last); age > a.cfg.MaxPingAge {
				return fmt.Errorf("last ping/pong %s ago (max %s)", age.Round(time.Second), a.cfg.MaxPingAge)
			}
			return nil
		}},
		{Name: "sync", Func: func(context.Context) error {
			if !a.informer.Synced() {
				return errors.New("first sync of the cache not done")
			}
			return nil
		}},
	}
}
