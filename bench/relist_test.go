package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/handlers"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// relistWorld is issue 3's scale: 10,000 services, 2,000 hosts and 30,000 containers (scale 3).
var relistWorld = cattlesim.PopulateOptions{Hosts: 2000, Services: 10000, Scale: 3}

// relistTimeout bounds one relist (or a start-up) of the large world on a busy two-core machine.
const relistTimeout = 10 * time.Minute

// relistPoll is how often relist waits look; relists take seconds.
const relistPoll = 5 * time.Millisecond

// BenchmarkRelist measures a full relist of relistWorld, served by cattlesim in a child process so that the
// memory figures are the subscriber's alone (allocations, heap and RSS are this process's; the wall time
// includes cattlesim rendering the pages on the same two cores). cpu-s/op is this process's CPU time per
// relist, sim-cpu-s/op the child cattlesim's.
//
//   - cold: an informer with an empty store relists (what a first sync costs); the cache, its indexes and the
//     queued keys are alive when memory is measured.
//   - warm: the same informer relists again over an identical world (a periodic resync or a reconnect).
//   - startup: the whole service from app.New until /healthcheck answers 200 (subscribe, relist, healthy);
//     the relists metric says how many relists that took.
func BenchmarkRelist(b *testing.B) {
	benchRelist(b, relistWorld)
}

func benchRelist(b *testing.B, world cattlesim.PopulateOptions) {
	proc, err := startSimProcess(world)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		if err := proc.stop(); err != nil {
			b.Error(err)
		}
	})
	ctx := context.Background()
	client, err := cattle.New(ctx, cattle.Options{URL: proc.URL, AccessKey: proc.AccessKey, SecretKey: proc.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	want := map[string]int{cache.KindService: proc.Services, cache.KindHost: proc.Hosts,
		cache.KindInstance: proc.Instances, cache.KindReceiver: 0}

	b.Run("cold", func(b *testing.B) {
		b.ReportAllocs()
		cpu := relistCPU{sim: cpuMeter{pid: proc.cmd.Process.Pid}}
		var inf *informerRun
		defer func() {
			if inf != nil {
				if err := inf.stop(); err != nil {
					b.Error(err)
				}
			}
		}()
		for range b.N {
			b.StopTimer()
			if inf != nil {
				err := inf.stop()
				inf = nil
				if err != nil {
					b.Fatal(err)
				}
			}
			// Start each relist from a settled heap, so one relist's garbage is not charged to the next and the
			// peak RSS is this relist's.
			if err := settleMemory(); err != nil {
				b.Fatal(err)
			}
			cpu.begin(b)
			b.StartTimer()
			if inf, err = startInformer(client); err != nil {
				b.Fatal(err)
			}
			if err := inf.waitRelists(1); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu.end(b)
		}
		cpu.report(b)
		if err := checkCounts(inf.store, want); err != nil {
			b.Fatal(err)
		}
		if err := reportMemory(b); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(inf.queue.Len()), "queued-keys")
	})

	b.Run("warm", func(b *testing.B) {
		inf, err := startInformer(client)
		if err != nil {
			b.Fatal(err)
		}
		defer func() {
			if err := inf.stop(); err != nil {
				b.Error(err)
			}
		}()
		if err := inf.waitRelists(1); err != nil {
			b.Fatal(err)
		}
		if err := settleMemory(); err != nil {
			b.Fatal(err)
		}
		cpu := relistCPU{sim: cpuMeter{pid: proc.cmd.Process.Pid}}
		cpu.begin(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			inf.informer.Resync()
			if err := inf.waitRelists(int64(i) + 2); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		cpu.end(b)
		cpu.report(b)
		if err := checkCounts(inf.store, want); err != nil {
			b.Fatal(err)
		}
		if err := reportMemory(b); err != nil {
			b.Fatal(err)
		}
	})

	b.Run("startup", func(b *testing.B) {
		b.ReportAllocs()
		cpu := relistCPU{sim: cpuMeter{pid: proc.cmd.Process.Pid}}
		var svc *cacheConsumer
		defer func() {
			if svc != nil {
				if err := svc.stop(); err != nil {
					b.Error(err)
				}
			}
		}()
		for range b.N {
			b.StopTimer()
			if svc != nil {
				err := svc.stop()
				svc = nil
				if err != nil {
					b.Fatal(err)
				}
			}
			if err := settleMemory(); err != nil {
				b.Fatal(err)
			}
			cpu.begin(b)
			b.StartTimer()
			svc, err = startApp(ctx, proc.URL, proc.AccessKey, proc.SecretKey, relistPoll, relistTimeout)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			cpu.end(b)
		}
		cpu.report(b)
		if err := checkCounts(svc.app.Store(), want); err != nil {
			b.Fatal(err)
		}
		if err := reportMemory(b); err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(svc.app.Informer().Relists()), "relists")
	})
}

