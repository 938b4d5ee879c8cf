package version

import "fmt"

// Version is the release this binary was built from: the git tag of a clean
// tree, otherwise the short commit with a "-dirty" suffix. scripts/build sets
// it with -ldflags "-X"; a plain "go build" leaves the "dev" default.
var Version = "dev"

// GitCommit is the short commit this binary was built from, set like Version.
// A plain "go build" leaves the "HEAD" default.
var GitCommit = "HEAD"

// String returns the build identity for logs and --version output, in the
// form "v0.1.0 (abc1234)".
func String() string {
	return fmt.Sprintf("%s (%s)", Version, GitCommit)
}
