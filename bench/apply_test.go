package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/handlers"
)

// CPU world: 20 hosts and 200 services of scale 3. The frames are the resource.change events of their 600
// containers, so applying one also enqueues its service's key, as in production.
var cpuWorld = cattlesim.PopulateOptions{Hosts: 20, Services: 200, Scale: 3}

// BenchmarkResourceChangeCPU replays resource.change frames recorded from cattlesim (two rounds of healthState
// flips of 600 service containers, so every replayed event changes the cache) without any network or
// emulator in the loop: what one event costs the consumer alone. decode is one json.Unmarshal of the frame with
// the resource typed (the raw baseline of BenchmarkResourceChange), decode-map the same into generic maps,
// event is events.DecodeEvent (what the subscriber's reader does: the envelope, data kept raw with its resource
// member located for the cache), pipeline is DecodeEvent plus the Router of a service built by app.New
// (handlers.ResourceChange → informer → store → queue keys).
func BenchmarkResourceChangeCPU(b *testing.B) {
	ctx := context.Background()
	w := newWorld(b, throughputFlush, cpuWorld)
	frames, err := recordFrames(ctx, w, newToggler(w.sim, w.info.Instances), 2)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		measureCPU(b, func() error {
			for i := range b.N {
				var ev rawEvent
				if err := json.Unmarshal(frames[i%len(frames)], &ev); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("decode-map", func(b *testing.B) {
		measureCPU(b, func() error {
			for i := range b.N {
				var ev rawEventGeneric
				if err := json.Unmarshal(frames[i%len(frames)], &ev); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("event", func(b *testing.B) {
		measureCPU(b, func() error {
			for i := range b.N {
				if _, err := events.DecodeEvent(frames[i%len(frames)]); err != nil {
					return err
				}
			}
			return nil
		})
	})
	b.Run("pipeline", func(b *testing.B) {
		a, err := newIdleApp(ctx, w)
		if err != nil {
			b.Fatal(err)
		}
		// The first pass creates the cached objects; afterwards every frame is a change.
		if err := replay(ctx, a, frames, len(frames)); err != nil {
			b.Fatal(err)
		}
		measureCPU(b, func() error { return replay(ctx, a, frames, b.N) })
		if err := checkReplayed(a, frames, b.N); err != nil {
			b.Fatal(err)
		}
	})
}

// measureCPU times loop (b.N events) with allocations, events/s and cpu-ns/op.
func measureCPU(b *testing.B, loop func() error) {
	var cpu cpuMeter
	if err := cpu.begin(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	err := loop()
	b.StopTimer()
	if err != nil {
		b.Fatal(err)
	}
	if err := cpu.end(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	reportCPUPerOp(b, &cpu)
}

// replay decodes and delivers n frames, cycling through them, as the subscriber's delivery goroutine would.
func replay(ctx context.Context, a *app.App, frames [][]byte, n int) error {
	router := a.Router()
	for i := range n {
		ev, err := events.DecodeEvent(frames[i%len(frames)])
		if err != nil {
			return fmt.Errorf("decode frame %d: %w", i%len(frames), err)
		}
		router.Deliver(ctx, ev)
	}
	return nil
}

// checkReplayed verifies that the cache shows what the last replayed frame of each container said, so the
// benchmark measured events that were really applied.
func checkReplayed(a *app.App, frames [][]byte, n int) error {
	want := map[string]string{}
	for i := range min(n, len(frames)) {
		f := frames[(n-1-i)%len(frames)]
		var ev struct {
			ResourceID string `json:"resourceId"`
			Data       struct {
				Resource struct {
					HealthState string `json:"healthState"`
				} `json:"resource"`
			} `json:"data"`
		}
		if err := json.Unmarshal(f, &ev); err != nil {
			return fmt.Errorf("decode recorded frame: %w", err)
		}
		if _, later := want[ev.ResourceID]; !later {
			want[ev.ResourceID] = ev.Data.Resource.HealthState
		}
	}
	for id, hs := range want {
		in, ok := a.Store().Instance(id)
		if !ok || in.HealthState != hs {
			return fmt.Errorf("cache has instance %s = %+v, want healthState %q", id, in, hs)
		}
	}
	return nil
}

// newIdleApp builds the service with app.New against w but does not Run it: its Router applies events to the
// cache at once (the informer is live until a relist starts) and its queue collects keys with no worker.
func newIdleApp(ctx context.Context, w *world) (*app.App, error) {
	health, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen health: %w", err)
	}
	// Never served (the app does not run); closed right away so nothing is left listening.
	_ = health.Close()
	cfg := config.Defaults()
	cfg.CattleURL = w.srv.URL
	cfg.AccessKey, cfg.SecretKey = w.key.AccessKey, w.key.SecretKey
	cfg.ListenAddress, cfg.HealthListenAddress = "127.0.0.1:0", "127.0.0.1:0"
	a, err := app.New(ctx, app.Options{Config: cfg, HealthListener: health})
	if err != nil {
		return nil, fmt.Errorf("new app: %w", err)
	}
	return a, nil
}

// recordFrames records the resource.change frames cattlesim sends for rounds of flips of every container of
// tog, in order.
func recordFrames(ctx context.Context, w *world, tog *toggler, rounds int) ([][]byte, error) {
	if err := w.flushBarrier(ctx, tog); err != nil {
		return nil, err
	}
	if err := waitUnsubscribed(w); err != nil {
		return nil, err
	}
	client, err := cattle.New(ctx, cattle.Options{URL: w.srv.URL, AccessKey: w.key.AccessKey, SecretKey: w.key.SecretKey})
	if err != nil {
		return nil, fmt.Errorf("record: connect cattle client: %w", err)
	}
	url, err := client.SubscribeURL(handlers.ResourceChangeEventName)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, url, http.Header{"Authorization": {client.BasicAuthHeader()}})
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("record: dial: %w", err)
	}
	defer func() {
		_ = conn.Close()
		_ = waitUnsubscribed(w)
	}()
	if err := waitUntil(startupTimeout, func() bool { return w.sim.Subscribers() == 1 }); err != nil {
		return nil, fmt.Errorf("record: subscription not registered: %w", err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(roundTimeout)); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	var frames [][]byte
	for range rounds {
		if _, err := tog.flip(len(tog.ids)); err != nil {
			return nil, fmt.Errorf("record: flip: %w", err)
		}
		for got := 0; got < len(tog.ids); {
			_, frame, err := conn.ReadMessage()
			if err != nil {
				return nil, fmt.Errorf("record: read: %w", err)
			}
			ev, err := events.DecodeEvent(frame)
			if err != nil {
				return nil, fmt.Errorf("record: %w", err)
			}
			if ev.Name != handlers.ResourceChangeEventName {
				continue
			}
			if ev.ResourceType != "container" {
				return nil, fmt.Errorf("record: unexpected resource.change for %s %s", ev.ResourceType, ev.ResourceID)
			}
			frames = append(frames, frame)
			got++
		}
	}
	return frames, nil
}
