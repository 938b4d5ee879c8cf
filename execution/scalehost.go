package execution

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/scale"
)

// hostGroupKind is the queue-key kind of a host group: "hostgroup:<scale.GroupKey(selector)>".
const hostGroupKind = "hostgroup"

// hostCloneFields are the host members a clone copies besides the driver config: what Cattle's host create
// accepts and a machine needs to come up like its template.
var hostCloneFields = []string{
	"engineInstallUrl", "engineStorageDriver", "engineOpt", "engineEnv", "engineLabel",
	"engineInsecureRegistry", "engineRegistryMirror", "hostTemplateId", "description",
}

// applyScaleHost executes the scaleHost triggers waiting on one host group, one after the other, each from a
// fresh host listing (hosts come and go through Cattle, so the cache may lag our own creates and removals). A
// trigger whose writes may have reached Cattle keeps its plan across retries: the listing settles them
// (hostsettle.go). While one cannot be settled yet, that trigger and those after it wait: each is planned from
// a listing that shows the work of the ones before. Those after it wait at most maxBlockedRounds rounds.
func (x *Executor) applyScaleHost(ctx context.Context, key string, batch []*intent) error {
	for i, in := range batch {
		in.entry.Running()
		stalls := in.hosts.stalls()
		wait, err := x.scaleHostOnce(ctx, in)
		if err != nil {
			// A call cut by shutdown is not a refusal: Close answers (and settles) what is put back.
			if cattle.IsRetryable(err) || ctx.Err() != nil {
				rest := batch[i+1:]
				if ctx.Err() == nil {
					rest = x.holdBehind(key, in, rest, "cattle kept failing: "+err.Error())
				}
				return x.retryOrFail(ctx, key, append([]*intent{in}, rest...), err)
			}
			if wait = x.settleLater(in, err); wait == 0 {
				x.failHost(in, err)
				continue
			}
		}
		if wait > 0 {
			rest := batch[i+1:]
			if in.hosts.stalls() > stalls {
				rest = x.holdBehind(key, in, rest, "host writes cattle did not answer are still settling")
			}
			x.book.putBack(key, append([]*intent{in}, rest...))
			x.queue.AddAfter(key, wait)
			return nil
		}
	}
	return nil
}

// scaleHostOnce lists the hosts, plans the trigger (or settles its plan's writes) and sends what is still to
// do. It returns how long to wait when writes cannot be settled yet.
func (x *Executor) scaleHostOnce(ctx context.Context, in *intent) (time.Duration, error) {
	req := *in.scaleHost
	start := time.Now()
	hosts, err := x.cattle.ListHosts(ctx, cattle.ListOptions{Sort: "created"})
	recordCall([]*Entry{in.entry}, http.MethodGet, "hosts", start, err)
	if err != nil {
		return 0, err
	}
	x.reportDuplicates(in, hosts)
	group := scale.Group(planHosts(hosts), req.Selector)
	if in.hosts != nil && !in.hosts.sent() {
		// Nothing of the earlier plan reached Cattle: plan again from what it shows now.
		in.hosts = nil
	}
	if in.hosts != nil {
		if wait := x.settleHostWrites(in, hosts, group, false); wait > 0 {
			return wait, nil
		}
		if len(in.hosts.exhaustedNames()) > 0 {
			x.finishExhausted(in)
			return 0, nil
		}
	} else if !x.planScaleHost(in, group, req) {
		return 0, nil
	}
	if req.Action == scale.ActionUp {
		return 0, x.createHosts(ctx, in, group)
	}
	return 0, x.evacuateHosts(ctx, in)
}

// planScaleHost plans a trigger from a listing and fixes the plan on the intent; it answers the trigger and
// returns false when there is nothing to do.
func (x *Executor) planScaleHost(in *intent, group []scale.Host, req scale.HostRequest) bool {
	var (
		decision scale.Decision
		work     *hostWork
		desc     string
		err      error
	)
	if req.Action == scale.ActionUp {
		var plan scale.HostUpPlan
		plan, err = scale.PlanHostScaleUp(group, req)
		receiverID, planned := in.entry.Snapshot().ReceiverID, x.now()
		decision, work = plan.Decision, newUpWork(plan, func(n int) string {
			return hostMarker(receiverID, in.entry.ID(), planned, n)
		})
		desc = fmt.Sprintf("clone %s as %v", plan.Template.ID, plan.Hostnames)
	} else {
		var plan scale.HostDownPlan
		plan, err = scale.PlanHostScaleDown(group, req)
		decision, work = plan.Decision, newDownWork(plan)
		desc = fmt.Sprintf("remove %v", work.names(writePending))
	}
	if err != nil {
		x.ignoreAll([]*intent{in}, err.Error())
		return false
	}
	if len(work.writes) == 0 {
		in.entry.SetDecision(fmt.Sprintf("%s: %s", decision.Result, decision.Reason))
		in.finish(OutcomeIgnored, nil, okAnswer(in, decision, ""))
		return false
	}
	in.entry.SetDecision(desc)
	in.hosts = work
	return true
}

