// Package alertmanager makes receiver triggers aware of Prometheus Alertmanager's webhook notifications
// (payload version "4", peers.md §2.1), which the original webhook-service ignored: every POST scaled, so a
// "resolved" notification scaled again in the same direction and every repeat or retry of a firing group added
// another step.
//
//   - Parse recognises a notification; anything else (a bare POST, a registry payload) is not one, and the
//     caller handles it as before.
//   - Decide says whether a notification acts: "firing" acts; "resolved" is ignored unless the receiver's
//     onResolved option says "act" (act again, the original's behaviour) or "reverse" (act in the opposite
//     direction, so one receiver scales up on firing and back down on resolution).
//   - Deduper recognises repeats: a notification for the same receiver, groupKey and status whose alerts (by
//     fingerprint and startsAt) were all seen within the repeat window is a repeat and does nothing. This
//     absorbs Alertmanager's repeat_interval re-sends of an unchanged group, retries after timeouts, the
//     duplicates an HA pair sends and a group shrinking; an alert joining or restarting, or the group
//     resolving, is new.
//
// The intended flow for a trigger body:
//
//	n, ok := alertmanager.Parse(body)
//	if ok {
//		d := alertmanager.Decide(n, onResolved)   // !d.Act: answer 2xx with d.Reason
//		if deduper.Seen(receiverID, n, now) { ... } // repeat: answer 2xx, do nothing
//		... act (reversed when d.Reverse) ...       // on a retryable failure: deduper.Forget(receiverID, n)
//	}
//
// Nothing here does I/O; Deduper is safe for concurrent use and its memory is bounded.
package alertmanager
