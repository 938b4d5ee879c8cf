package peers

// A CNCF distribution registry (Debian's docker-registry, distribution 2.8) notifies a serviceUpgrade receiver
// of everything that happens to it, and crane pushes, pulls, copies and deletes images on it.

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/internal/simtest"
)

// endpointName is the registry's name for the service's notification endpoint.
const endpointName = "scale-subscriber"

// registrySpec runs the registry on a plain-HTTP loopback port (ports[0]) with its debug server, which serves
// the notification queue's counters, on another (ports[1]), storage in the test's directory, deletes enabled,
// and one notification endpoint: hook.
func registrySpec(path, hook string) spec {
	return spec{name: "docker-registry", path: path, ports: 2,
		args: func(dir string, ports []int) ([]string, error) {
			cfg, err := writeJSONFile(dir, "config.yml", map[string]any{
				"version": "0.1",
				"log":     map[string]any{"level": "info", "formatter": "text"},
				"storage": map[string]any{
					"filesystem": map[string]any{"rootdirectory": filepath.Join(dir, "data")},
					"delete":     map[string]any{"enabled": true},
				},
				"http": map[string]any{
					"addr":  fmt.Sprintf("127.0.0.1:%d", ports[0]),
					"debug": map[string]any{"addr": fmt.Sprintf("127.0.0.1:%d", ports[1])},
				},
				"notifications": map[string]any{"endpoints": []any{map[string]any{
					"name": endpointName, "url": hook, "timeout": "5s", "threshold": 3, "backoff": "1s",
				}}},
			})
			if err != nil {
				return nil, err
			}
			return []string{"serve", cfg}, nil
		},
		ready: func(ports []int) string { return fmt.Sprintf("http://127.0.0.1:%d/v2/", ports[0]) },
	}
}

// queue is the registry's counters of one notification endpoint (expvar registry.notifications.endpoints[].Metrics).
type queue struct {
	Pending, Events, Successes, Failures, Errors int
	Statuses                                     map[string]int
}

func (q queue) String() string {
	return fmt.Sprintf("%d events: %d pending, %d delivered, %d failed, %d errors, statuses %v", q.Events, q.Pending,
		q.Successes, q.Failures, q.Errors, q.Statuses)
}

// drained reports whether every event the registry queued was delivered, each at the first try.
func (q queue) drained() bool {
	return q.Pending == 0 && q.Successes == q.Events && q.Failures == 0 && q.Errors == 0
}

// registryQueue reads the counters of the service's endpoint from the registry's debug server.
func (e *env) registryQueue(reg *process) queue {
	e.t.Helper()
	var vars struct {
		Registry struct {
			Notifications struct {
				Endpoints []struct {
					Name    string `json:"name"`
					Metrics queue  `json:"Metrics"`
				} `json:"endpoints"`
			} `json:"notifications"`
		} `json:"registry"`
	}
	e.getJSON("http://"+reg.addr(1)+"/debug/vars", nil, &vars)
	for _, ep := range vars.Registry.Notifications.Endpoints {
		if ep.Name == endpointName {
			return ep.Metrics
		}
	}
	e.t.Fatalf("the registry's /debug/vars has no notification endpoint %q", endpointName)
	return queue{}
}

// barrier pushes a marker image (<registry>/peers-barrier:<n>) and waits until the service has answered the
// notification of its manifest, then until the registry's counters show every event delivered at the first
// try with nothing pending, and returns the counters. The registry delivers an endpoint's events in order, one
// at a time, so once the marker's notification was answered every event of the operations before it has been
// delivered too. A receiver that answered anything but 2xx would show as failures, and the registry would
// retry those events forever and hold everything queued behind them.
func (e *env) barrier(reg *process, cr *crane, r receiver, n int) queue {
	e.t.Helper()
	marker := fmt.Sprintf("%s/peers-barrier:%d", reg.addr(0), n)
	cr.push(marker, layerTarball(e.t, "barrier"))
	eventually(e.t, "the service answered the notification of "+marker, func() (bool, string) {
		recs := e.executions(r)
		return slices.ContainsFunc(recs, func(rec record) bool {
			return strings.Contains(rec.Input, marker) && rec.final()
		}), fmt.Sprintf("%d executions", len(recs))
	})
	var q queue
	eventually(e.t, "the registry's notification queue drained", func() (bool, string) {
		q = e.registryQueue(reg)
		return q.Pending == 0 && q.Successes == q.Events, q.String()
	})
	if q.Failures != 0 || q.Errors != 0 {
		e.t.Errorf("the registry failed to deliver events: %s", q)
	}
	for status := range q.Statuses {
		if !strings.HasPrefix(status, "2") {
			e.t.Errorf("the registry got the answer %q from the service: %s", status, q)
		}
	}
	return q
}

