package alertmanager

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

func note(status string, alerts ...Alert) Notification {
	return Notification{Version: Version, GroupKey: `{}:{alertname="HighLoad"}`, Status: status, Alerts: alerts}
}

func alert(fp string, startMin int) Alert {
	return Alert{Status: StatusFiring, Fingerprint: fp, StartsAt: t0.Add(time.Duration(startMin) * time.Minute),
		Labels: map[string]string{"fp": fp}}
}

func TestDeduperSeen(t *testing.T) {
	base := note(StatusFiring, alert("a", 0), alert("b", 1))
	tests := []struct {
		name     string
		receiver string
		n        Notification
		after    time.Duration
		want     bool
	}{
		{"FixesOriginal identical repeat within the window is a repeat", "r1", base, time.Hour, true},
		{"alerts in another order are the same notification", "r1", note(StatusFiring, alert("b", 1), alert("a", 0)), time.Hour, true},
		{"annotations and labels beyond the identity do not matter", "r1", func() Notification {
			n := note(StatusFiring, alert("a", 0), alert("b", 1))
			n.Receiver, n.CommonLabels = "other", map[string]string{"x": "y"}
			return n
		}(), time.Hour, true},
		{"the group shrank (an alert resolved without send_resolved)", "r1", note(StatusFiring, alert("b", 1)), time.Hour, true},
		{"an alert of the firing group resolved (send_resolved)", "r1", func() Notification {
			n := note(StatusFiring, alert("a", 0), alert("b", 1))
			n.Alerts[1].Status = StatusResolved
			return n
		}(), time.Hour, true},
		{"duplicate alerts in one notification", "r1", note(StatusFiring, alert("a", 0), alert("a", 0), alert("b", 1)), time.Hour, true},
		{"another receiver", "r2", base, time.Hour, false},
		{"resolved is a new notification", "r1", note(StatusResolved, alert("a", 0), alert("b", 1)), time.Hour, false},
		{"an alert joined", "r1", note(StatusFiring, alert("a", 0), alert("b", 1), alert("c", 2)), time.Hour, false},
		{"an alert restarted (new startsAt)", "r1", note(StatusFiring, alert("a", 0), alert("b", 30)), time.Hour, false},
		{"another group", "r1", func() Notification {
			n := note(StatusFiring, alert("a", 0), alert("b", 1))
			n.GroupKey = "other"
			return n
		}(), time.Hour, false},
		{"just before the window ends", "r1", base, DefaultWindow - time.Nanosecond, true},
		{"after the window a repeat acts again", "r1", base, DefaultWindow, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDeduper(DeduperOptions{})
			if d.Seen("r1", base, t0) {
				t.Fatal("first sighting must not be a repeat")
			}
			if got := d.Seen(tt.receiver, tt.n, t0.Add(tt.after)); got != tt.want {
				t.Fatalf("Seen = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDeduperWindowIsNotExtendedByRepeats(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour})
	n := note(StatusFiring, alert("a", 0))
	steps := []struct {
		at   time.Duration
		want bool
	}{
		{0, false}, {40 * time.Minute, true}, {59 * time.Minute, true}, {60 * time.Minute, false}, {90 * time.Minute, true},
		{120 * time.Minute, false},
	}
	for _, s := range steps {
		if got := d.Seen("r", n, t0.Add(s.at)); got != s.want {
			t.Fatalf("at %v Seen = %v, want %v", s.at, got, s.want)
		}
	}
}

func TestDeduperFingerprintlessAlertsUseLabels(t *testing.T) {
	d := NewDeduper(DeduperOptions{})
	a := Alert{Status: StatusFiring, Labels: map[string]string{"alertname": "X", "i": "1"}, StartsAt: t0}
	b := Alert{Status: StatusFiring, Labels: map[string]string{"alertname": "X", "i": "2"}, StartsAt: t0}
	if d.Seen("r", note(StatusFiring, a), t0) || !d.Seen("r", note(StatusFiring, a), t0) {
		t.Fatal("same labels must be the same alert")
	}
	if d.Seen("r", note(StatusFiring, b), t0) {
		t.Fatal("other labels must be another alert")
	}
}

// Label sets whose pairs joined with a separator byte read the same ({"a": "b\x00c"} and {"a": "b", "c": ""} with
// NUL separators) are different alerts: each part is length-prefixed, so no byte in a value can shift it.
func TestDeduperLabelsWithSeparatorBytesDoNotCollide(t *testing.T) {
	d := NewDeduper(DeduperOptions{})
	a := Alert{Status: StatusFiring, Labels: map[string]string{"a": "b\x00c\x00"}, StartsAt: t0}
	b := Alert{Status: StatusFiring, Labels: map[string]string{"a": "b", "c": ""}, StartsAt: t0}
	if d.Seen("r", note(StatusFiring, a), t0) {
		t.Fatal("first sighting must not be a repeat")
	}
	if d.Seen("r", note(StatusFiring, b), t0) {
		t.Fatal("labels that only read alike once joined must be another alert")
	}
	if sum("ab", "c") == sum("a", "bc") || sum("a\x00", "") == sum("a", "\x00") {
		t.Fatal("parts that concatenate alike must hash differently")
	}
}

func TestDeduperForget(t *testing.T) {
	d := NewDeduper(DeduperOptions{})
	n := note(StatusFiring, alert("a", 0))
	if d.Seen("r", n, t0) {
		t.Fatal("first sighting")
	}
	// Acting failed: the sender's retry must act.
	d.Forget("r", n)
	if d.Seen("r", n, t0.Add(time.Second)) {
		t.Fatal("after Forget the retry is not a repeat")
	}
	if !d.Seen("r", n, t0.Add(2*time.Second)) {
		t.Fatal("after the retry was seen, a repeat is a repeat again")
	}
	d.Forget("r", note(StatusResolved, alert("zzz", 0))) // unknown group: no effect
	d.Forget("r", note(StatusFiring, alert("zzz", 0)))   // unknown alert: no effect
	if d.Len() != 1 {
		t.Fatalf("Len = %d, want 1", d.Len())
	}
}

func TestDeduperBoundedMemory(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour, MaxEntries: 4})
	for i := range 10 {
		d.Seen("r", note(StatusFiring, alert(fmt.Sprint(i), 0)), t0.Add(time.Duration(i)*time.Second))
		if d.Len() > 4 {
			t.Fatalf("Len = %d after %d notifications, want <= 4", d.Len(), i+1)
		}
	}
	// The newest are remembered, the oldest forgotten.
	if !d.Seen("r", note(StatusFiring, alert("9", 0)), t0.Add(time.Minute)) {
		t.Fatal("newest entry must be remembered")
	}
	if d.Seen("r", note(StatusFiring, alert("0", 0)), t0.Add(time.Minute)) {
		t.Fatal("oldest entry must have been evicted")
	}
	// Expired entries are pruned on the next call.
	d.Seen("r", note(StatusFiring, alert("late", 0)), t0.Add(3*time.Hour))
	if d.Len() != 1 {
		t.Fatalf("Len = %d after the window passed, want 1", d.Len())
	}
}

func TestDeduperGroupMemory(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour, MaxEntries: 5})
	// One group accumulating alerts: memory counts alerts, and the window applies per alert.
	d.Seen("r", note(StatusFiring, alert("a", 0)), t0)
	d.Seen("r", note(StatusFiring, alert("a", 0), alert("b", 0)), t0.Add(30*time.Minute))
	if d.Len() != 2 {
		t.Fatalf("Len = %d, want 2", d.Len())
	}
	// At t0+61m alert a is out of its window (b is not): the notification is new again, a is re-remembered.
	if d.Seen("r", note(StatusFiring, alert("a", 0), alert("b", 0)), t0.Add(61*time.Minute)) {
		t.Fatal("an alert past its window makes the notification new")
	}
	if !d.Seen("r", note(StatusFiring, alert("a", 0)), t0.Add(62*time.Minute)) {
		t.Fatal("a was re-remembered at 61m")
	}
	if d.Len() != 2 {
		t.Fatalf("Len = %d, want 2", d.Len())
	}
	// Other groups push the oldest-touched group out once more than 5 alerts are remembered.
	d.Seen("r2", note(StatusFiring, alert("x", 0), alert("y", 0), alert("z", 0)), t0.Add(63*time.Minute))
	if d.Len() != 5 {
		t.Fatalf("Len = %d, want 5", d.Len())
	}
	d.Seen("r3", note(StatusFiring, alert("q", 0)), t0.Add(64*time.Minute))
	if d.Len() != 4 {
		t.Fatalf("Len = %d after evicting the oldest group, want 4", d.Len())
	}
	if d.Seen("r", note(StatusFiring, alert("a", 0)), t0.Add(65*time.Minute)) {
		t.Fatal("the evicted group must be forgotten")
	}
	// Notifications without alerts still take room.
	e := NewDeduper(DeduperOptions{MaxEntries: 3})
	for i := range 10 {
		e.Seen("r", Notification{GroupKey: fmt.Sprint(i), Status: StatusFiring}, t0)
	}
	if e.Len() != 3 || !e.Seen("r", Notification{GroupKey: "9", Status: StatusFiring}, t0) {
		t.Fatalf("Len = %d, want 3 with the newest remembered", e.Len())
	}
}

