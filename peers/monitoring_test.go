package peers

// Prometheus and Alertmanager as child processes: their configurations (a gauge the test serves, a rule on it,
// one route to a webhook) and what the tests read from their APIs.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const (
	loadMetric = "peers_web_load"
	// threshold is the rule's; the gauge idles below it and goes above it to fire the alert.
	threshold = 10
	idleLoad  = 1
	highLoad  = 20
)

// gauge serves one Prometheus gauge on /metrics.
type gauge struct {
	url   string
	value atomic.Int64
}

func newGauge(t *testing.T, v int64) *gauge {
	t.Helper()
	g := &gauge{}
	g.value.Store(v)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		fmt.Fprintf(w, "# HELP %[1]s Load of web, set by the test.\n# TYPE %[1]s gauge\n%[1]s %[2]d\n", loadMetric, g.value.Load())
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

// alertmanagerSpec runs Alertmanager with clustering off, one route to a webhook at hook, and timers short
// enough that the first notification, the repeats of the unchanged group and the resolution arrive within
// seconds.
func alertmanagerSpec(path, hook string) spec {
	return spec{name: "alertmanager", path: path, ports: 1,
		args: func(dir string, ports []int) ([]string, error) {
			cfg, err := writeJSONFile(dir, "alertmanager.yml", map[string]any{
				"route": map[string]any{
					"receiver":        "scale-web",
					"group_by":        []string{"alertname"},
					"group_wait":      "1s",
					"group_interval":  "1s",
					"repeat_interval": "2s",
				},
				"receivers": []any{map[string]any{
					"name":            "scale-web",
					"webhook_configs": []any{map[string]any{"url": hook, "send_resolved": true}},
				}},
			})
			if err != nil {
				return nil, err
			}
			return []string{
				"--config.file=" + cfg,
				"--storage.path=" + filepath.Join(dir, "data"),
				"--web.listen-address=127.0.0.1:" + strconv.Itoa(ports[0]),
				"--cluster.listen-address=",
				"--log.level=debug",
			}, nil
		},
		ready: func(ports []int) string { return fmt.Sprintf("http://127.0.0.1:%d/-/ready", ports[0]) },
	}
}

// prometheusSpec runs Prometheus scraping target every second, evaluating a rule that fires HighLoad when the
// gauge has been above the threshold for 2 s, and sending alerts to the Alertmanager at amAddr.
func prometheusSpec(path, amAddr, target string) spec {
	return spec{name: "prometheus", path: path, ports: 1,
		args: func(dir string, ports []int) ([]string, error) {
			rules, err := writeJSONFile(dir, "rules.yml", map[string]any{"groups": []any{map[string]any{
				"name": "peers",
				"rules": []any{map[string]any{
					"alert":       "HighLoad",
					"expr":        fmt.Sprintf("%s > %d", loadMetric, threshold),
					"for":         "2s",
					"labels":      map[string]string{"service": "web"},
					"annotations": map[string]string{"summary": "web is loaded"},
				}},
			}}})
			if err != nil {
				return nil, err
			}
			cfg, err := writeJSONFile(dir, "prometheus.yml", map[string]any{
				"global":     map[string]any{"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
				"rule_files": []string{rules},
				"alerting": map[string]any{"alertmanagers": []any{map[string]any{
					"static_configs": []any{map[string]any{"targets": []string{amAddr}}},
				}}},
				"scrape_configs": []any{map[string]any{
					"job_name":       "load",
					"static_configs": []any{map[string]any{"targets": []string{target}}},
				}},
			})
			if err != nil {
				return nil, err
			}
			return []string{
				"--config.file=" + cfg,
				"--storage.tsdb.path=" + filepath.Join(dir, "data"),
				"--web.listen-address=127.0.0.1:" + strconv.Itoa(ports[0]),
			}, nil
		},
		ready: func(ports []int) string { return fmt.Sprintf("http://127.0.0.1:%d/-/ready", ports[0]) },
	}
}

// queryValue asks Prometheus at addr for the instant value of expr; ok is false while it has none.
func (e *env) queryValue(addr, expr string) (float64, bool, string) {
	e.t.Helper()
	a, err := e.send(http.MethodGet, "http://"+addr+"/api/v1/query?query="+url.QueryEscape(expr), nil, nil)
	if err != nil {
		return 0, false, err.Error()
	}
	var q struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if a.Status != http.StatusOK || json.Unmarshal(a.Body, &q) != nil || q.Status != "success" || len(q.Data.Result) != 1 ||
		len(q.Data.Result[0].Value) != 2 {
		return 0, false, a.String()
	}
	s, ok := q.Data.Result[0].Value[1].(string)
	if !ok {
		return 0, false, a.String()
	}
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil, a.String()
}

// amAlert is an alert as Alertmanager's API v2 lists it.
type amAlert struct {
	Labels   map[string]string `json:"labels"`
	StartsAt time.Time         `json:"startsAt"`
	Status   struct {
		State string `json:"state"`
	} `json:"status"`
}

// activeAlerts lists the alerts Alertmanager at addr holds as active.
func (e *env) activeAlerts(addr string) []amAlert {
	e.t.Helper()
	var alerts []amAlert
	e.getJSON("http://"+addr+"/api/v2/alerts?active=true&silenced=false&inhibited=false", nil, &alerts)
	return alerts
}

// webhookCounts reads how many webhook notifications Alertmanager at addr sent and how many of them failed.
func (e *env) webhookCounts(addr string) (sent, failed float64) {
	e.t.Helper()
	a, err := e.send(http.MethodGet, "http://"+addr+"/metrics", nil, nil)
	if err != nil || a.Status != http.StatusOK {
		e.t.Fatalf("read Alertmanager metrics: %v %s", err, a)
	}
	for _, line := range strings.Split(string(a.Body), "\n") {
		if !strings.Contains(line, `integration="webhook"`) {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		var v float64
		if _, err := fmt.Sscanf(strings.TrimSpace(line[strings.LastIndexByte(line, ' '):]), "%g", &v); err != nil {
			continue
		}
		switch name {
		case "alertmanager_notifications_total":
			sent += v
		case "alertmanager_notifications_failed_total":
			failed += v
		}
	}
	return sent, failed
}
