package receivers

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"reflect"

	"github.com/sirupsen/logrus"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
)

// receiverInput is the body of a create or update: the original's Webhook model as a client writes it. Unknown
// members (id, links, url, state...) are ignored, so a client may send back what it read.
type receiverInput struct {
	Name                 string                `json:"name"`
	Driver               string                `json:"driver"`
	ScaleServiceConfig   *ScaleServiceConfig   `json:"scaleServiceConfig"`
	ScaleHostConfig      *ScaleHostConfig      `json:"scaleHostConfig"`
	ServiceUpgradeConfig *ServiceUpgradeConfig `json:"serviceUpgradeConfig"`
	ForwardPostConfig    *ForwardPostConfig    `json:"forwardPostConfig"`
	// Notify is the raw notify member (nil when the body has none); see parseNotifyInput.
	Notify json.RawMessage `json:"notify"`
	// notify is Notify decoded by decodeInput.
	notify notifyInput
	// RateLimit is the raw rateLimit member (nil when the body has none); rateLimit is it decoded.
	RateLimit json.RawMessage `json:"rateLimit"`
	rateLimit rateLimitInput
	// secretGiven says the body's serviceUpgradeConfig has a "secret" member (a value, "" or null). Secrets are
	// never rendered, so a client that sends back what it read sends none: an update without the member keeps
	// the stored secret, and only an explicit "" or null removes it.
	secretGiven bool
}

// applyConfig copies the input's config for r.Driver into r and reports whether the input had one.
func (in *receiverInput) applyConfig(r *Receiver) bool {
	switch r.Driver {
	case DriverScaleService:
		if in.ScaleServiceConfig != nil {
			r.ScaleService = *in.ScaleServiceConfig
			return true
		}
	case DriverScaleHost:
		if in.ScaleHostConfig != nil {
			r.ScaleHost = *in.ScaleHostConfig
			return true
		}
	case DriverServiceUpgrade:
		if in.ServiceUpgradeConfig != nil {
			r.ServiceUpgrade = *in.ServiceUpgradeConfig
			// Rendered only; a client sending back what it read must not store it.
			r.ServiceUpgrade.SecretSet = false
			return true
		}
	case DriverForwardPost:
		if in.ForwardPostConfig != nil {
			r.ForwardPost = *in.ForwardPostConfig
			return true
		}
	}
	return false
}

// decodeInput reads and decodes a write's body: capped, JSON content type, the original's "Bad request body"
// for anything that does not decode (a fraction where an integer belongs, a non-string label value...).
func (a *API) decodeInput(r *http.Request) (receiverInput, error) {
	body, err := a.readBody(r)
	if err != nil {
		return receiverInput{}, err
	}
	if err := requireJSON(r); err != nil {
		return receiverInput{}, err
	}
	var in receiverInput
	if err := json.Unmarshal(body, &in); err != nil {
		return receiverInput{}, fail(http.StatusBadRequest, "Bad request body: %v", err)
	}
	var probe struct {
		ServiceUpgradeConfig *struct {
			Secret json.RawMessage `json:"secret"`
		} `json:"serviceUpgradeConfig"`
	}
	// It decoded above, so it decodes here.
	_ = json.Unmarshal(body, &probe)
	in.secretGiven = probe.ServiceUpgradeConfig != nil && probe.ServiceUpgradeConfig.Secret != nil
	if in.notify, err = parseNotifyInput(in.Notify); err != nil {
		return receiverInput{}, err
	}
	if in.rateLimit, err = parseRateLimitInput(in.RateLimit); err != nil {
		return receiverInput{}, err
	}
	return in, nil
}

// listReceivers answers GET /v1-webhooks/receivers. Stored receivers that cannot be read are skipped with a
// warning, as the original did.
func (a *API) listReceivers(w http.ResponseWriter, r *http.Request) error {
	c, err := a.identify(r)
	if err != nil {
		return err
	}
	objs, err := a.listStored(r.Context())
	if err != nil {
		return err
	}
	data := make([]receiverResource, 0, len(objs))
	for _, obj := range objs {
		rcv, err := decodeReceiver(obj, a.projectID)
		if err != nil {
			a.log.WithError(err).WithField("receiver_id", obj.ID).Warn("skipping unreadable receiver")
			continue
		}
		data = append(data, a.render(r, c, rcv))
	}
	writeJSON(w, r, http.StatusOK, receiverCollection{
		Type:         "collection",
		ResourceType: "receiver",
		Links:        map[string]string{"self": withProject(requestURL(r), c.projectID)},
		Data:         data,
	})
	return nil
}

