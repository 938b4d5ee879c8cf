package cattle

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestGetService(t *testing.T) {
	f := newFakeCattle(t)
	removed := f.serviceJSON("1s13", "old", "removed")
	removed["removed"] = "2017-07-28T09:10:11Z"
	f.handle("GET /v2-beta/projects/1a5/services/1s12", serveJSON(http.StatusOK, f.serviceJSON("1s12", "web", "active", "upgrade")))
	f.handle("GET /v2-beta/projects/1a5/services/1s13", serveJSON(http.StatusOK, removed))
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	t.Run("found", func(t *testing.T) {
		svc, err := c.GetService(ctx, "1s12")
		if err != nil {
			t.Fatal(err)
		}
		if svc.ID != "1s12" || svc.Name != "web" || svc.Scale != 2 || svc.LaunchConfig.ImageUUID() != "docker:nginx:1.13" {
			t.Fatalf("service = %+v", svc)
		}
		if !svc.HasAction(ActionUpgrade) || svc.HasAction(ActionFinishUpgrade) {
			t.Fatalf("actions = %v", svc.Actions)
		}
	})
	t.Run("removed is still returned", func(t *testing.T) {
		svc, err := c.GetService(ctx, "1s13")
		if err != nil {
			t.Fatal(err)
		}
		if !svc.IsRemoved() || svc.State != "removed" {
			t.Fatalf("service = %+v", svc)
		}
	})
	t.Run("404 is ErrNotFound", func(t *testing.T) {
		_, err := c.GetService(ctx, "1s99")
		if !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusNotFound {
			t.Fatalf("err = %#v, want *APIError 404", err)
		}
		if !strings.HasPrefix(err.Error(), "get service 1s99: ") || IsRetryable(err) {
			t.Fatalf("err = %v (retryable %v)", err, IsRetryable(err))
		}
	})
	t.Run("empty id", func(t *testing.T) {
		before := len(f.requests())
		if _, err := c.GetService(ctx, ""); err == nil || !strings.Contains(err.Error(), "empty id") {
			t.Fatalf("err = %v", err)
		}
		if len(f.requestsSince(before)) != 0 {
			t.Fatal("a request was made for an empty id")
		}
	})
}

func TestTypedGets(t *testing.T) {
	f := newFakeCattle(t)
	one := func(id, typ string) http.HandlerFunc {
		return serveJSON(http.StatusOK, map[string]any{"id": id, "type": typ, "state": "active"})
	}
	f.handle("GET /v2-beta/projects/1a5/hosts/1h1", one("1h1", "host"))
	f.handle("GET /v2-beta/projects/1a5/stacks/1st3", one("1st3", "stack"))
	f.handle("GET /v2-beta/projects/1a5/genericobjects/1go4", one("1go4", "genericObject"))
	f.handle("GET /v2-beta/projects/1a5/hosttemplates/1ht1", one("1ht1", "hostTemplate"))
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() (*Resource, error)
		want string
	}{
		{"host", func() (*Resource, error) {
			r, err := c.GetHost(ctx, "1h1")
			if err != nil {
				return nil, err
			}
			return &r.Resource, nil
		}, "1h1"},
		{"stack", func() (*Resource, error) {
			r, err := c.GetStack(ctx, "1st3")
			if err != nil {
				return nil, err
			}
			return &r.Resource, nil
		}, "1st3"},
		{"genericObject", func() (*Resource, error) {
			r, err := c.GetGenericObject(ctx, "1go4")
			if err != nil {
				return nil, err
			}
			return &r.Resource, nil
		}, "1go4"},
		{"hostTemplate", func() (*Resource, error) {
			r, err := c.GetHostTemplate(ctx, "1ht1")
			if err != nil {
				return nil, err
			}
			return &r.Resource, nil
		}, "1ht1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.call()
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.want || got.State != "active" {
				t.Fatalf("got %+v, want id %q", got, tt.want)
			}
		})
	}
}

