package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// WebhookSchemaVersion is the "version" member of the webhook body; it changes only when a member changes
// meaning or goes away (new members may appear without a bump).
const WebhookSchemaVersion = 1

// maxResponseDrain bounds how much of a response body is read (and thrown away) so the connection is reused.
const maxResponseDrain = 64 << 10

// webhookBody is the JSON body of the outgoing webhook: the Message plus the envelope members.
type webhookBody struct {
	Version    int    `json:"version"`
	DeliveryID string `json:"deliveryId"`
	Message
}

// WebhookSender posts notifications as JSON. It is safe for concurrent use.
type WebhookSender struct {
	client    *http.Client
	userAgent string
}

// NewWebhookSender returns a sender using client (a default one without redirects when nil). Redirects are
// never followed: a POST would turn into a GET, and the signature and headers would go to a host nobody
// configured.
func NewWebhookSender(client *http.Client, userAgent string) *WebhookSender {
	if client == nil {
		client = &http.Client{}
	} else {
		c := *client
		client = &c
	}
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if userAgent == "" {
		userAgent = "scale-subscriber"
	}
	return &WebhookSender{client: client, userAgent: userAgent}
}

// body renders the JSON body of msg; exposed to the package so tests and Send agree on the bytes.
func webhookJSON(deliveryID string, msg Message) ([]byte, error) {
	b, err := json.Marshal(webhookBody{Version: WebhookSchemaVersion, DeliveryID: deliveryID, Message: msg.normalized()})
	if err != nil {
		return nil, fmt.Errorf("encode webhook body: %w", err)
	}
	return b, nil
}

// Send makes one attempt to POST msg to cfg. The attempt is bounded by cfg's timeout and ctx. The error is
// marked permanent when retrying cannot help, and never contains the URL's path, query or user info.
func (s *WebhookSender) Send(ctx context.Context, cfg WebhookConfig, deliveryID string, msg Message) error {
	body, err := webhookJSON(deliveryID, msg)
	if err != nil {
		return permanent(err)
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(body))
	if err != nil {
		return permanent(fmt.Errorf("build webhook request to %s: %w", redactURL(cfg.URL), scrubURLError(err)))
	}
	for name, value := range cfg.Headers {
		req.Header.Set(name, value)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", s.userAgent)
	req.Header.Set(DeliveryHeader, deliveryID)
	req.Header.Set(EventHeader, "execution."+string(msg.State))
	if cfg.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(cfg.Secret, body))
	}

	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook to %s: %w", redactURL(cfg.URL), scrubURLError(err))
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseDrain))

	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	err = fmt.Errorf("post webhook to %s: %w", redactURL(cfg.URL), &StatusError{Code: resp.StatusCode})
	if !retryableStatus(resp.StatusCode) {
		return permanent(err)
	}
	if after := retryAfter(resp.Header); after > 0 {
		return &retryAfterError{err: err, after: after}
	}
	return err
}

// StatusError is a non-2xx answer of a webhook endpoint.
type StatusError struct{ Code int }

func (e *StatusError) Error() string {
	return fmt.Sprintf("answered %d %s", e.Code, http.StatusText(e.Code))
}

// IsStatus reports whether err is a webhook answer with the given status.
func IsStatus(err error, code int) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Code == code
}
