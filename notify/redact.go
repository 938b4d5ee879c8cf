package notify

import (
	"errors"
	"net/url"
)

// redactURL keeps only the scheme and host of a URL: webhook tokens live in user info, path and query (Slack-
// style hooks carry theirs in the path), so nothing else of it may reach a log line or an error.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "<invalid url>"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// scrubURLError replaces the full URL net/http puts in its errors (*url.Error prints it, with user info and
// query) by the redacted one, keeping the cause for errors.Is/As.
func scrubURLError(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	return &url.Error{Op: ue.Op, URL: redactURL(ue.URL), Err: ue.Err}
}