func TestUpdateService(t *testing.T) {
	f := newFakeCattle(t)
	f.handle("PUT /v2-beta/projects/1a5/services/1s12", func(w http.ResponseWriter, r *http.Request) {
		s := f.serviceJSON("1s12", "web", "updating-active")
		s["scale"] = 3
		writeJSON(w, http.StatusOK, s)
	})
	c := newTestClient(t, f, nil)
	var svc Service
	raw, _ := json.Marshal(f.serviceJSON("1s12", "web", "active"))
	if err := json.Unmarshal(raw, &svc); err != nil {
		t.Fatal(err)
	}

	before := len(f.requests())
	got, err := c.UpdateService(context.Background(), &svc, map[string]any{"scale": 3})
	if err != nil {
		t.Fatalf("UpdateService: %v", err)
	}
	if got.Scale != 3 || got.State != "updating-active" {
		t.Fatalf("updated = %+v", got)
	}
	reqs := f.requestsSince(before)
	if len(reqs) != 1 || reqs[0].Method != http.MethodPut || reqs[0].Path != "/v2-beta/projects/1a5/services/1s12" {
		t.Fatalf("requests = %+v", reqs)
	}
	if want := map[string]any{"scale": float64(3)}; !reflect.DeepEqual(decodeBody(t, reqs[0].Body), want) {
		t.Fatalf("body = %s, want only the given fields", reqs[0].Body)
	}
	if reqs[0].ContentType != "application/json" {
		t.Fatalf("content type = %q", reqs[0].ContentType)
	}
}

func TestUpdateErrors(t *testing.T) {
	f := newFakeCattle(t)
	f.handle("PUT /v2-beta/projects/1a5/services/1s12", serveJSON(http.StatusConflict,
		map[string]any{"type": "error", "status": 409, "code": "Conflict", "message": "Conflict"}))
	f.setSchema(f.schema("genericObject", "genericObjects", []string{"GET", "POST"}, []string{"GET", "DELETE"}))
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	svc := &Service{Resource: Resource{ID: "1s12", Type: "service", Links: map[string]string{"self": f.projectURL("services/1s12")}}}

	t.Run("409 is retryable and names the operation", func(t *testing.T) {
		_, err := c.UpdateService(ctx, svc, map[string]any{"scale": 3})
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.Status != 409 || !IsRetryable(err) {
			t.Fatalf("err = %v", err)
		}
		if !strings.HasPrefix(err.Error(), "update service 1s12: ") {
			t.Fatalf("err = %v", err)
		}
	})
	tests := []struct {
		name  string
		r     *Resource
		check func(error) bool
	}{
		{"schema forbids PUT", &Resource{ID: "1go4", Type: "genericObject", Links: map[string]string{"self": f.projectURL("genericobjects/1go4")}},
			func(err error) bool {
				var mna *MethodNotAllowedError
				return errors.As(err, &mna) && mna.Method == "PUT" && mna.Target == "resource"
			}},
		{"no self link", &Resource{ID: "1s12", Type: "service"},
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "no self link") }},
		{"unknown type", &Resource{ID: "1x1", Type: "bogus", Links: map[string]string{"self": f.url("/x")}},
			func(err error) bool { return errors.Is(err, ErrUnknownSchema) }},
		{"nil resource", nil,
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "nil resource") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			err := c.Update(ctx, tt.r, map[string]any{"name": "x"}, nil)
			if !tt.check(err) {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(f.requestsSince(before)) != 0 {
				t.Fatal("a request was made")
			}
		})
	}
}

