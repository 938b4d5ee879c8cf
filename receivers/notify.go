package receivers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"

	"github.com/rancher/scale-subscriber/notify"
)

// The `notify` member of a receiver (any driver) says who hears how its executions ended: an outgoing JSON
// webhook and/or an e-mail (notify.ReceiverConfig). It is stored beside the driver's config, as
// resourceData.notify of the genericObject, so receivers written by webhook-service (which have none) are read
// and stored exactly as before.
//
// The webhook's secret and header values are credentials, handled as serviceUpgradeConfig.secret is: stored,
// never rendered (the webhook shows "secretSet": true and "headerNames" instead), never logged. A PUT that
// sends back what it read carries neither, so a notify.webhook without "secret" keeps the stored secret and
// one without "headers" keeps the stored headers; "secret": "" (or null) and "headers": {} (or null) remove
// them. They are only kept for the same URL: a PUT that points the webhook at another URL must restate them,
// or anyone allowed to edit receivers could have the stored Authorization header sent to a host of theirs.

// NotifyChecker validates a receiver's notify config against the notifier that will deliver it (an e-mail
// needs an SMTP server): *notify.Notifier implements it.
type NotifyChecker interface {
	Check(cfg notify.ReceiverConfig) error
}

// Members of notify.webhook that are rendered only; a client sending back what it read sends them, and they
// are dropped before the strict decoding (which refuses unknown members, so that a typo is an error).
const (
	webhookSecretSet   = "secretSet"
	webhookHeaderNames = "headerNames"
)

// notifyInput is the notify member of a create or update body.
type notifyInput struct {
	// given: the body has a notify member. Without it an update keeps the stored config.
	given bool
	// cfg is the decoded config; nil for "notify": null, which removes notifications.
	cfg *notify.ReceiverConfig
	// secretGiven and headersGiven: notify.webhook has a "secret" / "headers" member (a value, empty or null).
	secretGiven, headersGiven bool
}

// parseNotifyInput decodes the raw notify member of a write (nil when the body has none). Every refusal is a
// 400 naming the member; no message repeats a secret, a header value or the webhook URL.
func parseNotifyInput(raw json.RawMessage) (notifyInput, error) {
	if raw == nil {
		return notifyInput{}, nil
	}
	in := notifyInput{given: true}
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return in, nil
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return in, fail(http.StatusBadRequest, "Invalid notify: must be an object (or null to remove notifications)")
	}
	if wh, ok := members["webhook"]; ok && !bytes.Equal(bytes.TrimSpace(wh), []byte("null")) {
		var webhook map[string]json.RawMessage
		if err := json.Unmarshal(wh, &webhook); err != nil || webhook == nil {
			return in, fail(http.StatusBadRequest, "Invalid notify.webhook: must be an object")
		}
		_, in.secretGiven = webhook["secret"]
		_, in.headersGiven = webhook["headers"]
		delete(webhook, webhookSecretSet)
		delete(webhook, webhookHeaderNames)
		b, err := json.Marshal(webhook)
		if err != nil {
			return in, failCause(http.StatusInternalServerError, err, "Cannot read notify.webhook")
		}
		members["webhook"] = b
	}
	b, err := json.Marshal(members)
	if err != nil {
		return in, failCause(http.StatusInternalServerError, err, "Cannot read notify")
	}
	cfg, err := notify.ParseReceiverConfig(b)
	if err != nil {
		return in, fail(http.StatusBadRequest, "Invalid notify: %v", err)
	}
	if cfg.Empty() {
		return in, fail(http.StatusBadRequest, "Invalid notify: set webhook or email (or send \"notify\": null to remove notifications)")
	}
	in.cfg = &cfg
	return in, nil
}

