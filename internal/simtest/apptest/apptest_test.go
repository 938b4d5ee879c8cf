package apptest

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rancher/scale-subscriber/app"
	"github.com/rancher/scale-subscriber/config"
	"github.com/rancher/scale-subscriber/internal/simtest"
)

// The service starts against the sim with the hooks applied (Configure last, over the wiring), becomes healthy,
// logs into its buffer, serves its API on APIURL, and stops cleanly.
func TestStartWaitHealthyStop(t *testing.T) {
	sim := simtest.StartSim(t, simtest.SimOptions{})
	var prepared atomic.Bool
	svc := Start(t, sim, Options{
		Configure: func(c *config.Config) { c.PublicURL = "http://hooks.example" },
		Prepare:   func(*app.App) { prepared.Store(true) },
	})
	if !prepared.Load() {
		t.Fatal("Prepare did not run before Start returned")
	}
	svc.WaitHealthy(t)
	if n := svc.Metric(t, "scale_subscriber_websocket_reconnects_total", nil); n != 0 {
		t.Errorf("reconnects = %v on a fresh start, want 0", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), simtest.DefaultTimeout)
	defer cancel()
	h := http.Header{"Content-Type": {"application/json"}, "X-Api-Project-Id": {"1a5"}}
	a, err := simtest.Send(ctx, http.DefaultClient, http.MethodPost, svc.APIURL+"/v1-webhooks/receivers", h,
		[]byte(`{"name":"up","driver":"scaleService","scaleServiceConfig":{"serviceId":"`+sim.ID(t, "service/web")+
			`","action":"up","amount":1,"min":1,"max":5}}`))
	public := `"http://hooks.example/v1-webhooks/endpoint?key=`
	if err != nil || a.Status != http.StatusOK || !strings.Contains(string(a.Body), public) {
		t.Fatalf("create receiver: %v %s, want 200 with a trigger URL on the configured public URL", err, a)
	}

	if err := svc.Stop(); err != nil {
		t.Fatalf("Stop = %v, want nil", err)
	}
	if err := svc.Stop(); err != nil {
		t.Fatalf("second Stop = %v, want the same nil", err)
	}
	if !strings.Contains(svc.Logs.String(), `"level":"info"`) {
		t.Errorf("no JSON info line in the service's logs:\n%s", svc.Logs.Tail(4<<10))
	}
	if _, err := svc.CheckHealth(ctx); err == nil {
		t.Error("the health listener still answers after Stop")
	}
}
