package upgrade

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var d0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func key(workload, tag, digest string) PushKey {
	return PushKey{Workload: workload, Repository: "harbor.example.com/p/app", Tag: tag, Digest: digest}
}

func TestDeduperSeen(t *testing.T) {
	steps := []struct {
		name string
		k    PushKey
		at   time.Duration
		want bool
	}{
		{"first delivery applies", key("1s1", "latest", "sha256:a"), 0, false},
		{"repeat delivery of the same push does not redeploy", key("1s1", "latest", "sha256:a"), time.Minute, true},
		{"another workload applies the same push", key("1s2", "latest", "sha256:a"), time.Minute, false},
		{"another tag with the same digest applies", key("1s1", "1.2", "sha256:a"), time.Minute, false},
		{"same mutable tag, new digest redeploys", key("1s1", "latest", "sha256:b"), 2 * time.Minute, false},
		{"its repeat does not", key("1s1", "latest", "sha256:b"), 3 * time.Minute, true},
		{"going back to the older digest redeploys", key("1s1", "latest", "sha256:a"), 4 * time.Minute, false},
		{"no digest: can never be told apart, always applies", key("1s1", "latest", ""), 5 * time.Minute, false},
		{"no digest again", key("1s1", "latest", ""), 5 * time.Minute, false},
		{"the digest-less push did not replace the remembered digest", key("1s1", "latest", "sha256:a"), 6 * time.Minute, true},
		{"just before the window ends", key("1s1", "latest", "sha256:a"), 4*time.Minute + DefaultDedupeWindow - time.Nanosecond, true},
		{"after the window the push applies again", key("1s1", "latest", "sha256:a"), 4*time.Minute + DefaultDedupeWindow, false},
	}
	d := NewDeduper(DeduperOptions{})
	for _, s := range steps {
		if got := d.Seen(s.k, d0.Add(s.at)); got != s.want {
			t.Fatalf("%s: Seen = %v, want %v", s.name, got, s.want)
		}
	}
}

func TestDeduperKeyOf(t *testing.T) {
	pushes, _, err := Parse(ParseOptions{Format: FormatHarbor}, sample(t, "harbor_v2_push.json"))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDeduper(DeduperOptions{})
	// Harbor retries the same delivery: the second parse of the same body is a repeat for the same service.
	again, _, _ := Parse(ParseOptions{Format: FormatHarbor}, sample(t, "harbor_v2_push.json"))
	if d.Seen(KeyOf("1s1", pushes[0]), d0) || !d.Seen(KeyOf("1s1", again[0]), d0.Add(time.Second)) {
		t.Fatal("a redelivered Harbor push must be a repeat")
	}
	if k := KeyOf("1s1", pushes[0]); k != (PushKey{Workload: "1s1", Repository: "hub.harbor.com/test-webhook/debian",
		Tag: "latest", Digest: "sha256:8a9e9863dbb6e10edb5adfe917c00da84e1700fa76e7ed02476aa6e6fb8ee0d8"}) {
		t.Fatalf("KeyOf = %+v", k)
	}
}

func TestDeduperForget(t *testing.T) {
	d := NewDeduper(DeduperOptions{})
	k := key("1s1", "latest", "sha256:a")
	if d.Seen(k, d0) {
		t.Fatal("first sighting")
	}
	// The upgrade failed: the registry's retry must apply.
	d.Forget(k)
	if d.Seen(k, d0.Add(time.Second)) {
		t.Fatal("after Forget the retry is not a repeat")
	}
	// Forgetting another digest of the slot leaves the remembered one.
	d.Forget(key("1s1", "latest", "sha256:other"))
	if !d.Seen(k, d0.Add(2*time.Second)) {
		t.Fatal("Forget of another digest must not drop the slot")
	}
	d.Forget(key("1s9", "x", "sha256:a")) // unknown slot: no effect
	if d.Len() != 1 {
		t.Fatalf("Len = %d, want 1", d.Len())
	}
}

