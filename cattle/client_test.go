package cattle

import (
	"testing"
	"time"
)

// Timeout is the request bound the client applies: the option given, or DefaultTimeout when it is zero.
func TestClientTimeout(t *testing.T) {
	for _, tc := range []struct {
		name      string
		opt, want time.Duration
	}{
		{"default", 0, DefaultTimeout},
		{"set", 1500 * time.Millisecond, 1500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeCattle(t)
			c := newTestClient(t, f, func(o *Options) { o.Timeout = tc.opt })
			if got := c.Timeout(); got != tc.want {
				t.Errorf("Timeout() = %s, want %s", got, tc.want)
			}
		})
	}
}