func TestDeduperConcurrentUse(t *testing.T) {
	// big never evicts, so the shared notification must be new exactly once; small is under constant eviction
	// pressure and must stay bounded.
	big := NewDeduper(DeduperOptions{Window: time.Minute, MaxEntries: 5000})
	small := NewDeduper(DeduperOptions{Window: time.Minute, MaxEntries: 50})
	n := note(StatusFiring, alert("a", 0))
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 300 {
				if !big.Seen("shared", n, t0) {
					mu.Lock()
					firsts++
					mu.Unlock()
				}
				other := note(StatusFiring, alert("a", 0))
				other.GroupKey = fmt.Sprintf("%d-%d", g, i)
				now := t0.Add(time.Duration(i) * time.Millisecond)
				big.Seen("r", other, now)
				small.Seen("r", other, now)
				if i%7 == 0 {
					big.Forget("r", other)
					small.Forget("r", other)
				}
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("the shared notification was new %d times, want exactly once", firsts)
	}
	if small.Len() > 50 {
		t.Fatalf("Len = %d, want <= 50", small.Len())
	}
	if want := 1 + 8*300 - 8*43; big.Len() != want {
		t.Fatalf("big Len = %d, want %d", big.Len(), want)
	}
}

// grouped is a notification of group key with alerts.
func grouped(key string, alerts ...Alert) Notification {
	n := note(StatusFiring, alerts...)
	n.GroupKey = key
	return n
}

