package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// rcvPushWorlds are the numbers of services in cattlesim, the handful the push concerns included.
var rcvPushWorlds = []int{100, 10_000}

// rcvDockerHubPush is the minimal Docker Hub payload of webhook-service's documentation: nginx:1.14 was pushed.
var rcvDockerHubPush = []byte(`{"push_data":{"tag":"1.14"},"repository":{"repo_name":"nginx"}}`)

// rcvPushLabel=rcvPushValue is the receiver's serviceSelector; the handful of services carry it.
const rcvPushLabel, rcvPushValue = "bench", "upgrade"

// BenchmarkReceiversPushUpgrade measures what one Docker Hub push of nginx:1.14 costs Cattle with 100 and with
// 10,000 services in cattlesim: a serviceUpgrade receiver selects bench=upgrade, three services carry that label
// and run nginx (they are upgraded), a fourth carries it and runs redis (skipped: not the pushed repository), and
// a tenth of the populated services run nginx without the label (skipped: selector). One operation is one push,
// from the POST until the three upgrades are finished (upgrade, then finishupgrade once cattlesim shows them
// upgraded); gets/op and posts/op are the Cattle calls of that push from cattlesim's call log, accept-p50-ms the
// time until the sender's 202, done-p50-ms until the three executions are done.
//
// original-listing, beside it on the same world, is the read the original webhook-service makes on every push
// before its first upgrade (cattle-protocol.md §6.5): GET services with no filter, following pagination.next at
// Cattle's default 100 per page, then matching labels in memory (it would upgrade all four labelled services,
// redis included, and poll each one every 5 s afterwards, which is not reproduced here).
func BenchmarkReceiversPushUpgrade(b *testing.B) {
	for _, n := range rcvPushWorlds {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			w, err := rcvNewPushWorld(b, n)
			if err != nil {
				b.Fatal(err)
			}
			b.Run("service", func(b *testing.B) { rcvBenchPush(b, w) })
			b.Run("original-listing", func(b *testing.B) { rcvBenchListing(b, w) })
		})
	}
}

func rcvBenchPush(b *testing.B, w *rcvPushWorld) {
	ctx := context.Background()
	// Untimed warm-up: the first push switches the handful from nginx:1.13 to 1.14; later ones redeploy 1.14
	// (a mutable tag pushed again), the same calls.
	if _, _, err := w.push(ctx); err != nil {
		b.Fatalf("warm-up push: %v", err)
	}
	accept := make(rcvLatencies, b.N)
	done := make(rcvLatencies, b.N)
	mark := w.e.callMark()
	b.ResetTimer()
	for i := range b.N {
		var err error
		if accept[i], done[i], err = w.push(ctx); err != nil {
			b.Fatalf("push %d: %v", i, err)
		}
	}
	b.StopTimer()
	calls, err := w.e.countCalls(mark, w.e.callMark(), nil)
	if err != nil {
		b.Fatal(err)
	}
	accept.report(b, "accept-")
	done.report(b, "done-")
	rcvPerOp(b, calls.total, "calls/op")
	rcvPerOp(b, calls.get, "gets/op")
	rcvPerOp(b, calls.post, "posts/op")
	rcvPerOp(b, calls.put, "puts/op")
}

