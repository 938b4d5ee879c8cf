package cattle

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestNewAPIError(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		want      APIError
		retryable bool
		msg       string
	}{
		{
			name: "action not available", status: 422,
			body:      `{"id":"0b5f","type":"error","baseType":"error","links":{},"actions":{},"status":422,"code":"ActionNotAvailable","message":null,"detail":null,"fieldName":"action"}`,
			want:      APIError{Status: 422, Code: "ActionNotAvailable", FieldName: "action"},
			retryable: false,
			msg:       "cattle api status 422 ActionNotAvailable (field action)",
		},
		{
			name: "not found", status: 404,
			body:      `{"type":"error","status":404,"code":"Not Found","message":"Not Found"}`,
			want:      APIError{Status: 404, Code: "Not Found", Message: "Not Found"},
			retryable: false,
			msg:       "cattle api status 404 Not Found",
		},
		{
			name: "conflict", status: 409,
			body:      `{"type":"error","status":409,"code":"Conflict","message":"Conflict"}`,
			want:      APIError{Status: 409, Code: "Conflict", Message: "Conflict"},
			retryable: true,
		},
		{
			name: "throttled", status: 429, body: ``,
			want:      APIError{Status: 429, Code: "Too Many Requests"},
			retryable: true,
		},
		{
			name: "html from a proxy", status: 502, body: "<html>\n<b>Bad Gateway</b></html>",
			want:      APIError{Status: 502, Code: "Bad Gateway", Message: "<html> <b>Bad Gateway</b></html>"},
			retryable: true,
		},
		{
			name: "empty 500", status: 500, body: "",
			want:      APIError{Status: 500, Code: "Internal Server Error"},
			retryable: true,
		},
		{
			name: "non-string members", status: 422,
			body:      `{"type":"error","status":"Server Error","code":7,"message":{"a":1},"fieldName":"Upgrade strategy needs to be set"}`,
			want:      APIError{Status: 422, Code: "7", Message: `{"a":1}`, FieldName: "Upgrade strategy needs to be set"},
			retryable: false,
		},
		{
			name: "json that is not an object", status: 400, body: `["x"]`,
			want:      APIError{Status: 400, Code: "Bad Request", Message: `["x"]`},
			retryable: false,
		},
		{
			name: "unauthorized", status: 401, body: `{"code":"Unauthorized","message":"Unauthorized"}`,
			want:      APIError{Status: 401, Code: "Unauthorized", Message: "Unauthorized"},
			retryable: false,
		},
		{
			name: "service unavailable", status: 503, body: `{"code":"ServiceUnavailable","message":"try later","detail":"db"}`,
			want:      APIError{Status: 503, Code: "ServiceUnavailable", Message: "try later", Detail: "db"},
			retryable: true,
			msg:       "cattle api status 503 ServiceUnavailable: try later: db",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newAPIError(tt.status, []byte(tt.body))
			if *got != tt.want {
				t.Fatalf("got %+v, want %+v", *got, tt.want)
			}
			if got.Retryable() != tt.retryable || IsRetryable(fmt.Errorf("op: %w", got)) != tt.retryable {
				t.Fatalf("retryable = %v, want %v", got.Retryable(), tt.retryable)
			}
			if tt.msg != "" && got.Error() != tt.msg {
				t.Fatalf("Error() = %q, want %q", got.Error(), tt.msg)
			}
			if errors.Is(got, ErrNotFound) != (tt.status == 404) || errors.Is(got, ErrUnauthorized) != (tt.status == 401) {
				t.Fatal("errors.Is sentinel mismatch")
			}
		})
	}
}

func TestNewAPIErrorTruncatesLongBodies(t *testing.T) {
	got := newAPIError(500, []byte(strings.Repeat("é", 500)))
	if len(got.Message) > maxErrorBodySnippet+len("...") || !strings.HasSuffix(got.Message, "...") {
		t.Fatalf("message not truncated: %d bytes", len(got.Message))
	}
	if !strings.HasPrefix(got.Message, "éé") || strings.ContainsRune(got.Message, '\uFFFD') {
		t.Fatalf("message cut inside a rune: %q", got.Message[:10])
	}
}

