package simtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRedactURL(t *testing.T) {
	cases := map[string]string{
		"http://h/v1-webhooks/endpoint?key=s3cret":             "http://h/v1-webhooks/endpoint?key=REDACTED",
		"http://h/v1-webhooks/endpoint?key=s3cret&projectId=1": "http://h/v1-webhooks/endpoint?key=REDACTED&projectId=1",
		"http://h/v1-webhooks/receivers":                       "http://h/v1-webhooks/receivers",
	}
	for in, want := range cases {
		if got := RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSendRedactsTheKeyFromErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // the request fails before any connection: the error quotes the URL
	url := "http://127.0.0.1:1/v1-webhooks/endpoint?key=s3cret"
	_, err := Send(ctx, http.DefaultClient, http.MethodPost, url, nil, nil)
	if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "key=REDACTED") {
		t.Fatalf("Send error %v, want one that names the URL with its key redacted", err)
	}
}

func TestLogBufferKeepsTheEnd(t *testing.T) {
	b := &LogBuffer{Keep: 100}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				fmt.Fprintf(b, "writer %d line %03d\n", w, i)
			}
		}()
	}
	wg.Wait()
	fmt.Fprintf(b, "the last line\n")
	s := b.String()
	if len(s) != 100 || !strings.HasSuffix(s, "the last line\n") {
		t.Fatalf("kept %d bytes ending %q, want the last 100 ending with the last line", len(s), s[max(0, len(s)-20):])
	}
	if tail := b.Tail(20); tail != "the last line\n" {
		t.Fatalf("Tail(20) = %q, want the last whole line", tail)
	}

	all := &LogBuffer{}
	for i := range 1000 {
		fmt.Fprintf(all, "line %d\n", i)
	}
	if s := all.String(); !strings.HasPrefix(s, "line 0\n") || !strings.HasSuffix(s, "line 999\n") {
		t.Fatalf("the zero LogBuffer lost lines: %d bytes", len(s))
	}
}

func TestUntil(t *testing.T) {
	calls := 0
	err := Until(DefaultTimeout, time.Millisecond, func() bool { calls++; return calls == 3 })
	if err != nil || calls != 3 {
		t.Fatalf("Until = %v after %d calls, want nil after 3", err, calls)
	}
	calls = 0
	err = Until(20*time.Millisecond, time.Millisecond, func() bool { calls++; return false })
	if err == nil || calls < 2 {
		t.Fatalf("Until on a condition that never holds = %v after %d calls, want an error after several", err, calls)
	}
}

func TestEventuallyEvery(t *testing.T) {
	calls := 0
	EventuallyEvery(t, DefaultTimeout, time.Millisecond, "third call", func() (bool, string) {
		calls++
		return calls == 3, fmt.Sprintf("call %d", calls)
	})
	if calls != 3 {
		t.Fatalf("EventuallyEvery returned after %d calls, want 3", calls)
	}

	// A condition that never holds fails the test with what and the last explanation.
	rec := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		EventuallyEvery(rec, 20*time.Millisecond, time.Millisecond, "never", func() (bool, string) {
			return false, "still no"
		})
	}()
	Recv(t, done, DefaultTimeout, "EventuallyEvery to give up")
	if !strings.Contains(rec.fatal, "never") || !strings.Contains(rec.fatal, "still no") {
		t.Fatalf("failure %q, want what and the last explanation", rec.fatal)
	}
}

