package scale

import (
	"reflect"
	"testing"
	"time"
)

// host builds a host created minutes after t0.
func host(id, name, hostname, state, driver string, minutes int, labels map[string]string) Host {
	return Host{ID: id, Name: name, Hostname: hostname, State: state, Driver: driver, Labels: labels,
		Created: t0.Add(time.Duration(minutes) * time.Minute)}
}

func ids(hosts []Host) []string {
	out := make([]string, 0, len(hosts))
	for _, h := range hosts {
		out = append(out, h.ID)
	}
	return out
}

func TestGroup(t *testing.T) {
	workers := map[string]string{"pool": "workers"}
	hosts := []Host{
		host("1h5", "", "w5", "active", "amazonec2", 5, map[string]string{"pool": "workers", "zone": "a"}),
		host("1h1", "", "w1", "active", "amazonec2", 1, map[string]string{"POOL": "Workers"}),
		host("1h2", "", "w2", "error", "amazonec2", 2, workers),
		host("1h3", "", "w3", "inactive", "", 3, map[string]string{"pool": "workers", "zone": "b"}),
		host("1h4", "", "db", "active", "amazonec2", 4, map[string]string{"pool": "db", "zone": "a"}),
		host("1h6", "", "w6", "removing", "amazonec2", 6, workers),
		host("1h7", "", "w7", "removed", "amazonec2", 7, workers),
		host("1h8", "", "w8", "purged", "amazonec2", 8, workers),
		host("1h9", "", "w9", "erroring", "amazonec2", 9, workers),
		host("1h10", "", "w10", "reconnecting", "amazonec2", 10, workers),
		host("1h11", "", "w11", "disconnected", "", 10, workers),
		host("1h12", "", "w12", "provisioning", "amazonec2", 12, workers),
		host("1h13", "", "x", "active", "", 0, nil),
	}
	tests := []struct {
		name     string
		selector map[string]string
		want     []string
	}{
		{name: "one label, case-insensitive, without error and removed hosts, oldest first (ties by id)",
			selector: workers, want: []string{"1h1", "1h3", "1h5", "1h10", "1h11", "1h12"}},
		{name: "FixesOriginal all selector labels must match, not one random pair",
			selector: map[string]string{"pool": "workers", "zone": "a"}, want: []string{"1h5"}},
		{name: "selector key and value case-insensitive", selector: map[string]string{"Zone": "B", "POOL": "WORKERS"},
			want: []string{"1h3"}},
		{name: "empty selector value matches only an empty label value", selector: map[string]string{"pool": ""}},
		{name: "empty selector selects nothing", selector: map[string]string{}},
		{name: "nil selector selects nothing"},
		{name: "no match", selector: map[string]string{"pool": "gpu"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ids(Group(hosts, tt.selector)); !reflect.DeepEqual(got, append([]string{}, tt.want...)) {
				t.Fatalf("Group = %v, want %v", got, tt.want)
			}
		})
	}
	if hosts[0].ID != "1h5" {
		t.Fatal("Group must not reorder its input")
	}
}

func TestGroupKey(t *testing.T) {
	tests := []struct {
		selector map[string]string
		want     string
	}{
		{map[string]string{"pool": "workers"}, "pool=workers"},
		{map[string]string{"Zone": "A", "pool": "Workers"}, "pool=workers,zone=a"},
		{map[string]string{"a": "b,c=d"}, "a=b%2Cc%3Dd"},
		{map[string]string{"a,c": "d"}, "a%2Cc=d"},
		{nil, ""},
	}
	for _, tt := range tests {
		if got := GroupKey(tt.selector); got != tt.want {
			t.Errorf("GroupKey(%v) = %q, want %q", tt.selector, got, tt.want)
		}
	}
}

func TestValidateHostConfig(t *testing.T) {
	okUp := HostRequest{Action: ActionUp, Amount: 1, Min: 1, Max: 5, Selector: map[string]string{"pool": "workers"}}
	tests := []struct {
		name string
		mod  func(r *HostRequest)
		want string
	}{
		{name: "valid up", mod: func(*HostRequest) {}},
		{name: "valid down mostRecent", mod: func(r *HostRequest) { r.Action, r.DeleteOption = ActionDown, DeleteMostRecent }},
		{name: "valid down leastRecent", mod: func(r *HostRequest) { r.Action, r.DeleteOption = ActionDown, DeleteLeastRecent }},
		{name: "no action", mod: func(r *HostRequest) { r.Action = "" }, want: "Scale action not provided"},
		{name: "bad action", mod: func(r *HostRequest) { r.Action = "out" }, want: "Invalid action out"},
		{name: "zero amount", mod: func(r *HostRequest) { r.Amount = 0 }, want: "Invalid amount: 0"},
		{name: "no selector", mod: func(r *HostRequest) { r.Selector = nil }, want: "HostSelector not provided"},
		{name: "empty selector refused like a missing one", mod: func(r *HostRequest) { r.Selector = map[string]string{} },
			want: "HostSelector not provided"},
		{name: "zero min", mod: func(r *HostRequest) { r.Min = 0 }, want: "Minimum scale not provided/invalid"},
		{name: "zero max", mod: func(r *HostRequest) { r.Max = 0 }, want: "Maximum scale not provided/invalid"},
		{name: "min not below max", mod: func(r *HostRequest) { r.Min = 5 }, want: "Max must be greater than min"},
		{name: "delete option on up", mod: func(r *HostRequest) { r.DeleteOption = DeleteMostRecent },
			want: "Delete option not to be provided while scaling up"},
		{name: "down without delete option", mod: func(r *HostRequest) { r.Action = ActionDown },
			want: "Delete option missing"},
		{name: "down with bad delete option", mod: func(r *HostRequest) { r.Action, r.DeleteOption = ActionDown, "random" },
			want: "Invalid delete option random"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := okUp
			tt.mod(&r)
			checkErr(t, ValidateHostConfig(r), tt.want)
		})
	}
}

func TestGroupOrdersEqualTimesByNumericID(t *testing.T) {
	sel := map[string]string{"pool": "w"}
	hosts := []Host{host("1h10", "", "b", "active", "", 0, sel), host("1h9", "", "a", "active", "", 0, sel)}
	if got := ids(Group(hosts, sel)); !reflect.DeepEqual(got, []string{"1h9", "1h10"}) {
		t.Fatalf("Group = %v, want [1h9 1h10]", got)
	}
}

// OutOfGroup is Group's state rule: a host in one of these states is never counted, whatever its labels.
func TestOutOfGroup(t *testing.T) {
	for _, s := range []string{"error", "erroring", "removing", "removed", "purging", "purged"} {
		if !OutOfGroup(s) || Group([]Host{host("1h1", "", "w1", s, "", 1, pool)}, pool) != nil {
			t.Errorf("state %s: OutOfGroup %v, want true and Group to leave it out", s, OutOfGroup(s))
		}
	}
	for _, s := range []string{"active", "inactive", "deactivating", "provisioning", "reconnecting", "disconnected"} {
		if OutOfGroup(s) || len(Group([]Host{host("1h1", "", "w1", s, "", 1, pool)}, pool)) != 1 {
			t.Errorf("state %s: OutOfGroup %v, want false and Group to count it", s, OutOfGroup(s))
		}
	}
}
