// Package version carries the build identity of the scale-subscriber binary.
//
// Version and GitCommit are the one deliberate exception to the project rule
// "no package-level mutable state": the Go linker can only inject values into
// package-level string variables (go build -ldflags "-X path.Name=value"), so
// scripts/build sets them at link time. Nothing in the program assigns them at
// run time; treat them as read-only.
package version