func TestDeduperEvictionOrder(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour, MaxEntries: 3})
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		name string
		n    Notification
		at   int
		want bool
		len  int
	}{
		{"g1", grouped("g1", alert("a", 0)), 0, false, 1},
		{"g2", grouped("g2", alert("b", 0)), 1, false, 2},
		{"g3", grouped("g3", alert("c", 0)), 2, false, 3},
		{"a repeat of g1 does not move it to the back", grouped("g1", alert("a", 0)), 3, true, 3},
		{"g2 given a new alert moves to the back; g1, touched longest ago, is forgotten", grouped("g2", alert("b", 0), alert("b2", 0)), 4, false, 3},
		{"g3 is remembered", grouped("g3", alert("c", 0)), 4, true, 3},
		{"g4 pushes out g3, now touched longest ago", grouped("g4", alert("d", 0)), 5, false, 3},
		{"g2 is remembered", grouped("g2", alert("b", 0), alert("b2", 0)), 6, true, 3},
		{"g4 is remembered", grouped("g4", alert("d", 0)), 6, true, 3},
		{"g1 was forgotten; remembering it again pushes out g2 (2 alerts), touched before g4 though repeated after", grouped("g1", alert("a", 0)), 7, false, 2},
		{"g3 was forgotten", grouped("g3", alert("c", 0)), 8, false, 3},
		{"g4 outlived g2", grouped("g4", alert("d", 0)), 9, true, 3},
		{"g2 was forgotten", grouped("g2", alert("b", 0)), 10, false, 3},
	}
	for _, s := range steps {
		if got := d.Seen("r", s.n, at(s.at)); got != s.want {
			t.Fatalf("%s: Seen = %v, want %v", s.name, got, s.want)
		}
		if d.Len() != s.len {
			t.Fatalf("%s: Len = %d, want %d", s.name, d.Len(), s.len)
		}
	}
}

