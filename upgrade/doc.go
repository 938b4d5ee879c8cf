// Package upgrade holds the decisions of the serviceUpgrade receiver driver, with no I/O and no dependency on
// Cattle: which pushes a registry payload announces (ParsePayload, Parse), whether a delivery is authentic
// (VerifyGitHubSignature), whether a receiver's configuration is valid (ValidateConfig), which launch configs of a
// workload a push upgrades, to which image (Plan, PlanPolicy), and whether a push was applied already
// (Deduper). The execution layer converts Cattle services (later Kubernetes workloads and their containers) to
// Workload, calls Plan and performs the upgrade with the full current launch config, the new image and the
// pull-always label.
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
// Parse adds, with the same rules (ignore what is not a tagged push, refuse what cannot be read):
//
//   - "harbor": Harbor 1.9–1.10 ("pushImage"), 2.x ("PUSH_ARTIFACT") and 2.8+ CloudEvents
//     ("harbor.artifact.pushed"); one push per tagged resource, the image being resource_url; a push by digest
//     only (v2 puts the digest in the tag) is ignored;
//   - "quay": docker_url and one push per updated_tags entry (a list, or the 2013 object);
//   - "ghcr": GitHub "package" events of container images (tag from container_metadata.tag.name); deliveries
//     should be authenticated with VerifyGitHubSignature (X-Hub-Signature-256) when the receiver has a secret;
//   - "custom": seed 002's Jenkins shape, push_data.tag and repository.repo_url/namespace/name;
//   - "auto": Detect picks the format from fields only that format has, and refuses (400) a body that matches
//     none or several, naming them, rather than guessing.
//
// Registry aliases (Config.RegistryAliases, ApplyAliases) then rewrite the registry host a payload reports to
// the host services pull from: an Aliyun enterprise instance's public host to its VPC host, Harbor's external
// URL to the name the nodes use.
//
// # Selection
//
// Plan selects the launch configs (primary and sidekicks) whose labels match every serviceSelector pair
// (case-insensitive keys and values, an empty value meaning any value, as v1.6) AND whose current image is the
// pushed repository, compared after normalisation by package imageref ("docker:" prefix, docker.io/,
// index.docker.io/, library/, registry host and port). The original checked only the labels and switched every
// labelled service to whatever image was pushed. The pushed tag must equal the configured tag.
//
// PlanPolicy does the same under a tag policy (Config.TagPolicy, see Policy): "exact" (the default and the
// original's rule), "glob" and "regex" over the pushed tag (Config.TagPattern), or "semver-major",
// "semver-minor", "semver-patch", which accept only a version newer than the tag each launch config runs, in
// that range. A mutable tag pushed again is accepted by exact, glob and regex and redeploys; Deduper keeps one
// delivery of a push (same digest) from redeploying twice.
//
// intervalMillis: the original multiplied it by 1000 (it was seconds, default 2); IntervalMillis keeps such
// stored values working by reading anything below 100 (Cattle's minimum in milliseconds) as seconds.
package upgrade
