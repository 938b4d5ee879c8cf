package scale

import (
	"reflect"
	"testing"
)

func downReq(amount, lo int, opt DeleteOption) HostRequest {
	return HostRequest{Action: ActionDown, Amount: amount, Min: lo, Max: 50, Selector: pool, DeleteOption: opt}
}

func TestPlanHostScaleDown(t *testing.T) {
	healthy := []Host{
		named("1h1", "n1", 1), named("1h2", "n2", 2), named("1h3", "n3", 3), named("1h4", "n4", 4), named("1h5", "n5", 5),
	}
	mixed := []Host{
		named("1h1", "n1", 1),
		host("1h2", "", "n2", "disconnected", "amazonec2", 2, pool),
		named("1h3", "n3", 3),
		host("1h4", "", "n4", "inactive", "", 4, pool),
		host("1h5", "", "n5", "reconnecting", "amazonec2", 5, pool),
		host("1h6", "", "n6", "deactivating", "amazonec2", 6, pool),
		host("1h7", "", "n7", "inactive", "amazonec2", 7, pool),
		named("1h8", "n8", 8),
	}
	tests := []struct {
		name   string
		group  []Host
		req    HostRequest
		remove []string
		want   Decision
	}{
		{name: "mostRecent removes the newest", group: healthy, req: downReq(2, 1, DeleteMostRecent),
			remove: []string{"1h5", "1h4"}, want: scaled(5, 3)},
		{name: "leastRecent removes the oldest", group: healthy, req: downReq(2, 1, DeleteLeastRecent),
			remove: []string{"1h1", "1h2"}, want: scaled(5, 3)},
		{name: "bad states first in state order, then by delete option (mostRecent)", group: mixed,
			req: downReq(7, 1, DeleteMostRecent), remove: []string{"1h7", "1h4", "1h6", "1h5", "1h2", "1h8", "1h3"},
			want: scaled(8, 1)},
		{name: "bad states first in state order, then by delete option (leastRecent)", group: mixed,
			req: downReq(7, 1, DeleteLeastRecent), remove: []string{"1h4", "1h7", "1h6", "1h5", "1h2", "1h1", "1h3"},
			want: scaled(8, 1)},
		{name: "FixesOriginal bad-state hosts removed only up to amount", group: mixed,
			req: downReq(2, 1, DeleteMostRecent), remove: []string{"1h7", "1h4"}, want: scaled(8, 6)},
		{name: "FixesOriginal never below min even for bad-state hosts", group: mixed,
			req: downReq(10, 5, DeleteMostRecent), remove: []string{"1h7", "1h4", "1h6"},
			want: Decision{Result: ResultScaled, From: 8, To: 5, Reason: ReasonClampedToMin}},
		{name: "FixesOriginal at min is a none decision, not a 400", group: healthy, req: downReq(1, 5, DeleteMostRecent),
			want: none(5, ReasonAtMin)},
		{name: "below min", group: healthy[:2], req: downReq(1, 3, DeleteMostRecent), want: none(2, ReasonAtMin)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]Host(nil), tt.group...)
			p, err := PlanHostScaleDown(tt.group, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(p.Remove); !reflect.DeepEqual(got, append([]string{}, tt.remove...)) {
				t.Fatalf("remove = %v, want %v", got, tt.remove)
			}
			if p.Decision != tt.want {
				t.Fatalf("decision = %+v, want %+v", p.Decision, tt.want)
			}
			if !reflect.DeepEqual(in, tt.group) {
				t.Fatal("the group must not be reordered")
			}
		})
	}
}

func TestPlanHostScaleDownErrors(t *testing.T) {
	tests := []struct {
		name  string
		group []Host
		req   HostRequest
		want  string
	}{
		{name: "empty group", req: downReq(1, 1, DeleteMostRecent), want: "No host with label map[pool:workers] exists"},
		{name: "missing delete option", group: []Host{named("1h1", "n1", 1)}, req: downReq(1, 1, ""),
			want: "Delete option missing"},
		{name: "up request", group: []Host{named("1h1", "n1", 1)}, req: upReq(1, 5), want: "Invalid action up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := PlanHostScaleDown(tt.group, tt.req)
			checkErr(t, err, tt.want)
		})
	}
}
