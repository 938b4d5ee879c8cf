package cattlesim

import (
	"fmt"
	"testing"
)

// BenchmarkContainerChange: one operation is a container health flip (healthy ↔ unhealthy) in a settled world
// of services with 4 containers each and 25 containers per host, which refreshes the derived fields of the
// container's service (instanceIds, currentScale, healthState, and whether it must reconcile) and of its host
// (instanceIds). The flips walk over every container, so the service and the host change each time. Compare
// the ns/op of the two sizes: a change must cost what its service and host hold, not what the world holds.
func BenchmarkContainerChange(b *testing.B) {
	for _, containers := range []int{2500, 10000} {
		b.Run(fmt.Sprintf("containers=%d", containers), func(b *testing.B) {
			s := New(Options{RandSeed: 1})
			b.Cleanup(s.Close)
			if _, err := s.Seed(SeedEmpty, SeedOptions{}); err != nil {
				b.Fatal(err)
			}
			info, err := s.Populate(DefaultProjectID, PopulateOptions{Hosts: containers / 25, Services: containers / 4,
				Scale: 4})
			if err != nil {
				b.Fatal(err)
			}
			if len(info.Instances) != containers {
				b.Fatalf("populated %d containers, want %d", len(info.Instances), containers)
			}
			states := [2]string{"unhealthy", "healthy"}
			b.ReportAllocs()
			b.ResetTimer()
			for n := range b.N {
				id := info.Instances[n%len(info.Instances)]
				if err := s.SetContainerHealth(id, states[(n/len(info.Instances))%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
