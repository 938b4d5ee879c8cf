package scale

import (
	"maps"
	"reflect"
	"testing"
)

var pool = map[string]string{"pool": "workers"}

func upReq(amount, hi int) HostRequest {
	return HostRequest{Action: ActionUp, Amount: amount, Min: 1, Max: hi, Selector: pool}
}

// named builds a clonable active group member created at minute m.
func named(id, hostname string, m int) Host {
	return host(id, "", hostname, "active", "amazonec2", m, pool)
}

func TestPlanHostScaleUpTemplate(t *testing.T) {
	tests := []struct {
		name  string
		group []Host
		want  string
	}{
		{name: "oldest clonable host", group: []Host{named("1h3", "c", 3), named("1h1", "a", 1), named("1h2", "b", 2)},
			want: "1h1"},
		// The original counted driver hosts in a newest-first list and used count-1 as an index: with the newest
		// host custom and the oldest a driver host it picked index 0, the custom host.
		{name: "FixesOriginal custom host never the template",
			group: []Host{host("1h2", "", "custom", "active", "", 2, pool), named("1h1", "a", 1)}, want: "1h1"},
		// With [custom newest, d2, d1 oldest] the original's index 1 picked d2, not the oldest clonable d1.
		{name: "FixesOriginal oldest clonable, not the count-indexed one",
			group: []Host{host("1h0", "", "custom0", "active", "", 0, pool), host("1h9", "", "custom", "active", "", 9, pool),
				named("1h5", "d2", 5), named("1h2", "d1", 2)},
			want: "1h2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanHostScaleUp(tt.group, upReq(1, 10))
			if err != nil {
				t.Fatal(err)
			}
			if p.Template.ID != tt.want {
				t.Fatalf("template = %s, want %s", p.Template.ID, tt.want)
			}
			// The executor's fallback (a template that left the group) picks with the same rule.
			if got, ok := Template(tt.group); !ok || got.ID != tt.want {
				t.Fatalf("Template = %s, %v, want %s", got.ID, ok, tt.want)
			}
		})
	}
}

// Template does not reorder its argument, and a group of custom hosts has none.
func TestTemplate(t *testing.T) {
	group := []Host{named("1h3", "c", 3), named("1h1", "a", 1)}
	if got, ok := Template(group); !ok || got.ID != "1h1" || group[0].ID != "1h3" {
		t.Fatalf("Template = %s, %v (group now %v), want 1h1 and the group untouched", got.ID, ok, ids(group))
	}
	custom := []Host{host("1h1", "", "custom", "active", "", 1, pool)}
	if got, ok := Template(custom); ok {
		t.Fatalf("Template of custom hosts = %s, want none", got.ID)
	}
}

func TestPlanHostScaleUpNames(t *testing.T) {
	tests := []struct {
		name   string
		group  []Host
		amount int
		want   []string
	}{
		{name: "continues the numbering", group: []Host{named("1h1", "node1", 1), named("1h2", "node2", 2)}, amount: 2,
			want: []string{"node3", "node4"}},
		{name: "zero padded to the old width", group: []Host{named("1h1", "node01", 1), named("1h2", "node02", 2)},
			amount: 1, want: []string{"node03"}},
		{name: "padding grows past 09", group: []Host{named("1h1", "node01", 1), named("1h2", "node09", 2)}, amount: 2,
			want: []string{"node10", "node11"}},
		{name: "FixesOriginal number wider than its padding does not hang (rancher/rancher#7983)",
			group: []Host{named("1h1", "node8", 1), named("1h2", "node9", 2)}, amount: 3, want: []string{"node10", "node11", "node12"}},
		{name: "keeps wide padding", group: []Host{named("1h1", "node009", 1)}, amount: 1, want: []string{"node010"}},
		{name: "domain cut at the first dot",
			group: []Host{named("1h1", "worker3.example.com", 1), named("1h2", "worker4.example.com", 2)}, amount: 1,
			want: []string{"worker5"}},
		{name: "no suffix starts at 2 as the original", group: []Host{named("1h1", "node", 1)}, amount: 2,
			want: []string{"node2", "node3"}},
		{name: "name preferred over hostname",
			group: []Host{host("1h1", "web7", "ip-10-0-0-1.ec2.internal", "active", "amazonec2", 1, pool)}, amount: 1,
			want: []string{"web8"}},
		{name: "suffix from the newest host containing the prefix",
			group: []Host{named("1h1", "node4", 1), named("1h2", "node2", 2), named("1h3", "other9", 3)}, amount: 1,
			want: []string{"node3"}},
		{name: "names already in the group are skipped",
			group: []Host{named("1h1", "node1", 1), named("1h2", "NODE3", 2), named("1h3", "node2", 3)}, amount: 2,
			want: []string{"node4", "node5"}},
		{name: "all-digit names", group: []Host{named("1h1", "12", 1)}, amount: 1, want: []string{"13"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanHostScaleUp(tt.group, upReq(tt.amount, 50))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(p.Hostnames, tt.want) {
				t.Fatalf("hostnames = %v, want %v", p.Hostnames, tt.want)
			}
			n := len(tt.group)
			if p.Decision != (Decision{Result: ResultScaled, From: n, To: n + tt.amount}) {
				t.Fatalf("decision = %+v", p.Decision)
			}
		})
	}
}