// createHosts sends the creates of a scale-up plan that are still to do, then answers the trigger.
func (x *Executor) createHosts(ctx context.Context, in *intent, group []scale.Host) error {
	w := in.hosts
	if w.count(writePending) == 0 {
		x.finishHostWork(in)
		return nil
	}
	if !hasHost(group, w.templateID) {
		// The template left the group since the plan was made: clone the one the planner would pick now, with
		// the labels it would give its clones.
		old := w.templateID
		t, ok := scale.Template(group)
		if !ok {
			return fmt.Errorf("template host %s left the group and no other host can be cloned", old)
		}
		w.templateID, w.labels = t.ID, scale.CloneLabels(t.Labels, in.scaleHost.Selector)
		in.entry.Step(fmt.Sprintf("template host %s left the group: cloning %s instead", old, w.templateID))
	}
	start := time.Now()
	template, err := x.cattle.GetHost(ctx, w.templateID)
	recordCall([]*Entry{in.entry}, http.MethodGet, "hosts/"+w.templateID, start, err)
	if err != nil {
		return err
	}
	for _, wr := range w.writes {
		if wr.state != writePending {
			continue
		}
		x.freeHostname(in, wr, group)
		labels := maps.Clone(w.labels)
		if labels == nil {
			labels = make(map[string]string, 1)
		}
		labels[HostMarkerLabel] = wr.marker
		// A template's own create marker is overwritten above; the upgrade marker key, which clones of an
		// earlier build carried, describes no host.
		delete(labels, MarkerLabel)
		input, err := cloneInput(template, wr.name, labels)
		if err != nil {
			return err
		}
		start = time.Now()
		h, err := x.cattle.CreateHost(ctx, input)
		recordCall([]*Entry{in.entry}, http.MethodPost, "hosts ("+wr.name+")", start, err)
		if err != nil {
			// Hosts created so far stay; a retry settles this one from its listing and creates the rest.
			x.writeFailed(in, wr, err)
			return err
		}
		wr.state, wr.id, wr.tried = writeDone, h.ID, true
	}
	x.finishHostWork(in)
	return nil
}

// evacuateHosts sends the evacuations of a scale-down plan that are still to do (and those whose earlier send
// left no trace on their host), then answers the trigger.
func (x *Executor) evacuateHosts(ctx context.Context, in *intent) error {
	for _, wr := range in.hosts.writes {
		if wr.state != writePending {
			continue
		}
		start := time.Now()
		_, err := x.cattle.CreateExternalHostEvent(ctx, cattle.ExternalHostEvent{
			EventType: "host.evacuate", HostID: wr.id, DeleteHost: true})
		recordCall([]*Entry{in.entry}, http.MethodPost, "externalhostevents (host.evacuate "+wr.id+")", start, err)
		if err != nil {
			x.writeFailed(in, wr, err)
			return err
		}
		wr.state, wr.tried = writeDone, true
	}
	x.finishHostWork(in)
	return nil
}

// freeHostname gives a create about to be sent the next free hostname when another host of the group (one
// without its marker) took its planned one since the plan was made: a second host of that name would confuse
// whoever reads the group, and the marker, not the name, settles the create.
func (x *Executor) freeHostname(in *intent, wr *hostWrite, group []scale.Host) {
	w := in.hosts
	var template scale.Host
	others := make([]scale.Host, 0, len(group))
	for _, h := range group {
		if h.ID == w.templateID {
			template = h
		}
		if h.Labels[HostMarkerLabel] != wr.marker {
			others = append(others, h)
		}
	}
	reserved := make([]string, 0, len(w.writes))
	for _, o := range w.writes {
		if o != wr {
			reserved = append(reserved, o.name)
		}
	}
	name, holder, renamed := scale.FreeHostname(others, template, wr.name, reserved)
	if !renamed {
		return
	}
	in.entry.Step(fmt.Sprintf("hostname %s is now taken by %s (%s), another host of the group: this create goes "+
		"as %s, with the same %s=%s", wr.name, holder.ID, holder.State, name, HostMarkerLabel, wr.marker))
	wr.name = name
}

func hasHost(group []scale.Host, id string) bool {
	for _, h := range group {
		if h.ID == id {
			return true
		}
	}
	return false
}

// planHosts converts Cattle hosts to the planner's view; the state is the one v2-beta shows (agentState when
// the host is active).
func planHosts(hosts []cattle.Host) []scale.Host {
	out := make([]scale.Host, 0, len(hosts))
	for i := range hosts {
		h := &hosts[i]
		created := time.UnixMilli(h.CreatedTS)
		if h.CreatedTS == 0 {
			created, _ = time.Parse(time.RFC3339, h.Created)
		}
		out = append(out, scale.Host{ID: h.ID, Name: h.Name, Hostname: h.Hostname, Labels: h.Labels, State: h.State,
			Driver: h.Driver, Created: created})
	}
	return out
}

// cloneInput is the host-create body of a clone: the template's driver config and engine settings, a new
// hostname, no name (Cattle shows the hostname), and labels: the group's, plus the write's marker.
func cloneInput(template *cattle.Host, hostname string, labels map[string]string) (map[string]any, error) {
	raw, err := json.Marshal(template)
	if err != nil {
		return nil, fmt.Errorf("encode template host %s: %w", template.ID, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return nil, fmt.Errorf("decode template host %s: %w", template.ID, err)
	}
	input := map[string]any{"hostname": hostname, "name": "", "labels": labels}
	if name, cfg, ok := template.DriverConfig(); ok {
		input[name] = cfg
	}
	for _, f := range hostCloneFields {
		if v, ok := all[f]; ok && string(v) != "null" {
			input[f] = v
		}
	}
	return input, nil
}
