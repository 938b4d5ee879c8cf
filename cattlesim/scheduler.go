package cattlesim

import (
	"sync"
	"time"
)

// scheduler owns every timer that advances a state machine, so Close can stop them all and nothing fires after
// the emulator is gone. Callbacks run with the Sim's lock held (see Sim.after).
type scheduler struct {
	mu     sync.Mutex
	closed bool
	timers map[*time.Timer]struct{}
	wg     sync.WaitGroup
}

func newScheduler() *scheduler {
	return &scheduler{timers: map[*time.Timer]struct{}{}}
}

// after runs fn after d unless the scheduler is closed first.
func (s *scheduler) after(d time.Duration, fn func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer s.wg.Done()
		s.mu.Lock()
		delete(s.timers, t)
		closed := s.closed
		s.mu.Unlock()
		if !closed {
			fn()
		}
	})
	s.timers[t] = struct{}{}
}

// close stops pending timers and waits for running callbacks to return.
func (s *scheduler) close() {
	s.mu.Lock()
	s.closed = true
	for t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
		delete(s.timers, t)
	}
	s.mu.Unlock()
	s.wg.Wait()
}
