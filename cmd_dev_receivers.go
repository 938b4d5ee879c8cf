package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/rancher/scale-subscriber/app"
)

// devReceiver is one receiver `dev` creates, with an example trigger.
type devReceiver struct {
	body    map[string]any
	example string // curl arguments before the URL
	url     string
}

// demoReceivers are the receivers `dev` creates on the demo seed, through the service's own /v1-webhooks API.
func demoReceivers(webID string) []*devReceiver {
	return []*devReceiver{
		{body: map[string]any{"name": "scale-web-up", "driver": "scaleService",
			"scaleServiceConfig": map[string]any{"serviceId": webID, "action": "up", "amount": 1, "min": 1, "max": 5}},
			example: "curl -s -X POST"},
		{body: map[string]any{"name": "scale-web-down", "driver": "scaleService",
			"scaleServiceConfig": map[string]any{"serviceId": webID, "action": "down", "amount": 1, "min": 1, "max": 5}},
			example: "curl -s -X POST"},
		{body: map[string]any{"name": "scale-web-on-alert", "driver": "scaleService",
			"scaleServiceConfig": map[string]any{"serviceId": webID, "action": "up", "amount": 1, "min": 1, "max": 5}},
			example: `curl -s -H 'Content-Type: application/json' -d '{"version":"4","groupKey":"{}:{alertname=\"HighLoad\"}","status":"firing","receiver":"scale","alerts":[{"status":"firing","labels":{"alertname":"HighLoad"},"startsAt":"2026-11-30T08:00:00Z","fingerprint":"a1"}]}'`},
		{body: map[string]any{"name": "scale-workers-up", "driver": "scaleHost",
			"scaleHostConfig": map[string]any{"hostSelector": map[string]string{"pool": "workers"}, "action": "up", "amount": 1, "min": 1, "max": 5}},
			example: "curl -s -X POST"},
		{body: map[string]any{"name": "scale-workers-down", "driver": "scaleHost",
			"scaleHostConfig": map[string]any{"hostSelector": map[string]string{"pool": "workers"}, "action": "down", "amount": 1, "min": 1, "max": 5, "deleteOption": "mostRecent"}},
			example: "curl -s -X POST"},
		{body: map[string]any{"name": "upgrade-web", "driver": "serviceUpgrade",
			"serviceUpgradeConfig": map[string]any{"serviceSelector": map[string]string{"app": "web"}, "tag": "1.14", "payloadFormat": "dockerhub", "batchSize": 1, "intervalMillis": 2000}},
			example: `curl -s -H 'Content-Type: application/json' -d '{"push_data":{"tag":"1.14"},"repository":{"repo_name":"nginx"}}'`},
	}
}

// createDemoReceivers waits for the service's first sync, creates the demo receivers through its API (the way
// Rancher's UI does) and prints their trigger URLs with ready-to-paste curl lines.
func createDemoReceivers(ctx context.Context, w io.Writer, a *app.App, apiBase, projectID, webID string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !a.Informer().Synced() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("create demo receivers: service not synced: %w", ctx.Err())
		case <-tick.C:
		}
	}
	list := demoReceivers(webID)
	for _, r := range list {
		url, err := postReceiver(ctx, apiBase, projectID, r.body)
		if err != nil {
			return err
		}
		r.url = url
	}
	fmt.Fprintf(w, "\nDemo receivers (list: curl -s '%s/v1-webhooks/receivers?projectId=%s'):\n", apiBase, projectID)
	for _, r := range list {
		fmt.Fprintf(w, "  %-20s %s '%s'\n", r.body["name"], r.example, r.url)
	}
	fmt.Fprintf(w, "Executions: curl -s '%s/v1-webhooks/executions?projectId=%s'\n\n", apiBase, projectID)
	return nil
}

func postReceiver(ctx context.Context, apiBase, projectID string, body map[string]any) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", fmt.Errorf("encode receiver %v: %w", body["name"], err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiBase+"/v1-webhooks/receivers?projectId="+projectID, bytes.NewReader(b))
	if err != nil {
		return "", fmt.Errorf("create receiver %v: %w", body["name"], err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", fmt.Errorf("create receiver %v: %w", body["name"], err)
	}
	defer resp.Body.Close()
	var out struct {
		URL     string `json:"url"`
		Message string `json:"message"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil {
		return "", fmt.Errorf("create receiver %v: decode answer (status %d): %w", body["name"], resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || out.URL == "" {
		return "", fmt.Errorf("create receiver %v: status %d: %s", body["name"], resp.StatusCode, out.Message)
	}
	return out.URL, nil
}