// fatalTB records a Fatalf and ends the goroutine as testing.T does.
type fatalTB struct {
	testing.TB
	fatal string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, args ...any) {
	f.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// recordingTB records what Go reports to a test and runs its cleanups on demand.
type recordingTB struct {
	testing.TB
	cleanups []func()
	errors   []string
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestGoStopsWaitsAndReports(t *testing.T) {
	clean := &recordingTB{TB: t}
	stop := Go(clean, "clean", DefaultTimeout, func(ctx context.Context) error { <-ctx.Done(); return nil })
	if err := stop(); err != nil {
		t.Fatalf("stop = %v, want nil", err)
	}
	clean.runCleanups()
	if len(clean.errors) != 0 {
		t.Fatalf("a clean stop reported %v", clean.errors)
	}

	failing := &recordingTB{TB: t}
	boom := errors.New("boom")
	stop = Go(failing, "failing", DefaultTimeout, func(ctx context.Context) error { <-ctx.Done(); return boom })
	if err := stop(); !errors.Is(err, boom) {
		t.Fatalf("stop = %v, want boom", err)
	}
	if err := stop(); !errors.Is(err, boom) {
		t.Fatalf("second stop = %v, want the same boom", err)
	}
	failing.runCleanups()
	if len(failing.errors) != 1 || !strings.Contains(failing.errors[0], "boom") {
		t.Fatalf("cleanup reported %v, want the one error", failing.errors)
	}

	stuck := &recordingTB{TB: t}
	release := make(chan struct{})
	defer close(release)
	stop = Go(stuck, "stuck", 10*time.Millisecond, func(context.Context) error { <-release; return nil })
	if err := stop(); err == nil || !strings.Contains(err.Error(), "did not return") {
		t.Fatalf("stop of a goroutine that ignores its context = %v, want a timeout error", err)
	}
}

func TestMetricAndSampleValue(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "t_total"}, []string{"kind", "name"})
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: "t_seconds"})
	reg.MustRegister(c, h)
	c.WithLabelValues("a", "x").Add(2)
	c.WithLabelValues("a", "y").Add(3)
	c.WithLabelValues("b", "x").Add(5)
	h.Observe(1)
	h.Observe(2)
	for _, tc := range []struct {
		name string
		want map[string]string
		sum  float64
	}{
		{"t_total", nil, 10},
		{"t_total", map[string]string{"kind": "a"}, 5},
		{"t_total", map[string]string{"kind": "a", "name": "y"}, 3},
		{"t_seconds", nil, 2},
		{"absent_total", nil, 0},
	} {
		if got := Metric(t, reg, tc.name, tc.want); got != tc.sum {
			t.Errorf("Metric(%s, %v) = %v, want %v", tc.name, tc.want, got, tc.sum)
		}
	}

	exposition := "# TYPE x gauge\nx_total{type=\"service\"} 7\nx{type=\"service\"} 4\nx{type=\"host\"} 1e+03\n"
	if v, ok := SampleValue(exposition, `x{type="service"}`); !ok || v != 4 {
		t.Errorf("SampleValue x{service} = %v, %v, want 4, true", v, ok)
	}
	if v, ok := SampleValue(exposition, `x{type="host"}`); !ok || v != 1000 {
		t.Errorf("SampleValue x{host} = %v, %v, want 1000, true", v, ok)
	}
	if _, ok := SampleValue(exposition, `x{type="stack"}`); ok {
		t.Error("SampleValue found a series the exposition does not have")
	}

	g, greg := Registered(t, func(r prometheus.Registerer) (prometheus.Gauge, error) {
		g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "g"})
		return g, r.Register(g)
	})
	g.Set(4)
	if got := Metric(t, greg, "g", nil); got != 4 || Metric(t, reg, "g", nil) != 0 {
		t.Errorf("Registered gauge reads %v on its own registry, want 4 there and nothing elsewhere", got)
	}
}

func TestSimStopAndStartOnTheSameAddress(t *testing.T) {
	s := StartSim(t, SimOptions{})
	web := s.ID(t, "service/web")
	get := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
		defer cancel()
		var svc struct {
			ID string `json:"id"`
		}
		if err := s.Do(ctx, http.MethodGet, "/v2-beta/projects/1a5/services/"+web, nil, &svc); err != nil {
			return err
		}
		if svc.ID != web {
			return fmt.Errorf("got service %q, want %q", svc.ID, web)
		}
		return nil
	}
	if err := get(); err != nil {
		t.Fatalf("before Stop: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
	defer cancel()
	err := s.DoAs(ctx, s.Info.Credentials[1], http.MethodGet, "/v2-beta/projects/1a5/services/"+web, nil, nil)
	refused := IsStatus(err, http.StatusUnauthorized) || IsStatus(err, http.StatusForbidden) ||
		IsStatus(err, http.StatusNotFound)
	if !refused {
		t.Fatalf("1a7's key reading a 1a5 service: %v, want a refusal status", err)
	}
	url := s.URL
	s.Stop()
	if err := get(); err == nil {
		t.Fatal("cattlesim answered after Stop")
	}
	s.Start()
	if s.URL != url {
		t.Fatalf("URL moved from %s to %s", url, s.URL)
	}
	if err := get(); err != nil {
		t.Fatalf("after Start: %v", err)
	}
}
