package bench

import (
	"fmt"
	"os"
	"testing"
)

// TestMain runs the tests and benchmarks, or, in a child started by startSimProcess, serves cattlesim.
func TestMain(m *testing.M) {
	if spec := os.Getenv(simChildEnv); spec != "" {
		if err := runSimChild(spec); err != nil {
			fmt.Fprintf(os.Stderr, "bench: child cattlesim: %v\n", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}
