package cattle

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

const schemaSubscribe = "subscribe"

// SubscribeURL is the websocket URL of the event stream for eventNames, built
// from the subscribe schema's collection link: http becomes ws and https wss,
// a leading "//" in the path is collapsed (the websocket dialer breaks on
// it), and each name is a separate, query-escaped eventNames parameter (";"
// is part of a name, so it is sent as %3B). Dial it with
// Authorization: BasicAuthHeader().
func (c *Client) SubscribeURL(eventNames ...string) (string, error) {
	s, err := c.subscribeURL(eventNames)
	if err != nil {
		return "", fmt.Errorf("subscribe url: %w", err)
	}
	return s, nil
}

func (c *Client) subscribeURL(eventNames []string) (string, error) {
	if len(eventNames) == 0 {
		return "", errors.New("no event names")
	}
	for _, n := range eventNames {
		if strings.TrimSpace(n) == "" {
			return "", errors.New("empty event name")
		}
	}
	coll, err := c.collectionURL(schemaSubscribe, http.MethodGet)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(coll)
	if err != nil {
		return "", fmt.Errorf("parse subscribe collection url: %w", err)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "ws":
		u.Scheme = "ws"
	case "https", "wss":
		u.Scheme = "wss"
	default:
		return "", fmt.Errorf("subscribe collection url has unsupported scheme %q", u.Scheme)
	}
	if strings.HasPrefix(u.Path, "//") {
		u.Path = "/" + strings.TrimLeft(u.Path, "/")
		u.RawPath = ""
	}
	q := u.Query()
	for _, n := range eventNames {
		q.Add("eventNames", n)
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
