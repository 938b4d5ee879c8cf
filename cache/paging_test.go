package cache

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
)

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestRelistSkipsNoRowWhenAnEarlierOneIsRemoved runs a relist against cattlesim (real offset pagination, removed
// rows hidden from lists) and removes the first receiver between the first and the second page. Paging by
// offset, the second page would start one row late and the fifth receiver would never be cached; paging by id
// it is listed.
func TestRelistSkipsNoRowWhenAnEarlierOneIsRemoved(t *testing.T) {
	const receivers, pageSize = 10, 4
	sim := cattlesim.New(cattlesim.Options{Timings: cattlesim.Timings{Step: time.Millisecond}, RandSeed: 1})
	t.Cleanup(sim.Close)
	info, err := sim.Seed(cattlesim.SeedEmpty, cattlesim.SeedOptions{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cred := info.Credentials[0]
	newClient := func(hc *http.Client) *cattle.Client {
		c, err := cattle.New(ctx, cattle.Options{URL: srv.URL + "/v1", AccessKey: cred.AccessKey,
			SecretKey: cred.SecretKey, HTTPClient: hc})
		if err != nil {
			t.Fatalf("client: %v", err)
		}
		return c
	}
	writer := newClient(nil)
	var created []*cattle.GenericObject
	for n := range receivers {
		g, err := writer.CreateGenericObject(ctx, cattle.GenericObject{
			Resource: cattle.Resource{Name: fmt.Sprintf("r%d", n), Kind: ReceiverKind}, Key: fmt.Sprintf("k%d", n)})
		if err != nil {
			t.Fatal(err)
		}
		created = append(created, g)
	}

	// Before the informer's second page of receivers, the first receiver goes away for good.
	var once sync.Once
	var removeErr error
	removeFirst := func() {
		if _, err := writer.DeleteGenericObject(ctx, created[0]); err != nil {
			removeErr = err
			return
		}
		for ctx.Err() == nil {
			g, err := writer.GetGenericObject(ctx, created[0].ID)
			if err != nil || g.IsRemoved() {
				removeErr = err
				return
			}
			timer := time.NewTimer(time.Millisecond)
			select {
			case <-timer.C:
			case <-ctx.Done():
				timer.Stop()
			}
		}
		removeErr = ctx.Err()
	}
	hooked := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		q := r.URL.Query()
		if r.Method == http.MethodGet && q.Get("kind") == ReceiverKind && (q.Get("id_gt") != "" || q.Get("marker") != "") {
			once.Do(removeFirst)
		}
		return http.DefaultTransport.RoundTrip(r)
	})}
	store, _ := newTestStore(t)
	inf, err := NewInformer(InformerOptions{Store: store, Source: newClient(hooked), PageSize: pageSize})
	if err != nil {
		t.Fatal(err)
	}
	runInformer(t, inf)
	waitRelists(t, inf, 1)
	if removeErr != nil {
		t.Fatalf("removing the first receiver: %v", removeErr)
	}
	truth, err := writer.ListGenericObjects(ctx, cattle.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(truth) != receivers-1 {
		t.Fatalf("cattlesim lists %d receivers, want %d", len(truth), receivers-1)
	}
	for _, g := range truth {
		if _, ok := store.Receiver(g.ID); !ok {
			t.Errorf("receiver %s (%s) listed by cattle but not cached: the relist skipped it", g.ID, g.Name)
		}
	}
	// (The removed receiver itself may stay cached: it was on the first page, and its removal event is what
	// deletes it; this test runs no subscription.)
	if ctx.Err() != nil {
		t.Fatalf("test ran out of time: %v", ctx.Err())
	}
}
