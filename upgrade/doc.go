// Package upgrade holds the decisions of the serviceUpgrade receiver driver, with no I/O and no dependency on
// Cattle: which pushes a registry payload announces (ParsePayload), whether a receiver's configuration is valid
// (ValidateConfig) and which launch configs of a workload a push upgrades, to which image (Plan). The execution
// layer converts Cattle services (later Kubernetes workloads and their containers) to Workload, calls Plan and
// performs the upgrade with the full current launch config, the new image and the pull-always label.
//
// # Payloads
//
// ParsePayload understands the formats of webhook-service's v1.6 branch, chosen by the receiver's payloadFormat:
// "dockerhub" (the default: push_data.tag, repository.repo_name), "alicloud" (push_data.tag, repository.region,
// repository.repo_full_name, with the addressType host registry, registry-vpc or registry-internal) and "azure"
// (target.tag, target.repository, request.host). CNCF distribution registry notifications (an envelope
// {"events":[...]}, also sent by GitLab's and Harbor's embedded registries) are recognised whatever the format:
// only the push of a manifest with a tag counts; pulls, blob pushes, mounts and deletes are ignored with a
// reason, never an error, because the registry retries a non-2xx answer forever and stalls its queue. Malformed
// Docker Hub style payloads keep the original's messages ("No Payload recevied from webhook", typo included).
//
// # Selection
//
// Plan selects the launch configs (primary and sidekicks) whose labels match every serviceSelector pair
// (case-insensitive keys and values, an empty value meaning any value, as v1.6) AND whose current image is the
// pushed repository, compared after normalisation by package imageref ("docker:" prefix, docker.io/,
// index.docker.io/, library/, registry host and port). The original checked only the labels and switched every
// labelled service to whatever image was pushed. The pushed tag must equal the configured tag.
//
// intervalMillis: the original multiplied it by 1000 (it was seconds, default 2); IntervalMillis keeps such
// stored values working by reading anything below 100 (Cattle's minimum in milliseconds) as seconds.
package upgrade
