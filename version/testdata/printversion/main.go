// Command printversion prints version.String(); version_test.go builds it
// with -ldflags -X to prove that the variables scripts/build injects are the
// ones String reads.
package main

import (
	"fmt"

	"github.com/rancher/scale-subscriber/version"
)

func main() {
	fmt.Println(version.String())
}