func TestDeduperBoundedMemory(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour, MaxEntries: 4})
	for i := range 10 {
		d.Seen(key(fmt.Sprint(i), "latest", "sha256:a"), d0.Add(time.Duration(i)*time.Second))
		if d.Len() > 4 {
			t.Fatalf("Len = %d after %d pushes, want <= 4", d.Len(), i+1)
		}
	}
	// Remembered now: 6, 7, 8, 9 (oldest first).
	if !d.Seen(key("9", "latest", "sha256:a"), d0.Add(time.Minute)) {
		t.Fatal("the newest slot must be remembered")
	}
	// A changed slot moves to the back: after 6 changes, 7 is the oldest and goes first.
	d.Seen(key("6", "latest", "sha256:b"), d0.Add(2*time.Minute))
	d.Seen(key("new", "latest", "sha256:a"), d0.Add(3*time.Minute))
	if !d.Seen(key("6", "latest", "sha256:b"), d0.Add(4*time.Minute)) {
		t.Fatal("a recently changed slot must survive eviction")
	}
	if !d.Seen(key("8", "latest", "sha256:a"), d0.Add(4*time.Minute)) {
		t.Fatal("slot 8 must still be remembered")
	}
	if d.Seen(key("7", "latest", "sha256:a"), d0.Add(4*time.Minute)) {
		t.Fatal("the oldest slot must have been evicted")
	}
	// Expired slots are pruned on the next call.
	d.Seen(key("late", "latest", "sha256:a"), d0.Add(3*time.Hour))
	if d.Len() != 1 {
		t.Fatalf("Len = %d after the window passed, want 1", d.Len())
	}
}

func TestDeduperConcurrentUse(t *testing.T) {
	big := NewDeduper(DeduperOptions{MaxEntries: 5000})
	small := NewDeduper(DeduperOptions{MaxEntries: 50})
	shared := key("1s1", "latest", "sha256:shared")
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if !big.Seen(shared, d0) {
					mu.Lock()
					firsts++
					mu.Unlock()
				}
				k := key(fmt.Sprintf("%d-%d", g, i), "latest", "sha256:a")
				big.Seen(k, d0)
				small.Seen(k, d0)
				if i%7 == 0 {
					big.Forget(k)
					small.Forget(k)
				}
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("the shared push applied %d times, want exactly once", firsts)
	}
	if small.Len() > 50 {
		t.Fatalf("Len = %d, want <= 50", small.Len())
	}
	if want := 1 + 8*300 - 8*43; big.Len() != want {
		t.Fatalf("big Len = %d, want %d", big.Len(), want)
	}
}

// Slots go in order of last change: a repeat leaves its slot where it is, Forget takes one out of the middle, and
// the slot changed longest ago is the first forgotten.
func TestDeduperEvictionOrder(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour, MaxEntries: 3})
	at := func(s int) time.Time { return d0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		name string
		k    PushKey
		at   int
		want bool
		len  int
	}{
		{"a", key("a", "latest", "sha256:1"), 0, false, 1},
		{"b", key("b", "latest", "sha256:1"), 1, false, 2},
		{"c", key("c", "latest", "sha256:1"), 2, false, 3},
		{"a repeat of a does not move it to the back", key("a", "latest", "sha256:1"), 3, true, 3},
		{"b changes: it moves to the back", key("b", "latest", "sha256:2"), 4, false, 3},
		{"d pushes out a, changed longest ago", key("d", "latest", "sha256:1"), 5, false, 3},
		{"b is remembered", key("b", "latest", "sha256:2"), 6, true, 3},
		{"d is remembered", key("d", "latest", "sha256:1"), 6, true, 3},
	}
	for _, s := range steps {
		if got := d.Seen(s.k, at(s.at)); got != s.want {
			t.Fatalf("%s: Seen = %v, want %v", s.name, got, s.want)
		}
		if d.Len() != s.len {
			t.Fatalf("%s: Len = %d, want %d", s.name, d.Len(), s.len)
		}
	}
	// Order now c, b, d. Forgetting b (in the middle) leaves room for e without forgetting c.
	d.Forget(key("b", "latest", "sha256:2"))
	if d.Seen(key("e", "latest", "sha256:1"), at(7)) || d.Len() != 3 {
		t.Fatalf("Len = %d, want 3", d.Len())
	}
	if !d.Seen(key("c", "latest", "sha256:1"), at(8)) {
		t.Fatal("c must outlive the forgotten b")
	}
	// Order c, d, e: f pushes out c, then a new g pushes out d.
	d.Seen(key("f", "latest", "sha256:1"), at(9))
	d.Seen(key("g", "latest", "sha256:1"), at(10))
	if !d.Seen(key("e", "latest", "sha256:1"), at(11)) || d.Len() != 3 {
		t.Fatalf("e must be remembered, Len = %d, want 3", d.Len())
	}
	if d.Seen(key("c", "latest", "sha256:1"), at(12)) {
		t.Fatal("c must have been forgotten")
	}
}

