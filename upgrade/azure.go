package upgrade

// parseAzure reads an Azure Container Registry webhook: one event like a distribution notification, without
// the envelope. Pings and other actions are ignored; the messages for missing fields follow the Docker Hub ones.
func parseAzure(obj map[string]any) ([]Push, string, error) {
	if action, ok := stringAt(obj, "action"); ok && action != "push" {
		return nil, "azure action " + action, nil
	}
	target, ok := objectAt(obj, "target")
	if !ok {
		return nil, "", errorf("Incomplete webhook response provided")
	}
	tag, ok := stringAt(target, "tag")
	if !ok {
		return nil, "", errorf("Webhook response contains no tag")
	}
	repository, ok := stringAt(target, "repository")
	if !ok || repository == "" {
		return nil, "", errorf("Response provided without image name")
	}
	request, _ := objectAt(obj, "request")
	host, ok := stringAt(request, "host")
	if !ok || host == "" {
		return nil, "", errorf("Response provided without registry host")
	}
	if tag == "" {
		return nil, ReasonNoTag, nil
	}
	digest, _ := stringAt(target, "digest")
	p, err := newPush(FormatAzure, joinImage(host, repository, tag), tag, digest)
	if err != nil {
		return nil, "", err
	}
	return []Push{p}, "", nil
}
