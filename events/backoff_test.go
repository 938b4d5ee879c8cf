package events

import (
	"fmt"
	"testing"
	"time"
)

func TestBackoffSequence(t *testing.T) {
	tests := []struct {
		name   string
		opts   BackoffOptions
		random float64
		want   []time.Duration
	}{
		{
			name:   "no jitter draw",
			opts:   BackoffOptions{Initial: 100 * time.Millisecond, Max: time.Second},
			random: 0,
			want: []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond,
				800 * time.Millisecond, time.Second, time.Second},
		},
		{
			name:   "jitter stretches up to double",
			opts:   BackoffOptions{Initial: 100 * time.Millisecond, Max: time.Second},
			random: 0.5,
			want: []time.Duration{150 * time.Millisecond, 300 * time.Millisecond, 600 * time.Millisecond,
				time.Second, time.Second},
		},
		{
			name:   "jitter disabled",
			opts:   BackoffOptions{Initial: 100 * time.Millisecond, Max: time.Second, Jitter: -1, Factor: 3},
			random: 0.9,
			want:   []time.Duration{100 * time.Millisecond, 300 * time.Millisecond, 900 * time.Millisecond, time.Second},
		},
		{
			name:   "defaults",
			random: 0,
			want:   []time.Duration{DefaultBackoffInitial, 2 * DefaultBackoffInitial},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBackoff(tt.opts, func() float64 { return tt.random })
			var got []time.Duration
			for range tt.want {
				got = append(got, b.Next())
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("waits = %v, want %v", got, tt.want)
			}
			b.Reset()
			if first := b.Next(); first != tt.want[0] {
				t.Fatalf("after Reset first wait = %v, want %v", first, tt.want[0])
			}
		})
	}
}

func TestBackoffRandomBounds(t *testing.T) {
	b := newBackoff(BackoffOptions{Initial: 250 * time.Millisecond, Max: 30 * time.Second}, nil)
	for i := range 50 {
		d := b.Next()
		if d < 250*time.Millisecond || d > 30*time.Second {
			t.Fatalf("wait %d = %v out of bounds", i, d)
		}
	}
	if d := b.Next(); d != 30*time.Second {
		t.Fatalf("wait after many attempts = %v, want the cap", d)
	}
}
