package simtest

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/rancher/scale-subscriber/cattlesim"
)

// ProjectPath is the v2-beta path of a collection or resource of the demo project 1a5 ("services/1s5").
func ProjectPath(rest string) string {
	return "/v2-beta/projects/" + cattlesim.DefaultProjectID + "/" + rest
}

// ServiceView is the part of a Cattle service the tests look at.
type ServiceView struct {
	ID            string `json:"id"`
	Name          string `json:"name"`
	State         string `json:"state"`
	Transitioning string `json:"transitioning"`
	Scale         int    `json:"scale"`
	LaunchConfig  struct {
		ImageUUID string            `json:"imageUuid"`
		Labels    map[string]string `json:"labels"`
		Ports     []string          `json:"ports"`
	} `json:"launchConfig"`
}

func (s ServiceView) String() string {
	return fmt.Sprintf("service %s (%s) is %s (transitioning %q), scale %d, image %s", s.Name, s.ID, s.State,
		s.Transitioning, s.Scale, s.LaunchConfig.ImageUUID)
}

// Settled reports whether the service is active with no process running on it.
func (s ServiceView) Settled() bool { return s.State == "active" && s.Transitioning == "no" }

// Service reads service id of 1a5 through the REST API, failing the test on an error.
func (s *Sim) Service(tb testing.TB, id string) ServiceView {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var v ServiceView
	if err := s.Do(ctx, http.MethodGet, ProjectPath("services/"+id), nil, &v); err != nil {
		tb.Fatalf("read service %s: %v", id, err)
	}
	return v
}

// WaitService waits until cond holds for service id of 1a5 and returns the service as it was then.
func (s *Sim) WaitService(tb testing.TB, id, what string, cond func(ServiceView) bool) ServiceView {
	tb.Helper()
	var v ServiceView
	Eventually(tb, s.timeout, what, func() (bool, string) {
		v = s.Service(tb, id)
		return cond(v), v.String()
	})
	return v
}

// CreateService creates a service in 1a5's stack "demo" of the demo seed and waits until it has settled.
func (s *Sim) CreateService(tb testing.TB, name, image string, scale int, labels map[string]string) ServiceView {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	var v ServiceView
	err := s.Do(ctx, http.MethodPost, ProjectPath("services"), map[string]any{"name": name,
		"stackId": s.ID(tb, "stack/demo"), "scale": scale,
		"launchConfig": map[string]any{"imageUuid": image, "labels": labels}}, &v)
	if err != nil {
		tb.Fatalf("create service %s: %v", name, err)
	}
	return s.WaitService(tb, v.ID, "service "+name+" settled", ServiceView.Settled)
}
