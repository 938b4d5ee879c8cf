package cattle

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestRetryPolicyRetriesOnlyRetryableFailures(t *testing.T) {
	unavailable := &APIError{Status: http.StatusServiceUnavailable}
	forbidden := &APIError{Status: http.StatusForbidden}
	tests := []struct {
		name      string
		errs      []error // answer of each call; nil after the list
		retries   int
		wantCalls int
		wantErr   error
	}{
		{"success at once", nil, 3, 1, nil},
		{"retryable then success", []error{unavailable, unavailable}, 3, 3, nil},
		{"retries spent", []error{unavailable, unavailable, unavailable}, 2, 3, unavailable},
		{"not retryable", []error{forbidden}, 3, 1, forbidden},
		{"no retries", []error{unavailable}, 0, 1, unavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls := 0
			var waits []time.Duration
			p := RetryPolicy{Retries: tt.retries, Initial: time.Millisecond, Max: 2 * time.Millisecond}
			err := p.Do(context.Background(), func() error {
				calls++
				if calls <= len(tt.errs) {
					return tt.errs[calls-1]
				}
				return nil
			}, func(_ int, wait time.Duration, _ error) { waits = append(waits, wait) })
			if !errors.Is(err, tt.wantErr) || calls != tt.wantCalls {
				t.Fatalf("Do = %v after %d calls, want %v after %d", err, calls, tt.wantErr, tt.wantCalls)
			}
			if len(waits) != calls-1 {
				t.Errorf("onRetry told of %d retries, want %d", len(waits), calls-1)
			}
			for _, w := range waits {
				// Initial 1 ms doubled, capped at 2 ms, jittered to [w/2, 3w/2].
				if w < 500*time.Microsecond || w > 3*time.Millisecond {
					t.Errorf("wait %s outside the jittered, capped range", w)
				}
			}
		})
	}
}

func TestRetryPolicyStopsWhenTheContextEnds(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	err := RetryPolicy{Retries: 100, Initial: time.Hour}.Do(ctx, func() error {
		calls++
		return &APIError{Status: http.StatusBadGateway}
	}, func(int, time.Duration, error) { cancel() })
	if calls != 1 || err == nil {
		t.Fatalf("Do = %v after %d calls, want the first error after 1 call (the hour-long wait cut short)", err, calls)
	}
}
