package cattle

import (
	"strings"
	"testing"
)

func TestSubscribeURL(t *testing.T) {
	tests := []struct {
		name       string
		collection string
		methods    []string
		names      []string
		want       string
		wantErr    string
	}{
		{
			name:       "http becomes ws and names repeat",
			collection: "http://rancher:8080/v2-beta/projects/1a5/subscribe",
			names:      []string{"resource.change", "ping"},
			want:       "ws://rancher:8080/v2-beta/projects/1a5/subscribe?eventNames=resource.change&eventNames=ping",
		},
		{
			name:       "https becomes wss and ; is escaped",
			collection: "https://rancher.example.com/v2-beta/projects/1a5/subscribe",
			names:      []string{"physicalhost.create;handler=x"},
			want:       "wss://rancher.example.com/v2-beta/projects/1a5/subscribe?eventNames=physicalhost.create%3Bhandler%3Dx",
		},
		{
			name:       "leading double slash collapses",
			collection: "http://rancher:8080//v2-beta/projects/1a5/subscribe",
			names:      []string{"resource.change"},
			want:       "ws://rancher:8080/v2-beta/projects/1a5/subscribe?eventNames=resource.change",
		},
		{
			name:       "existing query is kept",
			collection: "http://rancher:8080/v2-beta/subscribe?projectId=1a5",
			names:      []string{"resource.change"},
			want:       "ws://rancher:8080/v2-beta/subscribe?eventNames=resource.change&projectId=1a5",
		},
		{name: "no names", collection: "http://r/v2-beta/subscribe", wantErr: "no event names"},
		{name: "blank name", collection: "http://r/v2-beta/subscribe", names: []string{" "}, wantErr: "empty event name"},
		{name: "bad scheme", collection: "ftp://r/v2-beta/subscribe", names: []string{"a"}, wantErr: "unsupported scheme"},
		{name: "no GET", collection: "http://r/v2-beta/subscribe", methods: []string{"POST"}, names: []string{"a"}, wantErr: "does not allow GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			methods := tt.methods
			if methods == nil {
				methods = []string{"GET", "POST"}
			}
			c := &Client{schemas: map[string]Schema{"subscribe": {
				ID: "subscribe", Links: map[string]string{"collection": tt.collection}, CollectionMethods: methods,
			}}}
			got, err := c.SubscribeURL(tt.names...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSubscribeURLAfterDiscovery(t *testing.T) {
	f := newFakeCattle(t)
	c := newTestClient(t, f, nil)
	got, err := c.SubscribeURL("resource.change")
	if err != nil {
		t.Fatal(err)
	}
	want := "ws" + strings.TrimPrefix(f.url("/v2-beta/projects/1a5/subscribe?eventNames=resource.change"), "http")
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if !strings.HasPrefix(c.BasicAuthHeader(), "Basic ") || c.BasicAuthHeader() != "Basic QUtURVNUMTIzNDpTSy12ZXJ5LXNlY3JldC01Njc4" {
		t.Fatalf("BasicAuthHeader = %q", c.BasicAuthHeader())
	}
}
