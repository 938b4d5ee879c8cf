package receivers

import (
	"net/http"
	"net/url"
	"strings"
)

// Links are built the way go-rancher's api.UrlBuilder built them for webhook-service, so that behind Rancher's
// proxy they point at Rancher's public address: the request URL comes from X-API-Request-Url (set by Cattle's
// proxy), else from X-Forwarded-Proto/-Host/-Port, else from the Host header; the base is that URL without the
// request path.

// requestURL is the URL the client used, without the query.
func requestURL(r *http.Request) string {
	if v := firstHeaderValue(r, "X-API-Request-Url"); v != "" {
		return strings.SplitN(v, "?", 2)[0]
	}
	if proto := firstHeaderValue(r, "X-Forwarded-Proto"); proto != "" {
		host := firstHeaderValue(r, "X-Forwarded-Host")
		if host == "" {
			host = r.Host
		}
		if host != "" {
			port := firstHeaderValue(r, "X-Forwarded-Port")
			if port == "80" || port == "443" {
				port = ""
			}
			if port != "" {
				if h, _, ok := cutPort(host); ok {
					host = h
				}
				host += ":" + port
			}
			return proto + "://" + host + r.URL.Path
		}
	}
	return "http://" + r.Host + r.URL.Path
}

// responseBase is requestURL without the request path: the scheme and host (and any prefix a proxy added).
func responseBase(r *http.Request) string {
	full := requestURL(r)
	if i := strings.LastIndex(full, r.URL.Path); i > 0 && r.URL.Path != "" {
		return full[:i]
	}
	u, err := url.Parse(full)
	if err != nil || u.Host == "" {
		return "http://" + r.Host
	}
	return u.Scheme + "://" + u.Host
}

// firstHeaderValue returns the first comma-separated value of a header, trimmed.
func firstHeaderValue(r *http.Request, name string) string {
	return strings.TrimSpace(strings.Split(r.Header.Get(name), ",")[0])
}

// cutPort splits "host:port" and "[v6]:port"; ok is false when there is no port.
func cutPort(host string) (string, string, bool) {
	i := strings.LastIndex(host, ":")
	if i < 0 || strings.HasSuffix(host, "]") {
		return host, "", false
	}
	return host[:i], host[i+1:], true
}

// withProject appends ?projectId=<p> as the original did on every link.
func withProject(link, projectID string) string {
	return link + "?projectId=" + url.QueryEscape(projectID)
}