func TestIsRetryable(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"plain error", errors.New("boom"), false},
		{"canceled", context.Canceled, false},
		{"wrapped canceled", fmt.Errorf("get service 1s1: %w", context.Canceled), false},
		{"deadline", fmt.Errorf("x: %w", context.DeadlineExceeded), true},
		{"connection refused", &TransportError{Method: "GET", URL: "http://x", Err: refused}, true},
		{"connection reset", fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{"broken pipe", fmt.Errorf("write: %w", syscall.EPIPE), true},
		{"unexpected eof", fmt.Errorf("read body: %w", io.ErrUnexpectedEOF), true},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "nope", IsNotFound: true}, false},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "slow", IsTimeout: true}, true},
		{"api 409", &APIError{Status: 409}, true},
		{"api 400", &APIError{Status: 400}, false},
		{"action not available", &ActionNotAvailableError{Action: "upgrade"}, false},
		{"method not allowed", &MethodNotAllowedError{SchemaID: "x", Method: "PUT"}, false},
		{"unknown schema", fmt.Errorf("schema x: %w", ErrUnknownSchema), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsRetryable(tt.err); got != tt.want {
				t.Fatalf("IsRetryable(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// TestTransportErrors drives real requests into a handler that never answers,
// to tell the per-request timeout (retryable) from a cancelled caller (not).
func TestTransportErrors(t *testing.T) {
	f := newFakeCattle(t)
	started := make(chan struct{}, 1)
	f.handle("GET /v2-beta/projects/1a5/services/1s1", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	c := newTestClient(t, f, func(o *Options) { o.Timeout = 200 * time.Millisecond })

	t.Run("per-request timeout", func(t *testing.T) {
		_, err := c.GetService(context.Background(), "1s1")
		select {
		case <-started:
		default:
			t.Fatalf("the request never reached the server: %v", err)
		}
		var te *TransportError
		if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !IsRetryable(err) {
			t.Fatalf("err = %v, want a retryable timeout", err)
		}
		if !strings.Contains(err.Error(), "no response within 200ms") || !strings.HasPrefix(err.Error(), "get service 1s1: GET ") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled caller", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := c.GetService(ctx, "1s1")
			errc <- err
		}()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("the request never reached the server")
		}
		cancel()
		var err error
		select {
		case err = <-errc:
		case <-time.After(5 * time.Second):
			t.Fatal("request did not end after cancel")
		}
		if !errors.Is(err, context.Canceled) || IsRetryable(err) {
			t.Fatalf("err = %v, want a non-retryable cancellation", err)
		}
		var te *TransportError
		if errors.As(err, &te) {
			t.Fatalf("cancellation reported as transport error: %v", err)
		}
	})
}

func TestErrorsRedactSecrets(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := newFakeCattle(t)
	// Point the generic objects collection at a closed port so the lookup by
	// trigger key fails in transport, where the URL is part of the message.
	s := f.schema("genericObject", "genericObjects", []string{"GET", "POST"}, []string{"GET", "DELETE"})
	s["links"] = map[string]string{"collection": "http://" + ln.Addr().String() + "/v2-beta/projects/1a5/genericobjects"}
	f.setSchema(s)
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, f, nil)

	const triggerKey = "TriggerKey0123456789abcdefghijklmnopqrst"
	_, err = c.ListGenericObjects(context.Background(), ListOptions{Filters: map[string][]string{"key": {triggerKey}, "kind": {"webhookReceiver"}}})
	if err == nil {
		t.Fatal("list against a closed port succeeded")
	}
	for _, secret := range []string{triggerKey, testSecretKey} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error leaks a secret: %v", err)
		}
	}
	if !strings.Contains(err.Error(), "key=REDACTED") || !strings.Contains(err.Error(), "kind=webhookReceiver") {
		t.Fatalf("err = %v, want the key redacted and other filters kept", err)
	}
}