// mergeNotify returns the notify config a write leaves: cur when the body has no notify member, none for null,
// else the given config with the stored webhook secret and headers kept where the body left them out (for the
// same URL only, see the package comment above).
func mergeNotify(cur *notify.ReceiverConfig, in notifyInput) (*notify.ReceiverConfig, error) {
	if !in.given {
		return cur, nil
	}
	if in.cfg == nil {
		return nil, nil
	}
	next := cloneNotify(in.cfg)
	if next.Webhook == nil || cur == nil || cur.Webhook == nil {
		return next, nil
	}
	old, wh := cur.Webhook, next.Webhook
	sameURL := wh.URL == old.URL
	if !in.secretGiven && old.Secret != "" {
		if !sameURL {
			return nil, fail(http.StatusBadRequest, "Invalid notify.webhook: the url changed, so the stored secret is "+
				"not carried over; send \"secret\" again (or \"secret\": \"\" to sign no more)")
		}
		wh.Secret = old.Secret
	}
	if !in.headersGiven && len(old.Headers) > 0 {
		if !sameURL {
			return nil, fail(http.StatusBadRequest, "Invalid notify.webhook: the url changed, so the stored headers are "+
				"not carried over; send \"headers\" again (or \"headers\": {} to send none)")
		}
		wh.Headers = maps.Clone(old.Headers)
	}
	return next, nil
}

// checkNotify validates r's notify config with the notifier (or on its own when the API has no checker).
func (a *API) checkNotify(r *Receiver) error {
	if r.Notify == nil {
		return nil
	}
	check := r.Notify.Validate
	if a.notify != nil {
		check = func() error { return a.notify.Check(*r.Notify) }
	}
	if err := check(); err != nil {
		return fail(http.StatusBadRequest, "Invalid notify: %v", err)
	}
	return nil
}

// cloneNotify deep-copies c, so a receiver's config never shares maps or slices with another's. Empty
// states and headers become nil, as they are after a round trip through storage, so an update that sends
// "headers": {} for none is not mistaken for a change.
func cloneNotify(c *notify.ReceiverConfig) *notify.ReceiverConfig {
	if c == nil {
		return nil
	}
	out := &notify.ReceiverConfig{}
	if len(c.States) > 0 {
		out.States = slices.Clone(c.States)
	}
	if c.Webhook != nil {
		wh := *c.Webhook
		wh.Headers = nil
		if len(c.Webhook.Headers) > 0 {
			wh.Headers = maps.Clone(c.Webhook.Headers)
		}
		out.Webhook = &wh
	}
	if c.Email != nil {
		em := *c.Email
		em.To = slices.Clone(c.Email.To)
		out.Email = &em
	}
	return out
}

// notifyView is the notify member as the API renders it: without the webhook's secret and header values.
type notifyView struct {
	Webhook *webhookView        `json:"webhook,omitempty"`
	Email   *notify.EmailConfig `json:"email,omitempty"`
	States  []notify.State      `json:"states,omitempty"`
}

// webhookView is notify.webhook as rendered: secretSet and headerNames say what is stored.
type webhookView struct {
	URL            string   `json:"url"`
	SecretSet      bool     `json:"secretSet,omitempty"`
	HeaderNames    []string `json:"headerNames,omitempty"`
	TimeoutSeconds int      `json:"timeoutSeconds,omitempty"`
}

// renderNotify returns the view of c (nil when there is none). Read-only callers, who get no trigger URL,
// get only the webhook URL's scheme and host: webhook URLs often carry a token in their path or query.
func renderNotify(c *notify.ReceiverConfig, readOnly bool) *notifyView {
	if c == nil {
		return nil
	}
	c = cloneNotify(c)
	v := &notifyView{Email: c.Email, States: c.States}
	if wh := c.Webhook; wh != nil {
		u := wh.URL
		if readOnly {
			u = originOf(u)
		}
		v.Webhook = &webhookView{URL: u, SecretSet: wh.Secret != "", TimeoutSeconds: wh.TimeoutSeconds}
		for name := range wh.Headers {
			v.Webhook.HeaderNames = append(v.Webhook.HeaderNames, name)
		}
		slices.Sort(v.Webhook.HeaderNames)
	}
	return v
}

// originOf is scheme://host of a URL, "" when it does not parse.
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// decodeStoredNotify reads resourceData.notify: nil when absent or null. It is decoded leniently (unknown
// members are ignored, as for the driver configs) and not validated here: a config that cannot be delivered
// is reported when an execution ends, never by refusing the trigger.
func decodeStoredNotify(raw json.RawMessage, present bool) (*notify.ReceiverConfig, error) {
	t := bytes.TrimSpace(raw)
	if !present || len(t) == 0 || bytes.Equal(t, []byte("null")) {
		return nil, nil
	}
	if t[0] != '{' {
		return nil, errors.New("notify is not an object")
	}
	var c notify.ReceiverConfig
	if err := json.Unmarshal(t, &c); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	if c.Empty() {
		return nil, nil
	}
	return &c, nil
}