func TestServiceAction(t *testing.T) {
	f := newFakeCattle(t)
	f.handle("POST /v2-beta/projects/1a5/services/1s12/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("action") != "upgrade" {
			writeJSON(w, http.StatusUnprocessableEntity, map[string]any{"type": "error", "status": 422, "code": "InvalidAction"})
			return
		}
		writeJSON(w, http.StatusAccepted, f.serviceJSON("1s12", "web", "upgrading", "cancelupgrade", "rollback"))
	})
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	var svc Service
	raw := []byte(`{"id":"1s12","type":"service","state":"active",
		"links":{"self":"` + f.projectURL("services/1s12") + `"},
		"actions":{"upgrade":"` + f.projectURL("services/1s12") + `/?action=upgrade"},
		"launchConfig":{"type":"launchConfig","imageUuid":"docker:nginx:1.13","ports":["80:80/tcp"],
			"environment":{"A":"1"},"labels":{"app":"web","n":5},"healthCheck":{"port":80},"futureField":{"x":[1,2]}}}`)
	if err := json.Unmarshal(raw, &svc); err != nil {
		t.Fatal(err)
	}

	t.Run("upgrade posts the full launch config to actions[upgrade]", func(t *testing.T) {
		lc := svc.LaunchConfig.Clone()
		lc.SetImageUUID("docker:nginx:1.14")
		lc.SetLabel("io.rancher.container.pull_image", "always")
		input := &ServiceUpgrade{InServiceStrategy: &InServiceStrategy{BatchSize: 1, IntervalMillis: 2000, LaunchConfig: lc}}

		before := len(f.requests())
		got, err := c.ServiceAction(ctx, &svc, ActionUpgrade, input)
		if err != nil {
			t.Fatalf("ServiceAction: %v", err)
		}
		if got.State != "upgrading" || !got.HasAction(ActionRollback) {
			t.Fatalf("service = %+v", got)
		}
		reqs := f.requestsSince(before)
		if len(reqs) != 1 || reqs[0].Method != http.MethodPost || reqs[0].Path != "/v2-beta/projects/1a5/services/1s12/" ||
			reqs[0].Query.Get("action") != "upgrade" {
			t.Fatalf("requests = %+v", reqs)
		}
		want := decodeBody(t, []byte(`{"inServiceStrategy":{"batchSize":1,"intervalMillis":2000,"startFirst":false,
			"launchConfig":{"type":"launchConfig","imageUuid":"docker:nginx:1.14","ports":["80:80/tcp"],
			"environment":{"A":"1"},"labels":{"app":"web","n":"5","io.rancher.container.pull_image":"always"},
			"healthCheck":{"port":80},"futureField":{"x":[1,2]}}}}`))
		if got := decodeBody(t, reqs[0].Body); !reflect.DeepEqual(got, want) {
			t.Fatalf("body = %s", reqs[0].Body)
		}
		if svc.LaunchConfig.ImageUUID() != "docker:nginx:1.13" {
			t.Fatal("modifying the clone changed the service's launch config")
		}
	})
	t.Run("absent action fails locally", func(t *testing.T) {
		before := len(f.requests())
		_, err := c.ServiceAction(ctx, &svc, ActionFinishUpgrade, nil)
		var nae *ActionNotAvailableError
		if !errors.As(err, &nae) || nae.Action != "finishupgrade" || nae.ResourceID != "1s12" || nae.State != "active" {
			t.Fatalf("err = %v, want *ActionNotAvailableError", err)
		}
		if IsRetryable(err) || !strings.HasPrefix(err.Error(), "action finishupgrade on service 1s12: ") {
			t.Fatalf("err = %v", err)
		}
		if len(f.requestsSince(before)) != 0 {
			t.Fatal("a request was made for an unavailable action")
		}
	})
}

