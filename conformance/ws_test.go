package conformance

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/cattlesim"
)

// A raw subscriber of the event websocket (cattle-protocol.md §1), built on gorilla/websocket only, so the
// suite checks the wire format itself rather than what our events package makes of it.

// wsEvent is one event frame as Cattle writes it (§1.6). Pointers tell absent from empty where it matters.
type wsEvent struct {
	ID            string          `json:"id"`
	Name          string          `json:"name"`
	ReplyTo       string          `json:"replyTo"`
	ResourceID    *string         `json:"resourceId"`
	ResourceType  *string         `json:"resourceType"`
	PreviousIDs   []string        `json:"previousIds"`
	Data          json.RawMessage `json:"data"`
	Time          int64           `json:"time"`
	TimeoutMillis int64           `json:"timeoutMillis"`

	// raw is the whole frame.
	raw []byte
}

// resID is the event's resourceId, "" when null or absent.
func (ev wsEvent) resID() string {
	if ev.ResourceID == nil {
		return ""
	}
	return *ev.ResourceID
}

// resource decodes data.resource of a resource.change event.
func (ev wsEvent) resource() (map[string]any, error) {
	var d struct {
		Resource map[string]any `json:"resource"`
	}
	if err := json.Unmarshal(ev.Data, &d); err != nil {
		return nil, fmt.Errorf("decode data of %s: %w", ev.Name, err)
	}
	if d.Resource == nil {
		return nil, fmt.Errorf("event %s has no data.resource: %s", ev.Name, snippet(ev.raw))
	}
	return d.Resource, nil
}

// subscription is one open websocket. A reader goroutine, owned by the subscription, decodes frames into
// events; close (registered with t.Cleanup) stops it by closing the connection and waits for it.
type subscription struct {
	t      *testing.T
	conn   *websocket.Conn
	resp   *http.Response
	events chan wsEvent
	stop   chan struct{}
	done   chan struct{}

	mu  sync.Mutex
	err error // why the reader stopped; read after done is closed
	// pongs counts control pongs received (the reader runs the pong handler).
	pongs int
}

// newDialer makes a dialer per dial (no shared state); the handshake timeout only guards against hangs.
func newDialer() *websocket.Dialer {
	return &websocket.Dialer{HandshakeTimeout: 5 * time.Second}
}

// subscribeClient subscribes through our client: the URL comes from the subscribe schema's collection link
// (cattle.Client.SubscribeURL), the credentials from BasicAuthHeader.
func subscribeClient(t *testing.T, c *cattle.Client, eventNames ...string) *subscription {
	t.Helper()
	u, err := c.SubscribeURL(eventNames...)
	if err != nil {
		t.Fatalf("subscribe url: %v", err)
	}
	h := http.Header{}
	h.Set("Authorization", c.BasicAuthHeader())
	return subscribeURL(t, u, h)
}

// subscribeCred subscribes with a raw URL (ws://...) and a key.
func subscribeCred(t *testing.T, u string, cred cattlesim.Credential) *subscription {
	t.Helper()
	return subscribeURL(t, u, basicAuth(cred))
}

// basicAuth returns a header carrying cred as HTTP Basic auth, for websocket dials.
func basicAuth(cred cattlesim.Credential) http.Header {
	token := base64.StdEncoding.EncodeToString([]byte(cred.AccessKey + ":" + cred.SecretKey))
	return http.Header{"Authorization": {"Basic " + token}}
}

// subscribeURL dials u and starts the reader.
func subscribeURL(t *testing.T, u string, h http.Header) *subscription {
	t.Helper()
	conn, resp, err := newDialer().DialContext(t.Context(), u, h)
	if err != nil {
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		t.Fatalf("dial %s: %v (status %d)", u, err, status)
	}
	s := &subscription{t: t, conn: conn, resp: resp, events: make(chan wsEvent, 256),
		stop: make(chan struct{}), done: make(chan struct{})}
	conn.SetPongHandler(func(string) error {
		s.mu.Lock()
		s.pongs++
		s.mu.Unlock()
		return nil
	})
	go s.read()
	t.Cleanup(s.close)
	return s
}

// read decodes frames until the connection ends. Each frame must be a text frame holding exactly one JSON
// object (§1.5); anything else ends the subscription with an error the test sees.
func (s *subscription) read() {
	defer close(s.done)
	for {
		mt, frame, err := s.conn.ReadMessage()
		if err != nil {
			s.fail(fmt.Errorf("read frame: %w", err))
			return
		}
		if mt != websocket.TextMessage {
			s.fail(fmt.Errorf("frame of message type %d, want a text frame (%d): %q", mt, websocket.TextMessage, frame))
			return
		}
		ev, err := decodeFrame(frame)
		if err != nil {
			s.fail(err)
			return
		}
		select {
		case s.events <- ev:
		case <-s.stop:
			return
		}
	}
}

// decodeFrame checks that frame is exactly one JSON object and decodes it.
func decodeFrame(frame []byte) (wsEvent, error) {
	dec := json.NewDecoder(bytes.NewReader(frame))
	var one json.RawMessage
	if err := dec.Decode(&one); err != nil {
		return wsEvent{}, fmt.Errorf("frame is not JSON: %w: %q", err, frame)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return wsEvent{}, fmt.Errorf("frame holds more than one JSON value: %q", frame)
	}
	if len(bytes.TrimSpace(one)) == 0 || bytes.TrimSpace(one)[0] != '{' {
		return wsEvent{}, fmt.Errorf("frame is not a JSON object: %q", frame)
	}
	var ev wsEvent
	if err := json.Unmarshal(one, &ev); err != nil {
		return wsEvent{}, fmt.Errorf("frame does not decode as an event: %w: %q", err, frame)
	}
	ev.raw = append([]byte(nil), one...)
	return ev, nil
}

func (s *subscription) fail(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}

// readErr is why the reader stopped (valid once done is closed).
func (s *subscription) readErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// close stops the reader and waits for it.
func (s *subscription) close() {
	select {
	case <-s.stop:
	default:
		close(s.stop)
	}
	_ = s.conn.Close()
	<-s.done
}

// next returns the next event accepted by match (nil: any), skipping the others, and fails the test when
// none arrives within timeout or the connection ends.
func (s *subscription) next(timeout time.Duration, what string, match func(wsEvent) bool) wsEvent {
	s.t.Helper()
	ev, err := s.nextErr(timeout, match)
	if err != nil {
		s.t.Fatalf("waiting for %s: %v", what, err)
	}
	return ev
}

// nextErr is next without failing the test.
func (s *subscription) nextErr(timeout time.Duration, match func(wsEvent) bool) (wsEvent, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case ev := <-s.events:
			if match == nil || match(ev) {
				return ev, nil
			}
		case <-s.done:
			// Drain what was decoded before the end.
			select {
			case ev := <-s.events:
				if match == nil || match(ev) {
					return ev, nil
				}
				continue
			default:
			}
			return wsEvent{}, fmt.Errorf("subscription ended: %w", s.readErr())
		case <-timer.C:
			return wsEvent{}, fmt.Errorf("no matching event within %s", timeout)
		}
	}
}

// changeOf matches resource.change events of one resource id.
func changeOf(id string) func(wsEvent) bool {
	return func(ev wsEvent) bool { return ev.Name == "resource.change" && ev.resID() == id }
}
