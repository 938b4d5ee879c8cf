package execution

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/rancher/scale-subscriber/cache"
	"github.com/rancher/scale-subscriber/cattle"
	"github.com/rancher/scale-subscriber/events"
	"github.com/rancher/scale-subscriber/scale"
)

// Close ends the executor when the service stops, after the workers finished (drained) and before the HTTP
// server's graceful shutdown gives up on the requests still waiting for an answer. From then on every trigger
// is answered 503 at once. The triggers still held are answered so that none is left half-applied or
// answered wrongly:
//
//   - a scale trigger whose PUT got no answer is settled with one read of the service (ctx bounds it): applied
//     triggers are answered as done, the others 503; if the read fails too, the answer says the outcome is
//     unknown (a 200, so the sender does not apply it a second time);
//   - a scaleHost trigger with host writes sent is settled with one host listing (shared by all of them):
//     one whose writes all turn out applied is answered as done, one of which nothing was applied 503; the
//     others get a 200 "failed" saying which hosts changed, which did not and which may have, since sending
//     the trigger again would apply what was applied a second time (hostsettle.go). A create that got no
//     answer and is not listed is taken as in normal operation: within its settle window it may still arrive
//     and is unknown, past it it was not applied (unless it was sent maxHostSends times: unknown);
//   - every other waiting trigger was not executed: 503, send it again;
//   - a push still waiting for its service (its sender was answered 202 long ago) ends as failed, not started.
//
// Upgrades in progress are not touched: the next start adopts them from Cattle's state.
func (x *Executor) Close(ctx context.Context) {
	held := x.book.close()
	if len(held) == 0 {
		return
	}
	sentByService := make(map[string][]*intent)
	var order []string
	var hostWrites []*intent
	for _, in := range held {
		switch {
		case in.hosts.sent():
			hostWrites = append(hostWrites, in)
		case in.sent != nil:
			_, id, _ := events.SplitKey(in.key)
			if _, ok := sentByService[id]; !ok {
				order = append(order, id)
			}
			sentByService[id] = append(sentByService[id], in)
		case in.upgrade != nil:
			in.entry.Step("scale-subscriber stopped before the upgrade started")
			in.finish(OutcomeFailed, ErrShuttingDown, Answer{Status: http.StatusServiceUnavailable})
		default:
			x.notExecuted(in)
		}
	}
	for _, id := range order {
		x.settleAtClose(ctx, id, sentByService[id])
	}
	x.settleHostsAtClose(ctx, hostWrites)
	x.log.WithField("triggers", len(held)).Info("executor closed: waiting triggers answered")
}

// notExecuted answers a trigger that never reached Cattle (or whose every call failed) with a 503.
func (x *Executor) notExecuted(in *intent) {
	in.entry.SetDecision("not executed: scale-subscriber is shutting down")
	in.finish(OutcomeRejected, ErrShuttingDown,
		errorAnswer(http.StatusServiceUnavailable, in.entry.ID(), in.key, ErrShuttingDown.Error()))
}

// settleAtClose reads one service to settle the triggers whose PUT got no answer.
func (x *Executor) settleAtClose(ctx context.Context, id string, batch []*intent) {
	start := time.Now()
	svc, err := x.cattle.GetService(ctx, id)
	recordCall(entriesOf(batch), http.MethodGet, "services/"+id, start, err)
	if err != nil {
		for _, in := range batch {
			msg := fmt.Sprintf("scale-subscriber stopped before it could learn whether cattle applied the scale PUT "+
				"%d → %d (%v); check service %s before sending this trigger again", in.sent.from, in.sent.target, err, id)
			x.log.WithFields(logFields(in.key, "scaleService")).WithError(err).Error("trigger outcome unknown at shutdown")
			in.entry.SetDecision("unknown: " + msg)
			in.finish(OutcomeFailed, fmt.Errorf("shutdown: %w", err), Answer{Status: http.StatusOK, Body: reply{
				ExecutionID: in.entry.ID(), Target: events.Key(cache.KindService, id), Message: msg,
				Decision: scale.Decision{Result: "failed"}}})
		}
		return
	}
	for _, in := range x.settleSent(id, int(svc.Scale), batch) {
		x.notExecuted(in)
	}
}

// settleHostsAtClose settles the scaleHost triggers whose host writes were sent, with one listing of the hosts.
func (x *Executor) settleHostsAtClose(ctx context.Context, batch []*intent) {
	if len(batch) == 0 {
		return
	}
	start := time.Now()
	hosts, err := x.cattle.ListHosts(ctx, cattle.ListOptions{Sort: "created"})
	recordCall(entriesOf(batch), http.MethodGet, "hosts", start, err)
	for _, in := range batch {
		if err == nil {
			x.reportDuplicates(in, hosts)
		}
		if err != nil {
			msg := fmt.Sprintf("scale-subscriber stopped before it could list the hosts (%v): so far %s; check the "+
				"group before sending this trigger again", err, in.hosts.progress())
			x.log.WithFields(logFields(in.key, "scaleHost")).WithError(err).Error("trigger outcome unknown at shutdown")
			x.finishHostPartial(in, fmt.Errorf("shutdown: %w", err), msg)
			continue
		}
		x.settleHostWrites(in, hosts, scale.Group(planHosts(hosts), in.scaleHost.Selector), true)
		w := in.hosts
		done, unsure, pending := w.count(writeDone), w.count(writeUnsure), w.count(writePending)
		switch {
		case unsure == 0 && pending == 0:
			x.finishHostWork(in)
		case unsure == 0 && done == 0:
			// Nothing reached Cattle after all: sending the trigger again is safe.
			in.hosts = nil
			x.notExecuted(in)
		default:
			msg := fmt.Sprintf("scale-subscriber stopped before the trigger completed: %s; it is not repeated, "+
				"check the group before sending this trigger again", w.progress())
			x.log.WithFields(logFields(in.key, "scaleHost")).Error("trigger stopped part way at shutdown")
			x.finishHostPartial(in, errors.New("shutdown: stopped part way"), msg)
		}
	}
}