func TestCreatesAndDeletes(t *testing.T) {
	f := newFakeCattle(t)
	created := func(v map[string]any) http.HandlerFunc { return serveJSON(http.StatusCreated, v) }
	f.handle("POST /v2-beta/projects/1a5/genericobjects", created(map[string]any{
		"id": "1go4", "type": "genericObject", "state": "requested",
		"links": map[string]string{"self": f.projectURL("genericobjects/1go4")},
	}))
	f.handle("DELETE /v2-beta/projects/1a5/genericobjects/1go4", serveJSON(http.StatusOK, map[string]any{
		"id": "1go4", "type": "genericObject", "state": "removing",
	}))
	f.handle("POST /v2-beta/projects/1a5/externalhostevents", created(map[string]any{"id": "1ee7", "type": "externalHostEvent"}))
	f.handle("POST /v2-beta/projects/1a5/hosts", created(map[string]any{"id": "1h9", "type": "host", "state": "registering"}))
	f.handle("POST /v2-beta/projects/1a5/publish", created(map[string]any{"type": "publish"}))
	c := newTestClient(t, f, nil)
	ctx := context.Background()

	var obj *GenericObject
	tests := []struct {
		name     string
		call     func() error
		method   string
		path     string
		wantBody string // JSON; "" means no body
	}{
		{
			name: "create generic object",
			call: func() error {
				var err error
				obj, err = c.CreateGenericObject(ctx, GenericObject{
					Resource:     Resource{Name: "scale-web-up", Kind: "webhookReceiver"},
					Key:          "k3y",
					ResourceData: map[string]json.RawMessage{"driver": json.RawMessage(`"scaleService"`)},
				})
				return err
			},
			method: "POST", path: "/v2-beta/projects/1a5/genericobjects",
			wantBody: `{"name":"scale-web-up","kind":"webhookReceiver","key":"k3y","resourceData":{"driver":"scaleService"}}`,
		},
		{
			name: "delete generic object",
			call: func() error {
				out, err := c.DeleteGenericObject(ctx, obj)
				if err == nil && out.State != "removing" {
					t.Fatalf("deleted = %+v", out)
				}
				return err
			},
			method: "DELETE", path: "/v2-beta/projects/1a5/genericobjects/1go4",
		},
		{
			name: "evacuate and delete a host",
			call: func() error {
				_, err := c.CreateExternalHostEvent(ctx, ExternalHostEvent{EventType: EventTypeHostEvacuate, HostID: "1h7", DeleteHost: true})
				return err
			},
			method: "POST", path: "/v2-beta/projects/1a5/externalhostevents",
			wantBody: `{"eventType":"host.evacuate","hostId":"1h7","deleteHost":true}`,
		},
		{
			name: "create host from a map",
			call: func() error {
				h, err := c.CreateHost(ctx, map[string]any{"hostname": "node2", "amazonec2Config": map[string]any{"region": "eu"}})
				if err == nil && (h.ID != "1h9" || h.State != "registering") {
					t.Fatalf("host = %+v", h)
				}
				return err
			},
			method: "POST", path: "/v2-beta/projects/1a5/hosts",
			wantBody: `{"hostname":"node2","amazonec2Config":{"region":"eu"}}`,
		},
		{
			name: "publish a reply",
			call: func() error {
				return c.Publish(ctx, Publish{Name: "reply.1", PreviousIDs: []string{"e1"}, Transitioning: TransitioningError, TransitioningMessage: "boom"})
			},
			method: "POST", path: "/v2-beta/projects/1a5/publish",
			wantBody: `{"name":"reply.1","previousIds":["e1"],"transitioning":"error","transitioningMessage":"boom"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			reqs := f.requestsSince(before)
			if len(reqs) != 1 || reqs[0].Method != tt.method || reqs[0].Path != tt.path {
				t.Fatalf("requests = %+v", reqs)
			}
			if tt.wantBody == "" {
				if len(reqs[0].Body) != 0 {
					t.Fatalf("unexpected body %s", reqs[0].Body)
				}
				return
			}
			if reqs[0].ContentType != "application/json" {
				t.Fatalf("content type = %q", reqs[0].ContentType)
			}
			if got, want := decodeBody(t, reqs[0].Body), decodeBody(t, []byte(tt.wantBody)); !reflect.DeepEqual(got, want) {
				t.Fatalf("body = %s, want %s", reqs[0].Body, tt.wantBody)
			}
		})
	}
}

func TestPublishNeedsName(t *testing.T) {
	f := newFakeCattle(t)
	c := newTestClient(t, f, nil)
	before := len(f.requests())
	if err := c.Publish(context.Background(), Publish{}); err == nil || !strings.Contains(err.Error(), "empty name") {
		t.Fatalf("err = %v", err)
	}
	if len(f.requestsSince(before)) != 0 {
		t.Fatal("a request was made")
	}
}

func TestClientSideMethodChecks(t *testing.T) {
	f := newFakeCattle(t)
	c := newTestClient(t, f, nil)
	ctx := context.Background()
	tests := []struct {
		name       string
		call       func() error
		wantSchema string
		wantMethod string
		wantTarget string
	}{
		{"get without resource GET", func() error { return c.ByID(ctx, "publish", "1p1", &Publish{}) }, "publish", "GET", "resource"},
		{"create without collection POST", func() error { return c.Create(ctx, "instance", map[string]any{"name": "x"}, nil) }, "instance", "POST", "collection"},
		{"delete without resource DELETE", func() error {
			return c.Delete(ctx, &Resource{ID: "1ee1", Type: "externalHostEvent", Links: map[string]string{"self": f.projectURL("externalhostevents/1ee1")}}, nil)
		}, "externalHostEvent", "DELETE", "resource"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			err := tt.call()
			var mna *MethodNotAllowedError
			if !errors.As(err, &mna) || mna.SchemaID != tt.wantSchema || mna.Method != tt.wantMethod || mna.Target != tt.wantTarget {
				t.Fatalf("err = %v, want MethodNotAllowedError %s %s %s", err, tt.wantSchema, tt.wantMethod, tt.wantTarget)
			}
			if IsRetryable(err) {
				t.Fatal("a client-side refusal is retryable")
			}
			if len(f.requestsSince(before)) != 0 {
				t.Fatal("a request was made")
			}
		})
	}
}