// deliveries returns the executions that record a delivery of the registry, leaving out the upgrades a push
// queued (each has a record of its own, on its service). Distribution 2.x posts each event alone, so there is
// one per delivered event.
func deliveries(recs []record) []record {
	var out []record
	for _, r := range recs {
		if !strings.HasPrefix(r.Target, "service:") {
			out = append(out, r)
		}
	}
	return out
}

// waitFinal waits until every execution of r has ended and returns them.
func (e *env) waitFinal(r receiver) []record {
	e.t.Helper()
	var recs []record
	eventually(e.t, "every execution of "+r.Name+" ended", func() (bool, string) {
		recs = e.executions(r)
		for _, rec := range recs {
			if !rec.final() {
				return false, rec.String()
			}
		}
		return true, ""
	})
	return recs
}

// outcomes counts executions by outcome.
func outcomes(recs []record) map[string]int {
	n := make(map[string]int)
	for _, r := range recs {
		n[r.Outcome]++
	}
	return n
}

// The registry notifies every blob push, tag push, pull, mount and delete. Those that are no push of the
// receiver's tag to a repository a selected service runs (a push of another tag, a pull, blob pushes, a copy
// to another repository, a delete) are answered 2xx and change nothing; crane pushing a new image as
// <registry>/nginx:1.14 upgrades the one selected service running <registry>/nginx and finishes the upgrade,
// while a selected service on another repository, one on nginx from Docker Hub and an unselected one on the
// same repository stay as they were. Every event the registry queued is delivered at the first try and
// recorded once, and events after the upgrade (the same tag pushed again, pulls) still arrive and change
// nothing.
func TestRegistryPushUpgradesMatchingServices(t *testing.T) {
	t.Parallel()
	bins := programs(t, "docker-registry", "crane")
	e := startService(t)
	r := e.createReceiver(map[string]any{"name": "upgrade-on-push", "driver": "serviceUpgrade",
		"serviceUpgradeConfig": map[string]any{"serviceSelector": map[string]string{"app": "web"}, "tag": "1.14",
			"payloadFormat": "distribution", "batchSize": 1, "intervalMillis": 100}})
	reg := launch(t, registrySpec(bins["docker-registry"], r.URL))
	host := reg.addr(0)
	cr := newCrane(t, bins["crane"])

	// Created once the registry runs: their images name its port.
	shop := e.emulator.CreateService(e.t, "shop", "docker:"+host+"/nginx:1.13", 2, map[string]string{"app": "web"})
	cache := e.emulator.CreateService(e.t, "cache", "docker:"+host+"/redis:7", 1, map[string]string{"app": "web"})
	static := e.emulator.CreateService(e.t, "static", "docker:"+host+"/nginx:1.13", 1, map[string]string{"app": "static"})
	// docker:nginx:1.13, app=web: the same repository name on Docker Hub.
	hub := e.emulator.Service(e.t, e.id("service/web"))
	e.waitCachedServices()
	mark := e.callMark()

	// Traffic that must change nothing: blob pushes and a push of another tag, pulls, mounts and a push of the
	// receiver's tag to a repository no service runs, deletes.
	cr.push(host+"/nginx:1.13", layerTarball(t, "nginx 1.13"))
	cr.run("pull", host+"/nginx:1.13", filepath.Join(t.TempDir(), "pulled.tar"))
	cr.run("copy", host+"/nginx:1.13", host+"/mirror/nginx:1.14")
	cr.run("delete", host+"/mirror/nginx@"+cr.run("digest", host+"/mirror/nginx:1.14"))
	q := e.barrier(reg, cr, r, 1)
	recs := e.waitFinal(r)
	if n := outcomes(recs); n["ignored"] != len(recs) {
		t.Errorf("executions of events that concern no selected service: %v, want all ignored", n)
	}
	if got := len(deliveries(recs)); got != q.Successes {
		t.Errorf("the service recorded %d deliveries, the registry delivered %d events", got, q.Successes)
	}
	for _, in := range []string{"push " + host + "/nginx:1.13", "push " + host + "/mirror/nginx:1.14"} {
		if !slices.ContainsFunc(recs, func(rec record) bool { return strings.HasPrefix(rec.Input, in) }) {
			t.Errorf("no execution records the %s", in)
		}
	}
	calls, next := e.callsSince(mark)
	if got := writes(calls); len(got) != 0 {
		t.Errorf("registry events that concern no selected service changed services: %v", got)
	}
	t.Logf("before the upgrade: registry %s; the service recorded %d executions, %v", q, len(recs), outcomes(recs))

	// The push that upgrades shop.
	pushed := time.Now()
	digest := cr.push(host+"/nginx:1.14", layerTarball(t, "nginx 1.14"))
	pushTook := time.Since(pushed)
	var rec record
	eventually(t, "shop's upgrade ended", func() (bool, string) {
		recs = e.executions(r)
		i := slices.IndexFunc(recs, func(rec record) bool {
			return rec.Target == "service:"+shop.ID && !rec.Received.Before(pushed) && rec.final()
		})
		if i < 0 {
			return false, fmt.Sprintf("%v", recs)
		}
		rec = recs[i]
		return true, ""
	})
	if rec.Outcome != "done" || rec.Finished == nil {
		t.Fatalf("shop's upgrade ended %s, want done", rec)
	}
	want := "docker:" + host + "/nginx:1.14"
	if rec.Image == nil || !strings.Contains(rec.Image.New, host+"/nginx:1.14") ||
		(rec.Image.Digest != "" && rec.Image.Digest != digest) {
		t.Errorf("shop's upgrade record shows the image change %+v, want to %s (digest %s)", rec.Image, want, digest)
	}
	t.Logf("timing: push→finished %s (crane append and push %s; the notification arrived %s after the push "+
		"started; the upgrade, with cattlesim's 10 ms steps, took %s)", rec.Finished.Sub(pushed).Round(time.Millisecond),
		pushTook.Round(time.Millisecond), rec.Received.Sub(pushed).Round(time.Millisecond),
		rec.Finished.Sub(rec.Received).Round(time.Millisecond))

	if s := e.emulator.Service(e.t, shop.ID); !s.Settled() || s.LaunchConfig.ImageUUID != want {
		t.Errorf("shop ends %s, want active on %s", s, want)
	}
	for _, other := range []simtest.ServiceView{cache, static, hub} {
		if s := e.emulator.Service(e.t, other.ID); !s.Settled() || s.LaunchConfig.ImageUUID != other.LaunchConfig.ImageUUID {
			t.Errorf("%s ends %s, want it untouched on %s", other.Name, s, other.LaunchConfig.ImageUUID)
		}
	}
	calls, next = e.callsSince(next)
	if got, want := writes(calls), []string{"upgrade " + shop.ID + " 202", "finishupgrade " + shop.ID + " 202"}; !slices.Equal(got, want) {
		t.Errorf("service writes for the push %v, want %v", got, want)
	}

	// Later events still arrive: the same tag pushed again (a registry's retry, a re-tag), pulls.
	q = e.barrier(reg, cr, r, 2)
	before := len(e.waitFinal(r))
	cr.run("tag", host+"/nginx:1.14", "1.14")
	cr.run("pull", host+"/nginx:1.14", filepath.Join(t.TempDir(), "pulled.tar"))
	q = e.barrier(reg, cr, r, 3)
	recs = e.waitFinal(r)
	added := recs[:len(recs)-before] // newest first
	if n := outcomes(added); len(added) < 3 || n["ignored"] != len(added) {
		t.Errorf("executions of the events after the upgrade: %v, want at least the re-push, a pull and the "+
			"marker, all ignored", n)
	}
	if !slices.ContainsFunc(added, func(rec record) bool { return strings.HasPrefix(rec.Input, "push "+host+"/nginx:1.14") }) {
		t.Errorf("no execution records the second push of %s/nginx:1.14", host)
	}
	if got := len(deliveries(recs)); got != q.Successes {
		t.Errorf("the service recorded %d deliveries, the registry delivered %d events", got, q.Successes)
	}
	calls, _ = e.callsSince(next)
	if got := writes(calls); len(got) != 0 {
		t.Errorf("events after the upgrade changed services: %v", got)
	}
	if s := e.emulator.Service(e.t, shop.ID); !s.Settled() || s.LaunchConfig.ImageUUID != want {
		t.Errorf("shop ends %s, want active on %s", s, want)
	}
	t.Logf("at the end: registry %s; the service recorded %d executions, %v", q, len(recs), outcomes(recs))
}
