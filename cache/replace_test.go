package cache

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"
)

// serviceRows renders n services 1s1..1s<n> at version.
func serviceRows(t testing.TB, n int, version string) []json.RawMessage {
	t.Helper()
	rows := make([]json.RawMessage, 0, n)
	for k := 1; k <= n; k++ {
		id := fmt.Sprintf("1s%d", k)
		rows = append(rows, serviceJSON(t, id, version, lc("docker:nginx:1.13", map[string]string{"app": id})))
	}
	return rows
}

// TestReplaceSkipsUnchangedRows: a resync of an unchanged list decodes nothing, so what it allocates does not
// grow with the rows (a decoded service costs dozens of allocations; this bound is below one per row), and it
// reports no change.
func TestReplaceSkipsUnchangedRows(t *testing.T) {
	s, _ := newTestStore(t)
	rows := serviceRows(t, 500, "v1")
	if changed, err := s.Replace(KindService, rows); err != nil || len(changed) != 500 {
		t.Fatalf("first replace: %d changed, err %v; want all 500", len(changed), err)
	}
	before, _ := s.Service("1s7")
	allocs := testing.AllocsPerRun(5, func() {
		if changed, err := s.Replace(KindService, rows); err != nil || len(changed) != 0 {
			t.Fatalf("identical replace: changed %v, err %v; want no change", changed, err)
		}
	})
	if allocs >= float64(len(rows)) {
		t.Fatalf("replace of %d unchanged rows made %.0f allocations, want fewer than one per row: rows were decoded",
			len(rows), allocs)
	}
	if after, _ := s.Service("1s7"); after != before {
		t.Fatal("an unchanged row replaced the cached object")
	}
	// The indexes still answer as before.
	if got := serviceIDs(s.ServicesMatching(map[string]string{"app": "1s7"})); !slices.Equal(got, []string{"1s7"}) {
		t.Fatalf("services matching app=1s7 = %v after an unchanged replace", got)
	}
}

// TestReplaceMixesSkippedAndDecodedRows: unchanged, changed, new, removed, undecodable and missing rows in one
// list each get their usual treatment.
func TestReplaceMixesSkippedAndDecodedRows(t *testing.T) {
	s, reg := newTestStore(t)
	upsertAll(t, s, KindService, serviceRows(t, 5, "v1")...)
	rows := serviceRows(t, 5, "v1")
	rows[1] = serviceJSON(t, "1s2", "v2", lc("docker:redis", nil))                   // changed, and reindexed
	rows[2] = removedJSON(t, "1s3", "service")                                       // listed as removed
	rows[3] = json.RawMessage(`{"id":"1s4","type":"service","scale":"lots"}`)        // undecodable: kept as cached
	rows = append(rows[:4], serviceJSON(t, "1s10", "v1", lc("docker:busybox", nil))) // 1s5 missing; 1s10 new
	changed, err := s.Replace(KindService, rows)
	if err == nil {
		t.Fatal("undecodable row: want an error")
	}
	if want := []string{"1s2", "1s3", "1s5", "1s10"}; !slices.Equal(changed, want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	if want := []string{"1s1", "1s2", "1s4", "1s10"}; !slices.Equal(serviceIDs(s.Services()), want) {
		t.Fatalf("services = %v, want %v", serviceIDs(s.Services()), want)
	}
	if got := serviceVersion(s, "1s4"); got != "v1" {
		t.Fatalf("1s4 = %q, want the cached v1 kept", got)
	}
	if got := serviceIDs(s.ServicesWithRepository("redis")); !slices.Equal(got, []string{"1s2"}) {
		t.Fatalf("services with repository redis = %v, want [1s2]", got)
	}
	if got := serviceIDs(s.ServicesWithRepository("nginx")); !slices.Equal(got, []string{"1s1", "1s4"}) {
		t.Fatalf("services with repository nginx = %v, want [1s1 1s4]", got)
	}
	if got := gaugeValues(t, reg)[KindService]; got != 4 {
		t.Fatalf("gauge{type=service} = %v, want 4", got)
	}
}

// TestReplaceListWinsOverAWriteBetweenItsHalves: Replace decodes without the lock and applies with it. A row
// recognised as unchanged must still win over a write made in between (the list is the truth Replace was
// given), and a row of an object deleted in between must bring it back.
func TestReplaceListWinsOverAWriteBetweenItsHalves(t *testing.T) {
	s, _ := newTestStore(t)
	upsertAll(t, s, KindService, serviceRows(t, 3, "v1")...)
	rows := serviceRows(t, 3, "v1")
	plan := s.planReplace(KindService, rows)
	for _, pr := range plan.rows {
		if pr.same == "" {
			t.Fatalf("row %s was decoded: want every identical row recognised as unchanged", pr.raw)
		}
	}
	upsertAll(t, s, KindService, serviceJSON(t, "1s1", "v9", lc("docker:other", nil)))
	s.Delete(KindService, "1s2")
	changed, err := s.applyReplace(KindService, plan)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"1s1", "1s2"}; !slices.Equal(changed, want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	for _, id := range []string{"1s1", "1s2", "1s3"} {
		if got := serviceVersion(s, id); got != "v1" {
			t.Errorf("%s = %q, want the listed v1", id, got)
		}
	}
	if got := s.ServicesWithRepository("docker:other"); len(got) != 0 {
		t.Fatalf("the overwritten version is still indexed: %v", serviceIDs(got))
	}
}

// TestReplaceDuplicateRowsLastWins: an offset listing can show a row twice when the list shifts under it;
// the later row wins, as it did when every row was decoded, and the object is reported once.
func TestReplaceDuplicateRowsLastWins(t *testing.T) {
	s, _ := newTestStore(t)
	v1 := serviceJSON(t, "1s1", "v1", lc("docker:a", nil))
	v2 := serviceJSON(t, "1s1", "v2", lc("docker:a", nil))
	upsertAll(t, s, KindService, v1)
	changed, err := s.Replace(KindService, []json.RawMessage{v2, v1})
	if err != nil || !slices.Equal(changed, []string{"1s1"}) {
		t.Fatalf("changed = %v, err %v; want [1s1] once", changed, err)
	}
	if got := serviceVersion(s, "1s1"); got != "v1" {
		t.Fatalf("1s1 = %q, want v1 (the later row)", got)
	}
	changed, err = s.Replace(KindService, []json.RawMessage{v1, v2})
	if err != nil || !slices.Equal(changed, []string{"1s1"}) || serviceVersion(s, "1s1") != "v2" {
		t.Fatalf("changed = %v, err %v, 1s1 = %q; want [1s1] and v2", changed, err, serviceVersion(s, "1s1"))
	}
}
