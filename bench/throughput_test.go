package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// Throughput world: 1,000 standalone containers. The benchmark flips their healthState; a flip of a standalone
// container touches nothing else in cattlesim, whereas a flip of a service's container makes cattlesim rescan
// every instance of the project to refresh the service's and host's derived fields (about 145µs per flip with
// 600 containers), which would make the emulator, not the consumers, set the pace.
var throughputWorld = cattlesim.PopulateOptions{Containers: 1000}

// throughputFlush is cattlesim's coalescing tick during the benchmark (Cattle's is 1s): short, so the stream
// is continuous and the consumers, not the tick, set the pace.
const throughputFlush = time.Millisecond

// roundTimeout bounds one round; a round is hundreds of events and takes tens of milliseconds.
const roundTimeout = 60 * time.Second

// errRoundTimeout wraps a round that did not complete.
var errRoundTimeout = errors.New("round did not complete")

// BenchmarkResourceChange measures resource.change events per second through three consumers of the same
// cattlesim with the same changes, one after the other: raw (websocket read + json.Unmarshal), subscriber
// (events.Subscriber with a counting sink) and cache (the service from app.New: subscriber → router →
// handlers.ResourceChange → informer → store, plus queue and workers). ns/op is per event and includes
// cattlesim producing it on the same two cores; compare the consumers by the ratio of their events/s, and by
// the difference of their cpu-ns/op (CPU time of the whole process per event).
func BenchmarkResourceChange(b *testing.B) {
	w := newWorld(b, throughputFlush, throughputWorld)
	tog := newToggler(w.sim, w.info.Containers)
	ctx := context.Background()
	if err := w.flushBarrier(ctx, tog); err != nil {
		b.Fatal(err)
	}
	if err := waitUnsubscribed(w); err != nil {
		b.Fatal(err)
	}
	for _, kind := range []string{consumerRaw, consumerSubscriber, consumerCache} {
		b.Run(kind, func(b *testing.B) {
			c, err := startConsumer(ctx, kind, w)
			if err != nil {
				b.Fatal(err)
			}
			defer func() {
				if err := c.stop(); err != nil {
					b.Error(err)
				}
				if err := waitUnsubscribed(w); err != nil {
					b.Error(err)
				}
			}()
			// One untimed round warms up the consumer (connection buffers, decoder caches, map growth).
			if err := runRounds(tog, c, len(tog.ids)); err != nil {
				b.Fatal(err)
			}
			var cpu cpuMeter
			if err := cpu.begin(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			err = runRounds(tog, c, b.N)
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
			if err := cpu.end(); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
			// Process-wide: cattlesim producing the event plus the consumer. cattlesim's share is the same for
			// every consumer, so differences between consumers are consumer CPU.
			reportCPUPerOp(b, &cpu)
		})
	}
}

// runRounds makes events container flips in rounds of at most one flip per container, waiting after each round
// until c has processed all of it (so cattlesim never coalesces two flips of a container into one event).
func runRounds(tog *toggler, c consumer, events int) error {
	for left := events; left > 0; {
		n := min(left, len(tog.ids))
		states, err := tog.flip(n)
		if err != nil {
			return fmt.Errorf("flip containers: %w", err)
		}
		c.expect(tog.ids[:n], states)
		if err := waitUntil(roundTimeout, c.caughtUp); err != nil {
			if cerr := c.check(); cerr != nil {
				return fmt.Errorf("%w: %w (%w)", errRoundTimeout, err, cerr)
			}
			return fmt.Errorf("%w: %w", errRoundTimeout, err)
		}
		if err := c.check(); err != nil {
			return err
		}
		left -= n
	}
	return nil
}
