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
