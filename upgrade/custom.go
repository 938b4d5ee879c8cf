package upgrade

// parseCustom reads the "custom" shape cnrancher/docker-webhook documents for Jenkins jobs (seed 002): the
// job posts push_data.tag and repository.repo_url (the registry address, sometimes written as a URL),
// repository.namespace and repository.name, and the image is repo_url/namespace/name:tag as that tool built
// it. An empty namespace is left out rather than producing "host//name". Messages for missing fields follow
// the Docker Hub ones.
func parseCustom(obj map[string]any) ([]Push, string, error) {
	pushData, ok := objectAt(obj, "push_data")
	if !ok {
		return nil, "", errorf("Incomplete webhook response provided")
	}
	tag, ok := stringAt(pushData, "tag")
	if !ok {
		return nil, "", errorf("Webhook response contains no tag")
	}
	repository, ok := objectAt(obj, "repository")
	if !ok {
		return nil, "", errorf("Response provided without repository information")
	}
	host, _ := stringAt(repository, "repo_url")
	host = stripScheme(host)
	if host == "" {
		return nil, "", errorf("Response provided without registry address (repository.repo_url)")
	}
	name, _ := stringAt(repository, "name")
	if name == "" {
		return nil, "", errorf("Response provided without image name")
	}
	namespace, _ := stringAt(repository, "namespace")
	path := name
	if namespace != "" {
		path = namespace + "/" + name
	}
	if tag == "" {
		return nil, ReasonNoTag, nil
	}
	p, err := newPush(FormatCustom, joinImage(host, path, tag), tag, "")
	if err != nil {
		return nil, "", err
	}
	return []Push{p}, "", nil
}
