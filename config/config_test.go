package config

import (
	"strings"
	"testing"
	"time"
)

func valid() Config {
	c := Defaults()
	c.CattleURL = "http://rancher:8080/v1"
	c.AccessKey = "ak"
	c.SecretKey = "sk"
	return c
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string // substring of the error; "" = valid
	}{
		{"defaults plus keys", func(*Config) {}, ""},
		{"missing url", func(c *Config) { c.CattleURL = "" }, "cattle url is required"},
		{"not http", func(c *Config) { c.CattleURL = "ftp://x/v1" }, "must be an http(s) URL"},
		{"missing access key", func(c *Config) { c.AccessKey = "" }, "access key is required"},
		{"missing secret key", func(c *Config) { c.SecretKey = "" }, "secret key is required"},
		{"bad listen", func(c *Config) { c.ListenAddress = "8085" }, "--listen"},
		{"bad public url", func(c *Config) { c.PublicURL = "rancher.example.com" }, "public url"},
		{"zero workers", func(c *Config) { c.Workers = 0 }, "workers must be at least 1"},
		{"pong shorter than ping", func(c *Config) { c.PongWait = c.PingInterval }, "pong wait"},
		{"bad log format", func(c *Config) { c.LogFormat = "xml" }, "log format"},
		{"negative settle window", func(c *Config) { c.HostCreateSettleWindow = -time.Second },
			"--host-create-settle-window"},
		{"zero settle window (the default)", func(c *Config) { c.HostCreateSettleWindow = 0 }, ""},
		{"settle window of an hour", func(c *Config) { c.HostCreateSettleWindow = time.Hour },
			"--host-create-settle-window"},
		{"settle window at its bound", func(c *Config) { c.HostCreateSettleWindow = 15 * time.Minute }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.mutate(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("want error containing %q, got %v", tt.want, err)
			}
		})
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	err := Config{}.Validate()
	if err == nil {
		t.Fatal("empty config must be invalid")
	}
	for _, want := range []string{"cattle url", "access key", "secret key", "workers"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// The settle window defaults to a minute: a guess at how long a proxy or Cattle may still work on a host create
// the client gave up on, well beyond the 10 s request timeout.
func TestDefaultHostCreateSettleWindow(t *testing.T) {
	if got := Defaults().HostCreateSettleWindow; got != time.Minute {
		t.Errorf("default host create settle window %s, want 1m", got)
	}
}