// A group alone larger than MaxEntries keeps the alerts it saw last.
func TestDeduperTrimsTheOldestAlertsOfOneGroup(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour, MaxEntries: 3})
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	a, b, c, e := alert("a", 0), alert("b", 0), alert("c", 0), alert("e", 0)
	d.Seen("r", grouped("g", a), at(0))
	d.Seen("r", grouped("g", a, b), at(1))
	if d.Seen("r", grouped("g", a, b, c, e), at(2)) || d.Len() != 3 {
		t.Fatalf("Len = %d, want 3 (a, first seen longest ago, trimmed)", d.Len())
	}
	if !d.Seen("r", grouped("g", b, c, e), at(3)) {
		t.Fatal("b, c and e must be remembered")
	}
	if d.Seen("r", grouped("g", a), at(3)) {
		t.Fatal("a must have been trimmed")
	}
	// a is remembered again at 3m: b, first seen at 1m, is now the oldest.
	if !d.Seen("r", grouped("g", c, e, a), at(4)) || d.Len() != 3 {
		t.Fatalf("c, e and a must be remembered, Len = %d, want 3", d.Len())
	}
	if d.Seen("r", grouped("g", b), at(4)) {
		t.Fatal("b must have been trimmed")
	}
}

// A clock going backwards neither makes a remembered alert new nor keeps an expired one a repeat: pruning stops at
// the first live group, so a group behind it may outlive its window in memory, but its alerts are judged by their
// own first sighting.
func TestDeduperClockGoingBackwards(t *testing.T) {
	d := NewDeduper(DeduperOptions{Window: time.Hour})
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	g1, g2 := grouped("g1", alert("a", 0)), grouped("g2", alert("b", 0))
	steps := []struct {
		name string
		n    Notification
		at   int
		want bool
		len  int
	}{
		{"g1 at 30m", g1, 30, false, 1},
		{"g2 at 0m: the clock went back", g2, 0, false, 2},
		{"g1 at 10m, before its first sighting, is a repeat", g1, 10, true, 2},
		{"g2 at 70m is out of its window though g1, ahead of it, is not", g2, 70, false, 2},
		{"g2 was remembered again at 70m", g2, 80, true, 2},
		{"g1 is pruned at 90m", g2, 90, true, 1},
		{"g1 was forgotten", g1, 91, false, 2},
	}
	for _, s := range steps {
		if got := d.Seen("r", s.n, at(s.at)); got != s.want {
			t.Fatalf("%s: Seen = %v, want %v", s.name, got, s.want)
		}
		if d.Len() != s.len {
			t.Fatalf("%s: Len = %d, want %d", s.name, d.Len(), s.len)
		}
	}
}

// BenchmarkDeduperSeen measures Seen on a full Deduper: "evict" gives a new group each time (the group touched
// longest ago forgotten, the new one remembered), "repeat" a notification of a remembered group.
func BenchmarkDeduperSeen(b *testing.B) {
	const max = 10000
	notes := make([]Notification, 2*max)
	for i := range notes {
		notes[i] = grouped(fmt.Sprint(i), alert("a", 0))
	}
	full := func() *Deduper {
		d := NewDeduper(DeduperOptions{MaxEntries: max})
		for _, n := range notes[:max] {
			d.Seen("r", n, t0)
		}
		return d
	}
	b.Run("evict", func(b *testing.B) {
		d := full()
		b.ReportAllocs()
		i := max
		for b.Loop() {
			if d.Seen("r", notes[i%len(notes)], t0) {
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
			if !d.Seen("r", notes[i%max], t0) {
				b.Fatal("not a repeat")
			}
			i++
		}
	})
}