// A clock going backwards neither makes a remembered push new nor keeps an expired one a repeat: pruning stops at
// the first live slot, so a slot behind it may outlive its window in memory, but Seen checks its window.
func TestDeduperClockGoingBackwards(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour})
	at := func(m int) time.Time { return d0.Add(time.Duration(m) * time.Minute) }
	a, b := key("a", "latest", "sha256:1"), key("b", "latest", "sha256:1")
	steps := []struct {
		name string
		k    PushKey
		at   int
		want bool
		len  int
	}{
		{"a at 30m", a, 30, false, 1},
		{"b at 0m: the clock went back", b, 0, false, 2},
		{"a at 10m, before it was applied, is a repeat", a, 10, true, 2},
		{"b at 70m is out of its window though a, ahead of it, is not", b, 70, false, 2},
		{"b was remembered again at 70m", b, 80, true, 2},
		{"a is pruned at 90m", b, 90, true, 1},
		{"a was forgotten", a, 91, false, 2},
	}
	for _, s := range steps {
		if got := d.Seen(s.k, at(s.at)); got != s.want {
			t.Fatalf("%s: Seen = %v, want %v", s.name, got, s.want)
		}
		if d.Len() != s.len {
			t.Fatalf("%s: Len = %d, want %d", s.name, d.Len(), s.len)
		}
	}
}

// BenchmarkDeduperSeen measures Seen on a full Deduper: "evict" gives a new slot each time (the slot changed
// longest ago forgotten, the new one remembered), "change" a new digest to a remembered slot (moved to the back),
// "repeat" a push remembered.
func BenchmarkDeduperSeen(b *testing.B) {
	const max = 10000
	keys := make([]PushKey, 2*max)
	for i := range keys {
		keys[i] = key(fmt.Sprint(i), "latest", "sha256:a")
	}
	full := func() *Deduper {
		d := NewDeduper(DeduperOptions{MaxEntries: max})
		for _, k := range keys[:max] {
			d.Seen(k, d0)
		}
		return d
	}
	b.Run("evict", func(b *testing.B) {
		d := full()
		b.ReportAllocs()
		i := max
		for b.Loop() {
			if d.Seen(keys[i%len(keys)], d0) {
				b.Fatal("repeat")
			}
			i++
		}
	})
	b.Run("change", func(b *testing.B) {
		d := full()
		digests := [2]string{"sha256:a", "sha256:b"}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			k := keys[i%max]
			k.Digest = digests[(i/max+1)%2]
			if d.Seen(k, d0) {
				b.Fatal("repeat")
			}
			i++
		}
	})
	b.Run("repeat", func(b *testing.B) {
		d := full()
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if !d.Seen(keys[i%max], d0) {
				b.Fatal("not a repeat")
			}
			i++
		}
	})
}
