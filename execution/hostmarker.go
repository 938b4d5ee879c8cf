package execution

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rancher/scale-subscriber/cattle"
)

// HostMarkerLabel is the label every host a scaleHost trigger creates carries; its value is unique to that
// create (hostMarker), so a listing tells whether the create was applied, and applied twice, whatever the
// host's name. It is not the upgrade marker (MarkerLabel): the two never meet.
const HostMarkerLabel = "io.rancher.scale-subscriber.host-create"

// maxMarkerLength bounds a marker value. In Rancher 1.x Kubernetes environments host labels are synced to node
// labels, whose values are at most 63 characters of [A-Za-z0-9._-], beginning and ending alphanumeric; a value
// outside that would break the sync, so markers keep within it.
const maxMarkerLength = 63

// hostMarker is the HostMarkerLabel value of the n-th create (from 1) of a plan made at planned by execution
// executionID of a receiver: "<receiverId>.<executionId>.<plan ms>.<n>". The execution id is unique within a
// run of the service and the plan time across runs, so the receiver id (only a help to a human) is what is cut
// when the value would be too long, then the execution id's head (its sequence number is at its end).
func hostMarker(receiverID, executionID string, planned time.Time, n int) string {
	tail := "." + strconv.FormatInt(planned.UnixMilli(), 10) + "." + strconv.Itoa(n)
	exec := markerPart(executionID)
	room := maxMarkerLength - len(tail)
	if len(exec) > room {
		exec = strings.TrimLeft(exec[len(exec)-room:], "._-")
	}
	head := exec
	if recv := markerPart(receiverID); recv != "" && exec != "" {
		if keep := room - len(exec) - 1; keep > 0 {
			head = strings.TrimRight(recv[:min(len(recv), keep)], "._-") + "." + exec
		}
	}
	if head == "" || strings.HasPrefix(head, ".") {
		head = "h" + head
	}
	return head + tail
}

// markerPart keeps the characters of s a label value allows and trims those it may not begin or end with.
func markerPart(s string) string {
	s = strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			return r
		}
		return -1
	}, s)
	return strings.Trim(s, "._-")
}

// maxReportedMarkers bounds the markers an executor remembers having reported as applied twice.
const maxReportedMarkers = 1000

// markerSet is a bounded set of marker values, safe for concurrent use (the workers of different host groups
// share it).
type markerSet struct {
	mu   sync.Mutex
	max  int
	seen map[string]bool
}

func newMarkerSet(max int) *markerSet {
	return &markerSet{max: max, seen: make(map[string]bool)}
}

// add adds v and reports whether it was new. A full set starts afresh: a duplicate still there may then be
// reported a second time, which is better than never reporting a new one.
func (s *markerSet) add(v string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seen[v] {
		return false
	}
	if len(s.seen) >= s.max {
		s.seen = make(map[string]bool)
	}
	s.seen[v] = true
	return true
}

// departed reports whether a host in state s is being or was removed: an extra host already dealt with.
func departed(s string) bool {
	switch s {
	case "removing", "removed", "purging", "purged":
		return true
	}
	return false
}

// reportDuplicates looks, in a host listing a scaleHost trigger (or Close) made anyway, for hosts that carry one
// create's marker: that create was applied twice. A create taken for not applied after the settle window (a
// guess) and sent again lands twice when the first send reached Cattle later still, after its trigger ended;
// the next listing of any scaleHost trigger shows it. Each such marker is reported once per run of the service,
// as a step of the trigger that noticed and an error log naming the hosts, for a human to remove the extra one.
func (x *Executor) reportDuplicates(in *intent, hosts []cattle.Host) {
	byMarker := make(map[string][]cattle.Host)
	var order []string
	for _, h := range hosts {
		v := h.Labels[HostMarkerLabel]
		if v == "" || departed(h.State) {
			continue
		}
		if _, ok := byMarker[v]; !ok {
			order = append(order, v)
		}
		byMarker[v] = append(byMarker[v], h)
	}
	for _, v := range order {
		made := byMarker[v]
		if len(made) < 2 || !x.duplicates.add(v) {
			continue
		}
		ids := make([]string, 0, len(made))
		for _, m := range made {
			ids = append(ids, m.Hostname+" ("+m.ID+")")
		}
		in.entry.Step(fmt.Sprintf("cattle lists %d hosts carrying %s=%s: %v; that host create was likely applied "+
			"more than once (a send taken for lost reached cattle after all), unless a tool copied the label "+
			"(a cloned host): check which this service created before removing one", len(made),
			HostMarkerLabel, v, ids))
		x.log.WithFields(logFields(in.key, "scaleHost")).WithField("marker", v).WithField("hosts", ids).
			Error("a host create was applied more than once")
	}
}
