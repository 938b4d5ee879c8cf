package cattle

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestLabelsLenient(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Labels
	}{
		{"strings", `{"a":"b"}`, Labels{"a": "b"}},
		{"numbers and bools", `{"n":5,"f":1.5,"t":true,"big":12345678901234567890}`,
			Labels{"n": "5", "f": "1.5", "t": "true", "big": "12345678901234567890"}},
		{"null value", `{"x":null}`, Labels{"x": ""}},
		{"nested", `{"o":{"k": [1, "v"]}}`, Labels{"o": `{"k":[1,"v"]}`}},
		{"escaped string", `{"u":"a\/b\u00e9"}`, Labels{"u": "a/bé"}},
		{"null labels", `null`, nil},
		{"array labels", `["a"]`, nil},
		{"string labels", `"a=b"`, nil},
		{"empty", `{}`, Labels{}},
		{"strings then a number", `{"a":"b","n":5,"z":"y"}`, Labels{"a": "b", "n": "5", "z": "y"}},
		{"duplicate key, last wins", `{"a":"b","a":"c"}`, Labels{"a": "c"}},
		{"duplicate key, number last", `{"a":"b","a":7}`, Labels{"a": "7"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l Labels
			if err := json.Unmarshal([]byte(tt.in), &l); err != nil {
				t.Fatalf("lenient decode failed: %v", err)
			}
			if !reflect.DeepEqual(l, tt.want) {
				t.Fatalf("got %#v, want %#v", l, tt.want)
			}
		})
	}
}

func TestInstanceLabelsInAList(t *testing.T) {
	var got []Instance
	in := `[{"id":"1i1","labels":{"io.rancher.service.launch.config":"io.rancher.service.primary.launch.config","n":1},"healthState":null,"serviceIds":["1s1"]},
	        {"id":"1i2","labels":7}]`
	if err := json.Unmarshal([]byte(in), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Labels["n"] != "1" || got[0].HealthState != "" || got[1].Labels != nil {
		t.Fatalf("instances = %+v", got)
	}
}

// The labels of a typical Rancher container: all strings, the case UnmarshalJSON decodes in one pass. The lenient
// variant is the value-by-value decode every label took before; compare the two side by side
// (go test -run '^$' -bench Labels ./cattle/).
var benchLabels = []byte(`{"io.rancher.container.uuid":"0d4f1b2a-6a3c-4c1e-9f2e-2f5d0c9b7e11",` +
	`"io.rancher.container.name":"demo-web-1","io.rancher.project.name":"demo",` +
	`"io.rancher.project_service.name":"demo/web","io.rancher.service.deployment.unit":"b1c2d3",` +
	`"io.rancher.service.launch.config":"io.rancher.service.primary.launch.config",` +
	`"io.rancher.stack.name":"demo","io.rancher.stack_service.name":"demo/web","app":"web","tier":"front"}`)

func BenchmarkLabels(b *testing.B) {
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var l Labels
			if err := l.UnmarshalJSON(benchLabels); err != nil || len(l) != 10 {
				b.Fatalf("decoded %d labels, %v", len(l), err)
			}
		}
	})
	b.Run("lenient", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if l := lenientLabels(benchLabels); len(l) != 10 {
				b.Fatalf("decoded %d labels", len(l))
			}
		}
	})
}

// Called directly (a decoder that did not validate first), a truncated object decodes as no labels.
func TestLabelsUnmarshalTruncated(t *testing.T) {
	l := Labels{"stale": "x"}
	if err := l.UnmarshalJSON([]byte(`{"a":"b"`)); err != nil || l != nil {
		t.Fatalf("UnmarshalJSON(truncated) = %v, labels %#v; want nil error and no labels", err, l)
	}
}