// getReceiver answers GET /v1-webhooks/receivers/<id>.
func (a *API) getReceiver(w http.ResponseWriter, r *http.Request, id string) error {
	c, err := a.identify(r)
	if err != nil {
		return err
	}
	obj, err := a.findStored(r.Context(), id)
	if err != nil {
		return err
	}
	rcv, err := decodeReceiver(obj, a.projectID)
	if err != nil {
		return failCause(http.StatusInternalServerError, err, "Unable to create webhook response")
	}
	writeJSON(w, r, http.StatusOK, a.render(r, c, rcv))
	return nil
}

// createReceiver answers POST /v1-webhooks/receivers, in the original's order of checks (cattle-protocol.md
// §6.3): body, content type, decoding, name, driver, name uniqueness, driver validation; then a new key and
// trigger URL, the genericObject, and 200 with the receiver.
func (a *API) createReceiver(w http.ResponseWriter, r *http.Request) error {
	c, err := a.identify(r)
	if err != nil {
		return err
	}
	if err := c.mayWrite(); err != nil {
		return err
	}
	in, err := a.decodeInput(r)
	if err != nil {
		return err
	}
	switch {
	case in.Name == "":
		return fail(http.StatusBadRequest, "Name not provided")
	case in.Driver == "":
		return fail(http.StatusBadRequest, "Driver not provided")
	case !knownDriver(in.Driver):
		return fail(http.StatusBadRequest, "Invalid driver %v", in.Driver)
	}
	rcv := Receiver{Name: in.Name, Driver: in.Driver, ProjectID: c.projectID, Notify: in.notify.cfg,
		RateLimit: in.rateLimit.limit}
	in.applyConfig(&rcv)
	rcv.setType()

	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	if err := a.checkUniqueName(r.Context(), rcv.Name, ""); err != nil {
		return err
	}
	if err := a.validate(r.Context(), &rcv); err != nil {
		return err
	}
	key, err := newKey(a.keys)
	if err != nil {
		return failCause(http.StatusInternalServerError, err, "Failed to create webhook")
	}
	rcv.URL = a.triggerURL(r, key, c.projectID)
	created, err := a.saveReceiver(r.Context(), rcv, key)
	if err != nil {
		return failCause(statusOf(err), err, "Failed to create webhook")
	}
	a.log.WithFields(logrus.Fields{"receiver_id": created.ID, "receiver_name": created.Name, "driver": created.Driver}).
		Info("receiver created")
	writeJSON(w, r, http.StatusOK, a.render(r, c, created))
	return nil
}

// updateReceiver answers PUT /v1-webhooks/receivers/<id> (which the original lacks). The body is a create body
// in which everything is optional: a missing name or driver keeps the current one, a missing config keeps the
// current config (unless the driver changes). The key and the trigger URL stay. Since genericObjects cannot be
// changed, a new one is stored with the same key and url and the old one is removed: the answer carries the
// new id. An update that changes nothing answers the receiver as it is.
func (a *API) updateReceiver(w http.ResponseWriter, r *http.Request, id string) error {
	c, err := a.identify(r)
	if err != nil {
		return err
	}
	if err := c.mayWrite(); err != nil {
		return err
	}
	in, err := a.decodeInput(r)
	if err != nil {
		return err
	}
	if in.Driver != "" && !knownDriver(in.Driver) {
		return fail(http.StatusBadRequest, "Invalid driver %v", in.Driver)
	}

	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	old, err := a.findStored(r.Context(), id)
	if err != nil {
		return err
	}
	if !a.live(old) {
		return errNotFound()
	}
	cur, err := decodeReceiver(old, a.projectID)
	if err != nil {
		return failCause(http.StatusInternalServerError, err, "Cannot update webhook %s", id)
	}
	next := cur
	if in.Name != "" {
		next.Name = in.Name
	}
	if in.Driver != "" && in.Driver != cur.Driver {
		next.Driver = in.Driver
		next.ScaleService, next.ScaleHost, next.ServiceUpgrade, next.ForwardPost =
			ScaleServiceConfig{}, ScaleHostConfig{}, ServiceUpgradeConfig{}, ForwardPostConfig{}
	}
	in.applyConfig(&next)
	if next.Driver == DriverServiceUpgrade && cur.Driver == DriverServiceUpgrade && !in.secretGiven {
		next.ServiceUpgrade.Secret = cur.ServiceUpgrade.Secret
	}
	// notify belongs to the receiver, not to a driver: it stays when the driver changes.
	if next.Notify, err = mergeNotify(cur.Notify, in.notify); err != nil {
		return err
	}
	next.RateLimit = mergeRateLimit(cur.RateLimit, in.rateLimit)
	next.setType()
	if err := a.validate(r.Context(), &next); err != nil {
		return err
	}
	if next.Name == cur.Name && next.Driver == cur.Driver && reflect.DeepEqual(next.config(), cur.config()) &&
		reflect.DeepEqual(next.Notify, cur.Notify) && reflect.DeepEqual(next.RateLimit, cur.RateLimit) {
		writeJSON(w, r, http.StatusOK, a.render(r, c, cur))
		return nil
	}
	if next.Name != cur.Name {
		if err := a.checkUniqueName(r.Context(), next.Name, old.ID); err != nil {
			return err
		}
	}
	created, err := a.saveReceiver(r.Context(), next, old.Key)
	if err != nil {
		return failCause(statusOf(err), err, "Failed to update webhook")
	}
	if err := a.remove(r.Context(), old); err != nil {
		// Do not leave two receivers answering one key: take the new one back.
		if rbErr := a.removeByID(r.Context(), created.ID); rbErr != nil {
			a.log.WithError(rbErr).WithFields(logrus.Fields{"receiver_id": created.ID, "replaced_id": old.ID}).
				Error("update failed and its new receiver could not be removed")
		}
		return failCause(statusOf(err), err, "Failed to update webhook")
	}
	a.log.WithFields(logrus.Fields{"receiver_id": created.ID, "replaced_id": old.ID, "receiver_name": created.Name,
		"driver": created.Driver}).Info("receiver updated")
	writeJSON(w, r, http.StatusOK, a.render(r, c, created))
	return nil
}

