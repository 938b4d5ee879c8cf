package cache

import (
	"slices"
	"testing"
)

func TestMatchLabels(t *testing.T) {
	labels := map[string]string{"App": "Web", "tier": "front", "io.rancher.stack.name": "demo"}
	cases := []struct {
		name     string
		selector map[string]string
		want     bool
	}{
		{"exact pair", map[string]string{"tier": "front"}, true},
		{"key case differs", map[string]string{"app": "Web"}, true},
		{"value case differs", map[string]string{"APP": "WEB"}, true},
		{"every pair must match", map[string]string{"app": "web", "tier": "front"}, true},
		{"one pair fails", map[string]string{"app": "web", "tier": "back"}, false},
		{"empty value matches any value", map[string]string{"tier": ""}, true},
		{"empty value needs the key", map[string]string{"zone": ""}, false},
		{"missing key", map[string]string{"zone": "a"}, false},
		{"value is not a prefix match", map[string]string{"app": "we"}, false},
		{"empty selector matches nothing", map[string]string{}, false},
		{"nil selector matches nothing", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := MatchLabels(labels, tc.selector); got != tc.want {
				t.Fatalf("MatchLabels(%v, %v) = %v, want %v", labels, tc.selector, got, tc.want)
			}
		})
	}
	if MatchLabels(nil, map[string]string{"a": ""}) {
		t.Error("nil labels matched a selector")
	}
}

func TestLabelTermsAgreeWithSelectorTerms(t *testing.T) {
	terms := labelTerms(map[string]string{"App": "Web"})
	slices.Sort(terms)
	if want := []string{"app=", "app=web"}; !slices.Equal(terms, want) {
		t.Fatalf("labelTerms = %v, want %v", terms, want)
	}
	// Every selector pair MatchLabels accepts must find the object through the index term it looks up.
	for _, sel := range [][2]string{{"APP", "WEB"}, {"app", ""}, {"App", "web"}} {
		if !slices.Contains(terms, selectorTerm(sel[0], sel[1])) {
			t.Errorf("selector %q=%q looks up %q, which the labels are not indexed under", sel[0], sel[1],
				selectorTerm(sel[0], sel[1]))
		}
	}
}

func TestIndexAddRemove(t *testing.T) {
	ix := index{}
	ix.add([]string{"a=1", "b="}, "1s1")
	ix.add([]string{"a=1"}, "1s2")
	ix.remove([]string{"a=1", "b="}, "1s1")
	if _, ok := ix["b="]; ok {
		t.Fatal("an emptied term was kept; the index would grow with every label ever seen")
	}
	if got := len(ix["a=1"]); got != 1 {
		t.Fatalf("a=1 holds %d ids, want 1", got)
	}
	ix.remove([]string{"never"}, "1s9") // removing what is not there is harmless
}

func TestUniqueTerms(t *testing.T) {
	got := uniqueTerms([]string{"a", "b", "a", "c", "b"})
	if want := []string{"a", "b", "c"}; !slices.Equal(got, want) {
		t.Fatalf("uniqueTerms = %v, want %v", got, want)
	}
}