func rcvBenchListing(b *testing.B, w *rcvPushWorld) {
	ctx := context.Background()
	mark := w.e.callMark()
	b.ResetTimer()
	for range b.N {
		labelled, err := w.originalListing(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if want := len(w.matches) + 1; labelled != want {
			b.Fatalf("the listing found %d labelled services, want %d", labelled, want)
		}
	}
	b.StopTimer()
	calls, err := w.e.countCalls(mark, w.e.callMark(), nil)
	if err != nil {
		b.Fatal(err)
	}
	rcvPerOp(b, calls.total, "calls/op")
	rcvPerOp(b, calls.get, "gets/op")
}

// rcvPushWorld is a running world with the handful of labelled services and the serviceUpgrade receiver.
type rcvPushWorld struct {
	e *rcvEnv
	// matches are the services a push upgrades, sorted; decoy runs redis with the label.
	matches []string
	decoy   string
	// receiver and url are the serviceUpgrade receiver's id and trigger URL.
	receiver, url string
	// seen holds the execution ids of pushes already waited for.
	seen map[string]bool
}

// rcvNewPushWorld starts cattlesim with services services in all (populated ones plus the handful), and the
// service with its cache synced and the receiver created.
func rcvNewPushWorld(tb testing.TB, services int) (*rcvPushWorld, error) {
	const matches = 3
	e := rcvStart(tb, cattlesim.PopulateOptions{Services: services - matches - 1})
	w := &rcvPushWorld{e: e, seen: map[string]bool{}}
	ctx := context.Background()
	for i := range matches + 1 {
		image, name := "docker:nginx:1.13", fmt.Sprintf("bench-web-%d", i+1)
		if i == matches {
			image, name = "docker:redis:4.0", "bench-cache"
		}
		var s rcvService
		err := e.simDo(ctx, http.MethodPost, rcvSimPath("services"), map[string]any{"name": name,
			"stackId": e.pop.Stacks[0], "scale": 1, "launchConfig": map[string]any{"imageUuid": image,
				"labels": map[string]string{rcvPushLabel: rcvPushValue}}}, &s)
		if err != nil {
			return nil, err
		}
		if _, err := e.waitService(ctx, s.ID, "active", rcvService.settled); err != nil {
			return nil, err
		}
		if i == matches {
			w.decoy = s.ID
		} else {
			w.matches = append(w.matches, s.ID)
		}
	}
	slices.Sort(w.matches)
	if err := e.waitCached(services); err != nil {
		return nil, err
	}
	// The cache must show the handful active too, or the first push would wait for their creation to end.
	cachedActive := func() bool {
		for _, id := range append([]string{w.decoy}, w.matches...) {
			if s, ok := e.app.Store().Service(id); !ok || s.State != "active" {
				return false
			}
		}
		return true
	}
	if err := rcvWaitUntil(cachedActive); err != nil {
		return nil, fmt.Errorf("the cache never showed the labelled services active: %w", err)
	}
	var err error
	w.receiver, w.url, err = e.createReceiver(ctx, `{"name":"bench-upgrade","driver":"serviceUpgrade",`+
		`"serviceUpgradeConfig":{"serviceSelector":{"`+rcvPushLabel+`":"`+rcvPushValue+`"},"tag":"1.14",`+
		`"payloadFormat":"dockerhub","batchSize":1,"intervalMillis":100}}`)
	if err != nil {
		return nil, err
	}
	return w, nil
}

// rcvExecution is the part of an execution record the benchmark reads.
type rcvExecution struct {
	ID      string `json:"id"`
	Target  string `json:"target"`
	Outcome string `json:"outcome"`
	Error   string `json:"error"`
}

// push POSTs the Docker Hub payload, checks the 202 names exactly the matching services, and waits until each
// of them has a new execution that is done. It returns the time to the 202 and to the last done.
func (w *rcvPushWorld) push(ctx context.Context) (accept, done time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, rcvTimeout)
	defer cancel()
	t0 := time.Now()
	a, err := w.e.do(ctx, http.MethodPost, w.url, http.Header{"Content-Type": {"application/json"}}, rcvDockerHubPush)
	accept = time.Since(t0)
	if err != nil {
		return 0, 0, err
	}
	var r struct {
		ExecutionID string   `json:"executionId"`
		Result      string   `json:"result"`
		Targets     []string `json:"targets"`
	}
	if err := json.Unmarshal(a.Body, &r); err != nil {
		return 0, 0, fmt.Errorf("decode push answer %s: %w", a, err)
	}
	if a.Status != http.StatusAccepted || r.Result != "accepted" || !slices.Equal(r.Targets, w.matches) {
		return 0, 0, fmt.Errorf("push answered %s, want 202 accepted for exactly %v", a, w.matches)
	}
	w.seen[r.ExecutionID] = true
	var last []rcvExecution
	var failure error
	finished := func() bool {
		recs, lerr := w.executions(ctx)
		if lerr != nil {
			failure = lerr
			return true
		}
		last = recs
		pending := map[string]bool{}
		for _, id := range w.matches {
			pending["service:"+id] = true
		}
		for _, rec := range last {
			if w.seen[rec.ID] || !pending[rec.Target] {
				continue
			}
			switch rec.Outcome {
			case "done":
				delete(pending, rec.Target)
			case "failed", "ignored", "rejected":
				failure = fmt.Errorf("upgrade of %s ended %s: %s", rec.Target, rec.Outcome, rec.Error)
				return true
			}
		}
		return len(pending) == 0
	}
	if err := rcvWaitUntil(finished); err != nil {
		return 0, 0, fmt.Errorf("upgrades not done: %w (executions %+v)", err, last)
	}
	done = time.Since(t0)
	if failure != nil {
		return 0, 0, failure
	}
	for _, rec := range last {
		w.seen[rec.ID] = true
	}
	return accept, done, nil
}

// executions reads the receiver's newest executions from the service's history.
func (w *rcvPushWorld) executions(ctx context.Context) ([]rcvExecution, error) {
	h := http.Header{"X-Api-Project-Id": {cattlesim.DefaultProjectID}}
	a, err := w.e.do(ctx, http.MethodGet, w.e.apiURL+"/v1-webhooks/executions?limit=20&receiverId="+w.receiver, h, nil)
	if err != nil {
		return nil, err
	}
	var c struct {
		Data []rcvExecution `json:"data"`
	}
	if a.Status != http.StatusOK {
		return nil, fmt.Errorf("list executions: %s", a)
	}
	if err := json.Unmarshal(a.Body, &c); err != nil {
		return nil, fmt.Errorf("decode executions: %w: %s", err, a.Body)
	}
	return c.Data, nil
}

// originalListing reads every service the way the original does on a push and returns how many carry the
// receiver's label.
func (w *rcvPushWorld) originalListing(ctx context.Context) (int, error) {
	labelled := 0
	path := rcvSimPath("services")
	for path != "" {
		var page struct {
			Data []struct {
				LaunchConfig struct {
					Labels map[string]any `json:"labels"`
				} `json:"launchConfig"`
			} `json:"data"`
			Pagination struct {
				Partial bool   `json:"partial"`
				Next    string `json:"next"`
			} `json:"pagination"`
		}
		if err := w.e.simDo(ctx, http.MethodGet, path, nil, &page); err != nil {
			return 0, err
		}
		for _, s := range page.Data {
			if v, ok := s.LaunchConfig.Labels[rcvPushLabel].(string); ok && strings.EqualFold(v, rcvPushValue) {
				labelled++
			}
		}
		path = ""
		if page.Pagination.Partial {
			next, ok := strings.CutPrefix(page.Pagination.Next, w.e.simURL)
			if !ok {
				return 0, fmt.Errorf("pagination.next %q is not on cattlesim's URL %s", page.Pagination.Next, w.e.simURL)
			}
			path = next
		}
	}
	return labelled, nil
}
