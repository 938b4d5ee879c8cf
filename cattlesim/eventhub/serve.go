package eventhub

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/websocket"
)

// ServeSubscription upgrades r to a websocket and serves sub on it until the
// connection ends (client close, network error, slow consumer, lifetime or
// ping cap, Logout, DropAll or Run returning). The caller has authenticated
// the request already. Headers the caller set on w (e.g. X-API-Schemas,
// X-API-Account-Id) are sent with the 101 response. A subscription that fails
// ValidateSubscription, or arrives after Run returned, is answered with a
// Cattle error body and not upgraded.
func (h *Hub) ServeSubscription(w http.ResponseWriter, r *http.Request, sub Subscription) {
	if err := ValidateSubscription(sub); err != nil {
		var se *SubscribeError
		if errors.As(err, &se) && se.Status >= http.StatusInternalServerError {
			h.log.WithField("err", err).Error("refusing invalid subscription")
		}
		writeSubscribeError(w, err)
		return
	}
	if h.isStopped.Load() {
		writeSubscribeError(w, errStoppedSubscribe())
		return
	}

	hdr := w.Header().Clone()
	hdr.Del("Sec-Websocket-Extensions") // gorilla refuses to send it
	hdr.Del("Content-Length")
	ws, err := h.upgrader.Upgrade(w, r, hdr)
	if err != nil {
		// gorilla has already answered the request with an HTTP error.
		h.log.WithField("err", err).Debug("websocket upgrade failed")
		return
	}
	log := h.log
	if sub.AccountID != "" {
		log = log.WithField("project_id", sub.AccountID)
	}
	c := newConn(ws, sub, &h.opts, log)
	if !h.register(c) {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(h.opts.WriteTimeout))
		_ = ws.Close()
		return
	}
	defer h.connWG.Done()
	defer h.unregister(c)
	log.Debug("subscription opened")
	c.run()
	log.Debug("subscription closed")
}

func errStoppedSubscribe() error {
	return &SubscribeError{Status: http.StatusServiceUnavailable, Code: CodeServiceUnavailable,
		Message: "event hub stopped"}
}

// apiErrorBody is Cattle's error resource (protocol §2.6).
type apiErrorBody struct {
	ID        string            `json:"id"`
	Type      string            `json:"type"`
	BaseType  string            `json:"baseType"`
	Links     map[string]string `json:"links"`
	Actions   map[string]string `json:"actions"`
	Status    int               `json:"status"`
	Code      string            `json:"code"`
	Message   *string           `json:"message"`
	Detail    *string           `json:"detail"`
	FieldName *string           `json:"fieldName"`
}

// writeSubscribeError is the package's one HTTP error writer.
func writeSubscribeError(w http.ResponseWriter, err error) {
	body := apiErrorBody{ID: newUUID(), Type: "error", BaseType: "error",
		Links: map[string]string{}, Actions: map[string]string{},
		Status: http.StatusInternalServerError, Code: CodeInternalError}
	var se *SubscribeError
	if errors.As(err, &se) {
		body.Status, body.Code = se.Status, se.Code
		if se.Message != "" {
			body.Message = &se.Message
		}
		if se.FieldName != "" {
			body.FieldName = &se.FieldName
		}
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(body.Status)
	_ = json.NewEncoder(w).Encode(body)
}
