package bench

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Process measurements for the benchmarks' custom metrics. On a shared two-core machine wall time depends on
// what else runs; CPU time per operation and memory do much less, so the benchmarks report them beside ns/op.

// cpuTime returns the user plus system CPU time this process has used so far (every goroutine, GC included).
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// userHZ is the unit of the CPU times in /proc/<pid>/stat; Linux fixes it at 100 for user space.
const userHZ = 100

// processCPUTime returns the user plus system CPU time another process has used so far.
func processCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read process stat: %w", err)
	}
	// The command name (field 2) may hold spaces; the fields after its closing parenthesis start at field 3.
	end := strings.LastIndexByte(string(b), ')')
	if end < 0 {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(b[end+1:]))
	const utime, stime = 14 - 3, 15 - 3 // fields 14 and 15, counted from field 3
	if len(fields) <= stime {
		return 0, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	var ticks int64
	for _, f := range []string{fields[utime], fields[stime]} {
		n, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// cpuMeter measures CPU time per operation over a benchmark's timed loop.
type cpuMeter struct {
	pid   int // 0 = this process
	start time.Duration
	total time.Duration
}

func (m *cpuMeter) read() (time.Duration, error) {
	if m.pid == 0 {
		return cpuTime()
	}
	return processCPUTime(m.pid)
}

// begin and end bracket a measured stretch; stretches add up.
func (m *cpuMeter) begin() error {
	t, err := m.read()
	m.start = t
	return err
}

func (m *cpuMeter) end() error {
	t, err := m.read()
	m.total += t - m.start
	return err
}

// memory is what the process holds once garbage is collected and returned to the kernel.
type memory struct {
	heapInuse uint64 // runtime.MemStats.HeapInuse, bytes
	rss       uint64 // VmRSS, bytes
	peakRSS   uint64 // VmHWM, bytes: the most the process held resident since settleMemory
}

// settleMemory collects garbage, returns free memory to the kernel and resets the peak RSS, so the next
// measureMemory reports the peak of what ran in between.
func settleMemory() error {
	debug.FreeOSMemory()
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset peak RSS: %w", err)
	}
	return nil
}

// measureMemory collects garbage and returns it to the kernel, then reads the Go heap and the kernel's view
// of the process.
func measureMemory() (memory, error) {
	debug.FreeOSMemory()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m := memory{heapInuse: ms.HeapInuse}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return m, fmt.Errorf("read process status: %w", err)
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("parse %s %q: %w", name, value, err)
		}
		if name == "VmRSS" {
			m.rss = kb << 10
		} else {
			m.peakRSS = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return m, fmt.Errorf("read process status: %w", err)
	}
	if m.rss == 0 || m.peakRSS == 0 {
		return m, fmt.Errorf("no VmRSS/VmHWM in /proc/self/status")
	}
	return m, nil
}

// mib converts bytes to MiB for b.ReportMetric.
func mib(n uint64) float64 { return float64(n) / (1 << 20) }

// reportCPUPerOp reports m's total over b.N operations as cpu-ns/op.
func reportCPUPerOp(b *testing.B, m *cpuMeter) {
	b.ReportMetric(float64(m.total.Nanoseconds())/float64(b.N), "cpu-ns/op")
}