// deleteReceiver answers DELETE /v1-webhooks/receivers/<id> with 204. The trigger URL is revoked at once.
// Deleting a receiver already on its way out also answers 204.
func (a *API) deleteReceiver(w http.ResponseWriter, r *http.Request, id string) error {
	c, err := a.identify(r)
	if err != nil {
		return err
	}
	if err := c.mayWrite(); err != nil {
		return err
	}
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	obj, err := a.findStored(r.Context(), id)
	if err != nil {
		return err
	}
	if a.live(obj) {
		if err := a.remove(r.Context(), obj); err != nil {
			return failCause(statusOf(err), err, "Failed to delete webhook")
		}
		a.log.WithFields(logrus.Fields{"receiver_id": obj.ID, "receiver_name": obj.Name}).Info("receiver deleted")
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// saveReceiver creates the genericObject of rcv with key and puts Cattle's answer into the cache at once.
func (a *API) saveReceiver(ctx context.Context, rcv Receiver, key string) (Receiver, error) {
	in, err := newGenericObject(rcv, key)
	if err != nil {
		return Receiver{}, err
	}
	var raw json.RawMessage
	if err := a.cattle.Create(ctx, schemaGenericObject, in, &raw); err != nil {
		return Receiver{}, err
	}
	var obj cattle.GenericObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		return Receiver{}, err
	}
	a.recent.noteCreated(&obj)
	if _, _, err := a.store.Upsert(cache.KindReceiver, raw); err != nil {
		// The informer will bring it in with the next event; only read-your-writes is delayed.
		a.log.WithError(err).WithField("receiver_id", obj.ID).Warn("created receiver not cached")
	}
	created, err := decodeReceiver(&obj, a.projectID)
	if err != nil {
		return Receiver{}, err
	}
	return created, nil
}

// remove deletes obj in Cattle and drops it from the cache at once, so its key stops working now.
func (a *API) remove(ctx context.Context, obj *cattle.GenericObject) error {
	if err := a.cattle.Delete(ctx, &obj.Resource, nil); err != nil {
		return err
	}
	a.recent.noteRemoved(obj.ID)
	a.store.Delete(cache.KindReceiver, obj.ID)
	return nil
}

// removeByID re-reads and removes a receiver (to undo a half-done update).
func (a *API) removeByID(ctx context.Context, id string) error {
	var obj cattle.GenericObject
	if err := a.cattle.ByID(ctx, schemaGenericObject, id, &obj); err != nil {
		return err
	}
	return a.remove(ctx, &obj)
}

// triggerURL is <public base>/v1-webhooks/endpoint?key=<key>&projectId=<p>, the original's form.
func (a *API) triggerURL(r *http.Request, key, projectID string) string {
	base := a.publicURL
	if base == "" {
		base = responseBase(r)
	}
	return base + apiPrefix + "/endpoint?key=" + key + "&projectId=" + projectID
}

// statusOf propagates Cattle's status for its refusals (as the original did) and says 500 otherwise.
func statusOf(err error) int {
	var apiErr *cattle.APIError
	if errors.As(err, &apiErr) && apiErr.Status >= 400 && apiErr.Status <= 599 {
		return apiErr.Status
	}
	return http.StatusInternalServerError
}
