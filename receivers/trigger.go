package receivers

import (
	"net/http"
	"strings"

	"github.com/sirupsen/logrus"
)

// errRevoked is the original's answer for a key that names no live receiver of the project. It is also the
// answer for a projectId this service does not serve, so the two cannot be told apart.
func errRevoked() error {
	return fail(http.StatusForbidden, "Requested webhook has been revoked/does not exist for this account")
}

// trigger answers POST /v1-webhooks/endpoint?key=<key>&projectId=<p>: the unauthenticated trigger URL (Rancher
// proxies it without authentication). The key is the credential: it is looked up in the cache, confirmed in
// constant time, and never logged. The body is read whole (capped) before the Executor runs, so an oversize
// request does nothing.
func (a *API) trigger(w http.ResponseWriter, r *http.Request) error {
	received := a.now()
	q := r.URL.Query()
	key := q.Get("key")
	if key == "" {
		if q.Get("token") != "" {
			return fail(http.StatusBadRequest, "This trigger URL is a Rancher 1.4 token (JWT) URL, which is no longer "+
				"supported: re-create the receiver and use its new URL")
		}
		return fail(http.StatusBadRequest, "Invalid execute url, should have 'token' or 'key'")
	}
	project := strings.TrimSpace(q.Get("projectId"))
	if project == "" {
		project = strings.TrimSpace(r.Header.Get(headerProjectID))
	}
	if project == "" {
		return fail(http.StatusBadRequest, "Invalid execute url, url must contain projectId")
	}
	if project != a.projectID {
		a.log.WithField("project_id", project).Warn("trigger for an environment not served here refused")
		return errRevoked()
	}
	obj, err := a.findByKey(r.Context(), key)
	if err != nil {
		return err
	}
	if obj == nil {
		a.log.Warn("trigger with an unknown or revoked key refused")
		return errRevoked()
	}
	log := a.log.WithFields(logrus.Fields{"receiver_id": obj.ID, "receiver_name": obj.Name})
	rcv, err := decodeReceiver(obj, a.projectID)
	if err != nil {
		log.WithError(err).Warn("trigger of an unreadable receiver refused")
		return fail(http.StatusBadRequest, "Receiver %s cannot be executed: %v", obj.ID, err)
	}
	// Before the body is read: a flood costs a map lookup per request, not a read and a parse.
	if err := a.checkRate(w, obj.Key, rcv, received); err != nil {
		return err
	}
	body, err := a.readBody(r)
	if err != nil {
		return err
	}
	out := a.exec.Execute(r.Context(), Trigger{
		Receiver: rcv,
		Body:     body,
		Header:   r.Header.Clone(),
		Query:    q,
		Received: received,
	})
	status := out.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status < 200 || status > 599 {
		log.WithField("status", status).Error("executor returned an invalid status")
		return fail(http.StatusInternalServerError, "internal error: invalid execution status %d", status)
	}
	log.WithFields(logrus.Fields{"driver": rcv.Driver, "status": status,
		"duration": a.now().Sub(received).String()}).Info("receiver triggered")
	if out.Body == nil {
		w.Header().Set("X-API-Schemas", responseBase(r)+apiPrefix+"/schemas")
		w.WriteHeader(status)
		return nil
	}
	writeJSON(w, r, status, out.Body)
	return nil
}
