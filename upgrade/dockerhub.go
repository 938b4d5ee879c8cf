package upgrade

import "fmt"

// ReasonNoTag is the reason a push without a tag (pushed by digest) is ignored.
const ReasonNoTag = "push without a tag"

// parseDockerHub reads the Docker Hub shape and its Aliyun variant, with the original's checks and messages in
// its order.
func parseDockerHub(format, addressType string, obj map[string]any) ([]Push, string, error) {
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
	var image, digest string
	source := FormatDockerHub
	if format == FormatAliCloud {
		source = FormatAliCloud
		fullName, okName := stringAt(repository, "repo_full_name")
		region, okRegion := stringAt(repository, "region")
		if !okName || !okRegion || fullName == "" || region == "" {
			return nil, "", errorf("Alicloud Docker Hub response provided without image name")
		}
		if !validAddressType(addressType) {
			return nil, "", errorf("Invalid address type %v", addressType)
		}
		if addressType == "" {
			addressType = AddressRegistry
		}
		image = joinImage(fmt.Sprintf("%s.%s.aliyuncs.com", addressType, region), fullName, tag)
		digest, _ = stringAt(pushData, "digest")
	} else {
		name, ok := stringAt(repository, "repo_name")
		if !ok || name == "" {
			return nil, "", errorf("Response provided without image name")
		}
		image = joinImage("", name, tag)
	}
	if tag == "" {
		return nil, ReasonNoTag, nil
	}
	p, err := newPush(source, image, tag, digest)
	if err != nil {
		return nil, "", err
	}
	return []Push{p}, "", nil
}
