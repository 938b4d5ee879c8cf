package cache

import "strings"

// index maps a term (a lower-cased "key=value" label pair, a repository, ...) to the ids carrying it.
type index map[string]map[string]struct{}

func (ix index) add(terms []string, id string) {
	for _, t := range terms {
		set := ix[t]
		if set == nil {
			set = map[string]struct{}{}
			ix[t] = set
		}
		set[id] = struct{}{}
	}
}

func (ix index) remove(terms []string, id string) {
	for _, t := range terms {
		if set := ix[t]; set != nil {
			delete(set, id)
			if len(set) == 0 {
				delete(ix, t)
			}
		}
	}
}

// labelTerms returns the index terms of a label map: "k=v" and "k=" (for selectors that only name a key), both
// lower-cased because webhook-service matched labels case-insensitively.
func labelTerms(labels map[string]string) []string {
	terms := make([]string, 0, 2*len(labels))
	for k, v := range labels {
		lk := strings.ToLower(k)
		terms = append(terms, lk+"=", lk+"="+strings.ToLower(v))
	}
	return terms
}

// selectorTerm is the index term a selector pair looks up.
func selectorTerm(key, value string) string {
	return strings.ToLower(key) + "=" + strings.ToLower(value)
}

// MatchLabels reports whether labels satisfy every pair of selector: keys compare case-insensitively, and a
// pair's value matches case-insensitively or, when empty, matches any value. An empty selector matches nothing,
// so that a receiver with no selector can never touch every service.
func MatchLabels(labels, selector map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for sk, sv := range selector {
		found := false
		for k, v := range labels {
			if strings.EqualFold(k, sk) && (sv == "" || strings.EqualFold(v, sv)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func uniqueTerms(terms []string) []string {
	seen := make(map[string]struct{}, len(terms))
	out := terms[:0]
	for _, t := range terms {
		if _, ok := seen[t]; ok {
			continue
		}
		seen[t] = struct{}{}
		out = append(out, t)
	}
	return out
}
