// Package notify tells people how an execution ended. When a receiver's execution reaches its final state
// (finished, rolled back, timed out, failed, or ignored with a reason) the execution layer builds a Message,
// which names the receiver, driver, old → new image, services touched, durations and steps, and hands it
// to Notifier.Notify with the receiver's `notify` config. The package does not import execution: Message is
// its own type, so notify stays a leaf that the receivers API can also use to validate configs (Check).
//
// # Channels
//
// Outgoing JSON webhook (WebhookConfig): one POST per notification, Content-Type application/json, body:
//
//	{
//	  "version": 1,                       // WebhookSchemaVersion; bumped only when a member changes meaning
//	  "deliveryId": "K7Q…",               // same on every retry of this notification (also DeliveryHeader)
//	  "executionId": "x12", "receiverId": "1go4", "receiverName": "web-push", "projectId": "1a5",
//	  "driver": "serviceUpgrade",
//	  "state": "rolled-back",             // finished | rolled-back | timed-out | failed | ignored
//	  "reason": "2 of 3 new containers unhealthy after 60s",
//	  "input": "push docker.io/library/nginx:1.14.1",
//	  "image": {"old": "docker.io/library/nginx:1.14.0", "new": "docker.io/library/nginx:1.14.1",
//	            "digest": "sha256:…"},   // omitted when the driver changes no image
//	  "services": [{"id": "1s5", "name": "web", "stack": "prod", "oldImage": "…", "newImage": "…",
//	                "state": "rolled-back", "detail": "…", "millis": 61234}],
//	  "received": "2024-05-01T12:00:00Z", "started": "…", "finished": "…",
//	  "queuedMillis": 12, "runMillis": 61250,
//	  "steps": [{"at": "…", "name": "upgrade started", "detail": "batch 1 of 2"}]
//	}
//
// Optional members (reason, input, image, projectId, started, the service members but id) are left out when
// empty; services and steps are always arrays. Headers: DeliveryHeader, EventHeader ("execution.<state>"),
// User-Agent, the configured headers, and with a secret SignatureHeader "sha256=<hex HMAC-SHA256(secret,
// body)>", GitHub's X-Hub-Signature-256 format, so existing verifiers work (VerifySignature is ours). Any 2xx
// is success; 408, 425, 429 and 5xx are retried (Retry-After in seconds is honoured); every other status is
// a permanent failure. Redirects are not followed: the POST would become a GET and the signature would go to
// a host nobody configured.
//
// E-mail (EmailConfig + one SMTPConfig for the process): a text/plain UTF-8 body, optionally with an HTML
// alternative (multipart/alternative), quoted-printable; subject from a text/template over Message
// (DefaultSubject); Message-ID derived from the delivery id; Auto-Submitted: auto-generated. The connection
// is plain, STARTTLS (the default; a server without STARTTLS is an error, never a silent downgrade) or
// implicit TLS, verified against the system roots or a custom CA bundle (PEM) that replaces them. AUTH is
// PLAIN or LOGIN; credentials over a plain connection are refused unless AllowInsecureAuth is set. SMTP 4xx
// replies and network errors are retried, 5xx replies and certificate problems are not. A recipient refused
// with 5xx does not stop delivery to the others (the refusal is reported); a 4xx on any recipient aborts
// before DATA so the retry reaches everyone exactly once.
//
// # SMTP library
//
// The client is github.com/emersion/go-smtp (with go-sasl). net/smtp is frozen: it has no LOGIN mechanism
// (still the only one some Exchange/Office 365 setups offer), no implicit-TLS helper, no per-command
// timeouts, and its errors are bare textproto errors. go-smtp is a maintained fork of it with typed *SMTPError replies
// (the 4xx/5xx split above), DialTLS/StartTLS, PLAIN and LOGIN through go-sasl, command timeouts, and a
// server the tests use to receive real mail over plain, STARTTLS and TLS with authentication. Neither
// library takes a context; we dial with one and close the connection when it ends.
//
// # Delivery guarantees
//
// Notify validates, queues one job per channel and returns at once: a notification must never block or fail
// the upgrade it reports on. The queue is bounded (Options.QueueSize); when it is full the OLDEST job is
// dropped, logged at Warn ("notification queue full, dropped the oldest notification") and counted in
// scale_subscriber_notifications_dropped_total{reason="queue_full"}, on the grounds that a newer outcome is
// worth more than an older one. Run owns Options.Workers goroutines; each job gets up to MaxAttempts
// attempts with doubling, jittered waits, then is logged at Error and counted as failed. When Run's context
// ends, queued jobs keep being delivered for DrainTimeout; what is left is logged and counted as abandoned,
// and later Notify calls return ErrStopped. Every job a worker takes ends in exactly one OnResult call, which
// the execution layer can use to record a "notified" step.
//
// Nothing secret is logged: webhook URLs appear as scheme and host only (tokens live in paths, queries and
// user info, and net/http's errors would print them: they are rewritten), header values and secrets never,
// the SMTP password never (String methods redact it too).
package notify