// informerRun is a cache informer fed by the Cattle client alone (no event stream), wired like app.New's:
// every change enqueues its keys.
type informerRun struct {
	store    *cache.Store
	queue    *events.Queue
	informer *cache.Informer
	cancel   context.CancelFunc
	done     chan error
}

// startInformer starts an informer with an empty store; its Run relists once at start.
func startInformer(client *cattle.Client) (*informerRun, error) {
	store, err := cache.NewStore(prometheus.NewRegistry())
	if err != nil {
		return nil, fmt.Errorf("new store: %w", err)
	}
	r := &informerRun{store: store, queue: events.NewQueue(events.QueueOptions{}), done: make(chan error, 1)}
	r.informer, err = cache.NewInformer(cache.InformerOptions{
		Store:  store,
		Source: client,
		OnChange: func(c cache.Change) {
			for _, key := range handlers.KeysFor(c, store) {
				r.queue.Add(key)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("new informer: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.informer.Run(ctx) }()
	return r, nil
}

// waitRelists waits until n relists have completed.
func (r *informerRun) waitRelists(n int64) error {
	if err := simtest.Until(relistTimeout, relistPoll, func() bool { return r.informer.Relists() >= n }); err != nil {
		return fmt.Errorf("relist %d did not complete: %w", n, err)
	}
	return nil
}

func (r *informerRun) stop() error {
	r.cancel()
	err := <-r.done
	r.queue.ShutDown()
	if err != nil {
		return fmt.Errorf("informer run: %w", err)
	}
	return nil
}

// checkCounts verifies the cache holds the whole world, so the benchmark timed complete relists.
func checkCounts(store *cache.Store, want map[string]int) error {
	got := store.Counts()
	for kind, n := range want {
		if got[kind] != n {
			return fmt.Errorf("cache holds %v, want %v", got, want)
		}
	}
	return nil
}

// relistCPU measures the CPU time of both sides of a relist: this process (the subscriber) and the child
// cattlesim (listing and rendering the pages).
type relistCPU struct {
	self, sim cpuMeter
}

func (c *relistCPU) begin(b *testing.B) {
	if err := errors.Join(c.self.begin(), c.sim.begin()); err != nil {
		b.Fatal(err)
	}
}

func (c *relistCPU) end(b *testing.B) {
	if err := errors.Join(c.self.end(), c.sim.end()); err != nil {
		b.Fatal(err)
	}
}

// report adds cpu-s/op (the subscriber) and sim-cpu-s/op (cattlesim).
func (c *relistCPU) report(b *testing.B) {
	b.ReportMetric(c.self.total.Seconds()/float64(b.N), "cpu-s/op")
	b.ReportMetric(c.sim.total.Seconds()/float64(b.N), "sim-cpu-s/op")
}

// reportMemory adds the process's memory to the benchmark's metrics: heap in use and RSS once garbage is
// collected and returned to the kernel, and the peak RSS since the last settleMemory.
func reportMemory(b *testing.B) error {
	m, err := measureMemory()
	if err != nil {
		return err
	}
	b.ReportMetric(mib(m.heapInuse), "heap-inuse-MiB")
	b.ReportMetric(mib(m.rss), "rss-MiB")
	b.ReportMetric(mib(m.peakRSS), "peak-rss-MiB")
	return nil
}
