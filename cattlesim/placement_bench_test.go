package cattlesim

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkScaleUp: one operation scales one service of a settled world up by 50 units the way the service's
// update process does one Step after a PUT of its scale (reconcilePlanLocked, then runPlan), so each new unit is
// placed by pickHostLocked among 2,000 active hosts. The two worlds differ only in how many containers those
// hosts already run: placement must cost what the hosts are, not what they hold. The Step is an hour, so no
// timer moves the new containers while the benchmark runs. Each operation scales the next service, and the
// world grows by 50 containers an operation: compare runs of the same -benchtime=Nx.
func BenchmarkScaleUp(b *testing.B) {
	const hosts, units = 2000, 50
	for _, containers := range []int{6000, 30000} {
		b.Run(fmt.Sprintf("containers=%d", containers), func(b *testing.B) {
			s := New(Options{RandSeed: 1, Timings: Timings{Step: time.Hour}})
			b.Cleanup(s.Close)
			if _, err := s.Seed(SeedEmpty, SeedOptions{}); err != nil {
				b.Fatal(err)
			}
			info, err := s.Populate(DefaultProjectID, PopulateOptions{Hosts: hosts, Services: containers / 3, Scale: 3})
			if err != nil {
				b.Fatal(err)
			}
			if len(info.Instances) != containers {
				b.Fatalf("populated %d containers, want %d", len(info.Instances), containers)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				s.mu.Lock()
				svc := s.objectByAPIIDLocked("service", info.Services[n%len(info.Services)])
				before := len(s.serviceInstancesLocked(svc))
				svc.Fields["scale"] = float64(svc.Int("scale", 1) + units)
				runPlan(s.reconcilePlanLocked(svc))
				after := len(s.serviceInstancesLocked(svc))
				s.mu.Unlock()
				if after != before+units {
					b.Fatalf("service %s went from %d to %d containers, want %d more", svc.APIID(), before, after,
						units)
				}
			}
		})
	}
}
