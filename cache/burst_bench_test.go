package cache

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
)

// countingSource is the Cattle client counting its requests. When hold is set, the next List waits for the
// channel to close, so a benchmark can record events while a relist is known not to have listed yet.
type countingSource struct {
	client      *cattle.Client
	lists, gets atomic.Int64
	hold        atomic.Pointer[chan struct{}]
}

func (c *countingSource) List(ctx context.Context, schemaID string, opts cattle.ListOptions, out any) error {
	if p := c.hold.Swap(nil); p != nil {
		select {
		case <-*p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.lists.Add(1)
	return c.client.List(ctx, schemaID, opts, out)
}

func (c *countingSource) ByID(ctx context.Context, schemaID, id string, out any) error {
	c.gets.Add(1)
	return c.client.ByID(ctx, schemaID, id, out)
}

// BenchmarkRelistAfterBurst: events name objects while a relist is listing (a reconnect during a storm, or the
// creation of a world), so its refresh must re-read them. One operation is that relist, from Resync to live.
// cattlesim serves 1,000 services of scale 3 on 200 hosts over loopback HTTP. all: an event for every object;
// few: for 1% of the instances. gets/op and lists/op count the requests (a list request is one page); cpu-s/op
// is this process's CPU time, cattlesim's included, which is steadier than wall time on a shared machine.
func BenchmarkRelistAfterBurst(b *testing.B) {
	ctx := context.Background()
	sim := cattlesim.New(cattlesim.Options{FlushInterval: time.Second, RandSeed: 1})
	b.Cleanup(sim.Close)
	seed, err := sim.Seed(cattlesim.SeedEmpty, cattlesim.SeedOptions{})
	if err != nil {
		b.Fatal(err)
	}
	world := cattlesim.PopulateOptions{Hosts: 200, Services: 1000, Scale: 3}
	if _, err := sim.Populate(cattlesim.DefaultProjectID, world); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	b.Cleanup(srv.Close)
	key := seed.Credentials[0]
	client, err := cattle.New(ctx, cattle.Options{URL: srv.URL, AccessKey: key.AccessKey, SecretKey: key.SecretKey})
	if err != nil {
		b.Fatal(err)
	}
	// The events: each object's current rendering, as a resource.change carries it.
	type event struct {
		resourceType, id string
		data             json.RawMessage
	}
	byKind := map[string][]event{}
	for _, kind := range []string{KindService, KindHost, KindInstance} {
		var rows []json.RawMessage
		if err := client.List(ctx, schemaOf(kind), cattle.ListOptions{PageSize: 1000}, &rows); err != nil {
			b.Fatal(err)
		}
		for _, row := range rows {
			byKind[kind] = append(byKind[kind], event{schemaOf(kind), rowID(row), eventData(b, row)})
		}
	}
	all := append(append(append([]event(nil), byKind[KindService]...), byKind[KindHost]...), byKind[KindInstance]...)
	few := byKind[KindInstance][:len(byKind[KindInstance])/100]

	for _, tc := range []struct {
		name   string
		events []event
	}{{"all", all}, {"few", few}} {
		b.Run(tc.name, func(b *testing.B) {
			store, err := NewStore(prometheus.NewRegistry())
			if err != nil {
				b.Fatal(err)
			}
			src := &countingSource{client: client}
			inf, err := NewInformer(InformerOptions{Store: store, Source: src})
			if err != nil {
				b.Fatal(err)
			}
			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- inf.Run(runCtx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			eventually(b, time.Minute, func() bool { return inf.Relists() == 1 }, "first sync")
			lists, gets := src.lists.Load(), src.gets.Load()
			cpu0, err := processCPU()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				hold := make(chan struct{})
				src.hold.Store(&hold)
				inf.Resync()
				for _, ev := range tc.events {
					if err := inf.ApplyEvent(ev.resourceType, ev.id, ev.data); err != nil {
						b.Fatal(err)
					}
				}
				close(hold)
				eventually(b, time.Minute, func() bool { return inf.Relists() == int64(n)+2 }, "relist after the burst")
			}
			b.StopTimer()
			cpu1, err := processCPU()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
			b.ReportMetric(float64(src.gets.Load()-gets)/float64(b.N), "gets/op")
			b.ReportMetric(float64(src.lists.Load()-lists)/float64(b.N), "lists/op")
		})
	}
}

// processCPU returns the user plus system CPU time this process has used so far.
func processCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
