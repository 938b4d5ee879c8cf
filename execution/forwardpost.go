package execution

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/rancher/scale-subscriber/receivers"
)

// DefaultForwardTimeout bounds one forwardPost relay.
const DefaultForwardTimeout = 30 * time.Second

// maxForwardResponse caps the upstream answer relayed back to the sender.
const maxForwardResponse = 1 << 20

// hopHeaders are not relayed: they describe one connection, or carry credentials meant for us.
var hopHeaders = []string{"Authorization", "Connection", "Content-Length", "Cookie", "Host", "Keep-Alive",
	"Proxy-Authenticate", "Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"X-Api-Project-Id", "X-Api-Roles"}

// Forwarder relays forwardPost triggers through Cattle's service proxy, as webhook-service did:
// POST <cattle>/r/projects/<projectId>/<serviceName>:<port><path>?<query> with the trigger's body and headers and
// our own Basic auth.
type Forwarder struct {
	// Base is the Cattle server's root URL, e.g. "http://rancher:8080" (no /v1 or /v2-beta).
	Base string
	// Authorization is the Authorization header value for Cattle (our API key). Never logged.
	Authorization string
	// Client does the request; http.DefaultClient with DefaultForwardTimeout when nil.
	Client *http.Client
}

// forwardAnswer is the body answered when the upstream answer is not JSON.
type forwardAnswer struct {
	ExecutionID string `json:"executionId"`
	Status      int    `json:"status"`
	Body        string `json:"body,omitempty"`
}

func (f *Forwarder) target(cfg receivers.ForwardPostConfig, query url.Values) (string, error) {
	if cfg.ProjectID == "" || cfg.ServiceName == "" || cfg.Port == "" {
		return "", errors.New("forwardPostConfig needs projectId, serviceName and port")
	}
	q := url.Values{}
	for k, v := range query {
		// The trigger key is a secret of this receiver; the service behind the proxy has no use for it.
		if k != "key" {
			q[k] = v
		}
	}
	path := cfg.Path
	if path != "" && !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u := strings.TrimSuffix(f.Base, "/") + "/r/projects/" + url.PathEscape(cfg.ProjectID) + "/" +
		url.PathEscape(cfg.ServiceName) + ":" + url.PathEscape(cfg.Port) + path
	if enc := q.Encode(); enc != "" {
		u += "?" + enc
	}
	return u, nil
}

func (x *Executor) executeForwardPost(ctx context.Context, e *Entry, t receivers.Trigger) Answer {
	e.SetInput(fmt.Sprintf("%d-byte body", len(t.Body)))
	f := x.forwarder
	if f == nil {
		e.Finish(OutcomeFailed, errors.New("forwardPost is not configured"))
		return errorAnswer(http.StatusNotImplemented, e.ID(), "", "forwardPost is not configured")
	}
	target, err := f.target(t.Receiver.ForwardPost, t.Query)
	if err != nil {
		return rejected(e, err.Error())
	}
	e.Running()
	ctx, cancel := context.WithTimeout(ctx, DefaultForwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(t.Body))
	if err != nil {
		return rejected(e, "build forward request: "+err.Error())
	}
	for k, v := range t.Header {
		req.Header[k] = append([]string(nil), v...)
	}
	for _, h := range hopHeaders {
		req.Header.Del(h)
	}
	req.Header.Set("Authorization", f.Authorization)
	client := f.Client
	if client == nil {
		client = &http.Client{Timeout: DefaultForwardTimeout}
	}
	start := time.Now()
	resp, err := client.Do(req)
	call := Call{Method: http.MethodPost, Target: "r/projects/" + t.Receiver.ForwardPost.ProjectID + "/" +
		t.Receiver.ForwardPost.ServiceName + ":" + t.Receiver.ForwardPost.Port + t.Receiver.ForwardPost.Path}
	if err != nil {
		call.Error, call.Millis = err.Error(), time.Since(start).Milliseconds()
		e.AddCall(call)
		e.Finish(OutcomeFailed, err)
		return errorAnswer(http.StatusBadGateway, e.ID(), "", "forward: "+err.Error())
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxForwardResponse))
	call.Status, call.Millis = resp.StatusCode, time.Since(start).Milliseconds()
	e.AddCall(call)
	if err != nil {
		e.Finish(OutcomeFailed, err)
		return errorAnswer(http.StatusBadGateway, e.ID(), "", "forward: read answer: "+err.Error())
	}
	e.SetDecision(fmt.Sprintf("forwarded, upstream answered %d", resp.StatusCode))
	outcome := OutcomeDone
	if resp.StatusCode >= 400 {
		outcome = OutcomeFailed
	}
	e.Finish(outcome, nil)
	// Relay the upstream status, as the original did: the sender is talking to its own service.
	if json.Valid(body) && len(bytes.TrimSpace(body)) > 0 {
		return Answer{Status: resp.StatusCode, Body: json.RawMessage(body)}
	}
	return Answer{Status: resp.StatusCode, Body: forwardAnswer{ExecutionID: e.ID(), Status: resp.StatusCode, Body: string(body)}}
}
