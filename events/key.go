package events

import "strings"

// Key builds a work-queue key from a kind and an id, e.g. Key("service",
// "1s12") is "service:1s12". Kinds should come from a small fixed set because
// the processor duration metric is labelled by kind.
func Key(kind, id string) string { return kind + ":" + id }

// SplitKey splits a key built by Key. ok is false when key has no kind or
// no id.
func SplitKey(key string) (kind, id string, ok bool) {
	kind, id, found := strings.Cut(key, ":")
	if !found || kind == "" || id == "" {
		return "", "", false
	}
	return kind, id, true
}

// keyKind returns the kind part of key for metric labels.
func keyKind(key string) string {
	if kind, _, ok := SplitKey(key); ok {
		return kind
	}
	return otherLabel
}
