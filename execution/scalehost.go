package execution

import (
	"context"
	"encoding/json"
	"fmt"
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
// fresh host listing (hosts come and go through Cattle, so the cache may lag our own creates and removals).
func (x *Executor) applyScaleHost(ctx context.Context, key string, batch []*intent) error {
	for i, in := range batch {
		in.entry.Running()
		if err := x.scaleHostOnce(ctx, in); err != nil {
			if cattle.IsRetryable(err) {
				return x.retryOrFail(ctx, key, batch[i:], err)
			}
			x.failAll([]*intent{in}, err)
		}
	}
	return nil
}

func (x *Executor) scaleHostOnce(ctx context.Context, in *intent) error {
	req := *in.scaleHost
	entries := []*Entry{in.entry}
	start := time.Now()
	hosts, err := x.cattle.ListHosts(ctx, cattle.ListOptions{Sort: "created"})
	recordCall(entries, http.MethodGet, "hosts", start, err)
	if err != nil {
		return err
	}
	group := scale.Group(planHosts(hosts), req.Selector)
	if req.Action == scale.ActionUp {
		return x.scaleHostsUp(ctx, in, group, req)
	}
	return x.scaleHostsDown(ctx, in, group, req)
}

func (x *Executor) scaleHostsUp(ctx context.Context, in *intent, group []scale.Host, req scale.HostRequest) error {
	plan, err := scale.PlanHostScaleUp(group, req)
	if err != nil {
		x.ignoreAll([]*intent{in}, err.Error())
		return nil
	}
	if len(plan.Hostnames) == 0 {
		in.entry.SetDecision(fmt.Sprintf("%s: %s", plan.Decision.Result, plan.Decision.Reason))
		in.finish(OutcomeIgnored, nil, okAnswer(in, plan.Decision, ""))
		return nil
	}
	in.entry.SetDecision(fmt.Sprintf("clone %s as %v", plan.Template.ID, plan.Hostnames))
	start := time.Now()
	template, err := x.cattle.GetHost(ctx, plan.Template.ID)
	recordCall([]*Entry{in.entry}, http.MethodGet, "hosts/"+plan.Template.ID, start, err)
	if err != nil {
		return err
	}
	var created []string
	for _, hostname := range plan.Hostnames {
		input, err := cloneInput(template, hostname, plan.Labels)
		if err != nil {
			return err
		}
		start = time.Now()
		h, err := x.cattle.CreateHost(ctx, input)
		recordCall([]*Entry{in.entry}, http.MethodPost, "hosts", start, err)
		if err != nil {
			// Hosts created so far stay: the retry re-plans from a fresh listing, which counts them.
			return err
		}
		created = append(created, h.ID)
	}
	x.log.WithFields(logFields(in.key, "scaleHost")).WithField("created", len(created)).Info("hosts cloned")
	in.finish(OutcomeDone, nil, Answer{Status: http.StatusOK, Body: reply{
		ExecutionID: in.entry.ID(), Decision: plan.Decision, Target: in.key, Targets: plan.Hostnames}})
	return nil
}

func (x *Executor) scaleHostsDown(ctx context.Context, in *intent, group []scale.Host, req scale.HostRequest) error {
	plan, err := scale.PlanHostScaleDown(group, req)
	if err != nil {
		x.ignoreAll([]*intent{in}, err.Error())
		return nil
	}
	if len(plan.Remove) == 0 {
		in.entry.SetDecision(fmt.Sprintf("%s: %s", plan.Decision.Result, plan.Decision.Reason))
		in.finish(OutcomeIgnored, nil, okAnswer(in, plan.Decision, ""))
		return nil
	}
	names := make([]string, len(plan.Remove))
	for i, h := range plan.Remove {
		names[i] = h.Hostname
		if h.Name != "" {
			names[i] = h.Name
		}
	}
	in.entry.SetDecision(fmt.Sprintf("remove %v", names))
	for _, h := range plan.Remove {
		start := time.Now()
		_, err := x.cattle.CreateExternalHostEvent(ctx, cattle.ExternalHostEvent{
			EventType: "host.evacuate", HostID: h.ID, DeleteHost: true})
		recordCall([]*Entry{in.entry}, http.MethodPost, "externalhostevents (host.evacuate "+h.ID+")", start, err)
		if err != nil {
			return err
		}
	}
	x.log.WithFields(logFields(in.key, "scaleHost")).WithField("removed", len(plan.Remove)).Info("hosts removed")
	in.finish(OutcomeDone, nil, Answer{Status: http.StatusOK, Body: reply{
		ExecutionID: in.entry.ID(), Decision: plan.Decision, Target: in.key, Targets: names}})
	return nil
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
// hostname, no name (Cattle shows the hostname), and the group's labels.
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
