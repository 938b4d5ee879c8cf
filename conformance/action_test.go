package conformance

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/rancher/scale-subscriber/cattle"
)

// §2.5, §2.6, §7.5: an action not in the resource's current actions map is 422 ActionNotAvailable
// (fieldName "action"), an unknown action 422 InvalidAction, an unknown id 404, all as Cattle error JSON; our
// client surfaces the server's refusal as a typed, non-retryable *cattle.APIError and refuses an action it can
// see is unavailable without a request (*cattle.ActionNotAvailableError).

func TestActionInWrongStateIsActionNotAvailable(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client(e.env5)
	webID := e.id("1a5/service/web")
	self := project5 + "/services/" + webID

	r := e.do(http.MethodPost, self+"/?action=finishupgrade", &e.env5, nil)
	if r.status != http.StatusUnprocessableEntity || str(r.body, "code") != "ActionNotAvailable" ||
		str(r.body, "fieldName") != "action" {
		t.Errorf("finishupgrade on an active service: %d %s, want 422 ActionNotAvailable fieldName action", r.status,
			snippet(r.raw))
	}
	// The error resource of §2.6.
	if str(r.body, "type") != "error" || str(r.body, "baseType") != "error" || str(r.body, "id") == "" ||
		obj(r.body, "links") == nil || obj(r.body, "actions") == nil {
		t.Errorf("error body %s, want id, type/baseType error, links and actions (§2.6)", snippet(r.raw))
	}
	if status, _ := num(r.body, "status"); status != http.StatusUnprocessableEntity {
		t.Errorf("error body status %v, want 422", r.body["status"])
	}
	for _, tc := range []struct {
		path, code string
		status     int
	}{
		{self + "/?action=nosuchaction", "InvalidAction", http.StatusUnprocessableEntity},
		{project5 + "/services/1s999999/?action=upgrade", "Not Found", http.StatusNotFound},
	} {
		r := e.do(http.MethodPost, tc.path, &e.env5, map[string]any{})
		if r.status != tc.status || str(r.body, "code") != tc.code {
			t.Errorf("POST %s: %d %s, want %d %s", tc.path, r.status, snippet(r.raw), tc.status, tc.code)
		}
	}

	// A stale copy still offers upgrade; once the service is upgrading the server refuses it. The stall keeps
	// web in upgrading for the rest of the test.
	stale := getService(t, c, webID)
	e.control(http.MethodPost, "stall", map[string]any{"type": "service", "id": webID, "stalled": true})
	upgradeImage(t, c, getService(t, c, webID), "docker:nginx:1.14", cattle.InServiceStrategy{BatchSize: 1,
		IntervalMillis: 100})
	lc := stale.LaunchConfig.Clone()
	lc.SetImageUUID("docker:nginx:1.15")
	_, err := c.ServiceAction(t.Context(), stale, cattle.ActionUpgrade,
		&cattle.ServiceUpgrade{InServiceStrategy: &cattle.InServiceStrategy{LaunchConfig: lc}})
	ae := asAPIError(t, err, "upgrade of an upgrading service through a stale copy")
	if ae.Status != http.StatusUnprocessableEntity || ae.Code != "ActionNotAvailable" || ae.FieldName != "action" {
		t.Errorf("stale upgrade: %+v, want 422 ActionNotAvailable field action", ae)
	}
	if cattle.IsRetryable(err) {
		t.Errorf("ActionNotAvailable must not be retryable: %v", err)
	}
	if got := getService(t, c, webID); got.LaunchConfig.ImageUUID() != "docker:nginx:1.14" {
		t.Errorf("the refused upgrade changed the image to %s", got.LaunchConfig.ImageUUID())
	}

	// With a fresh copy the client sees that finishupgrade is not offered while upgrading and sends nothing.
	fresh := getService(t, c, webID)
	if fresh.State != "upgrading" {
		t.Fatalf("stalled web is %s, want upgrading", fresh.State)
	}
	_, since := e.calls(0)
	_, err = c.ServiceAction(t.Context(), fresh, cattle.ActionFinishUpgrade, nil)
	var na *cattle.ActionNotAvailableError
	if !errors.As(err, &na) || na.Action != cattle.ActionFinishUpgrade || na.State != "upgrading" {
		t.Errorf("finishupgrade on an upgrading service: %v, want *cattle.ActionNotAvailableError", err)
	}
	calls, _ := e.calls(since)
	for _, cl := range calls {
		if cl.Method == http.MethodPost && strings.Contains(cl.Query, "action=finishupgrade") {
			t.Errorf("client sent %s %s?%s although the action was not offered", cl.Method, cl.Path, cl.Query)
		}
	}
}