func TestPlanHostScaleUpBounds(t *testing.T) {
	three := []Host{named("1h1", "n1", 1), named("1h2", "n2", 2), named("1h3", "n3", 3)}
	tests := []struct {
		name      string
		group     []Host
		req       HostRequest
		want      Decision
		hostnames []string
		err       string
	}{
		{name: "FixesOriginal clamped to max instead of refused", group: three, req: upReq(5, 4),
			want: Decision{Result: ResultScaled, From: 3, To: 4, Reason: ReasonClampedToMax}, hostnames: []string{"n4"}},
		{name: "FixesOriginal at max is a none decision, not a 400", group: three, req: upReq(1, 3),
			want: none(3, ReasonAtMax)},
		{name: "beyond max", group: three, req: upReq(1, 2), want: none(3, ReasonAtMax)},
		{name: "empty group", req: upReq(1, 5), err: "No host with label map[pool:workers] exists"},
		{name: "only custom hosts", group: []Host{host("1h1", "", "c1", "active", "", 1, pool)}, req: upReq(1, 5),
			err: "Cannot use custom hosts for scaling up"},
		{name: "invalid request", group: three, req: HostRequest{Action: ActionUp, Amount: 0, Min: 1, Max: 5, Selector: pool},
			err: "Invalid amount: 0"},
		{name: "down request", group: three,
			req: HostRequest{Action: ActionDown, Amount: 1, Min: 1, Max: 5, Selector: pool, DeleteOption: DeleteMostRecent},
			err: "Invalid action down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := PlanHostScaleUp(tt.group, tt.req)
			checkErr(t, err, tt.err)
			if tt.err != "" {
				return
			}
			if p.Decision != tt.want || !reflect.DeepEqual(p.Hostnames, tt.hostnames) {
				t.Fatalf("plan = %+v / %v, want %+v / %v", p.Decision, p.Hostnames, tt.want, tt.hostnames)
			}
		})
	}
}

func TestPlanHostScaleUpLabels(t *testing.T) {
	tmplLabels := map[string]string{"POOL": "Workers", "zone": "a"}
	group := []Host{host("1h1", "", "n1", "active", "amazonec2", 1, tmplLabels)}
	before := maps.Clone(tmplLabels)
	req := HostRequest{Action: ActionUp, Amount: 1, Min: 1, Max: 5,
		Selector: map[string]string{"pool": "workers", "zone": "A"}}
	p, err := PlanHostScaleUp(group, req)
	if err != nil {
		t.Fatal(err)
	}
	// Both selector pairs already match case-insensitively: the labels are the template's, copied.
	if !reflect.DeepEqual(p.Labels, before) {
		t.Fatalf("labels = %v, want %v", p.Labels, before)
	}
	p.Labels["new"] = "x"
	if !reflect.DeepEqual(tmplLabels, before) {
		t.Fatal("plan labels must be a copy of the template's")
	}
	// A selector pair the template does not carry (it matched through another case) is added.
	group[0].Labels = map[string]string{"pool": "workers"}
	req.Selector = map[string]string{"pool": "workers"}
	p, err = PlanHostScaleUp(group, req)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Labels, map[string]string{"pool": "workers"}) {
		t.Fatalf("labels = %v", p.Labels)
	}
	if got := CloneLabels(nil, map[string]string{"pool": "w"}); !reflect.DeepEqual(got, map[string]string{"pool": "w"}) {
		t.Fatalf("CloneLabels(nil) = %v", got)
	}
}

// A planned hostname another host of the group took since the plan (as hostname or name, in any case, short
// names compared) gives way to the next free one, past the plan's other names too; a free one is kept.
func TestFreeHostname(t *testing.T) {
	template := named("1h1", "worker-01", 1)
	group := []Host{template, named("1h2", "worker-02", 2)}
	if got, _, taken := FreeHostname(group, template, "worker-03", []string{"worker-04"}); taken || got != "worker-03" {
		t.Errorf("free name: %s, taken %v; want worker-03 kept", got, taken)
	}
	for _, tc := range []struct {
		name   string
		holder Host
	}{
		{"hostname", named("1h9", "worker-03", 9)},
		{"name, other case, long form", host("1h9", "WORKER-03.example.com", "", "active", "amazonec2", 9, pool)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := append(append([]Host(nil), group...), tc.holder)
			got, holder, taken := FreeHostname(g, template, "worker-03", []string{"worker-04"})
			if !taken || holder.ID != "1h9" || got != "worker-05" {
				t.Errorf("FreeHostname = %s, holder %s, taken %v; want worker-05 (worker-04 is the plan's), held by 1h9",
					got, holder.ID, taken)
			}
		})
	}
}
