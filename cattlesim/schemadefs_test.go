package cattlesim

import (
	"strings"
	"testing"
)

// primitiveTypes are field types that are not schemas.
var primitiveTypes = map[string]bool{"string": true, "password": true, "enum": true, "int": true, "boolean": true,
	"date": true, "json": true}

// TestSchemaDefinitions checks the static tables: filters name declared fields, nested field types, action
// inputs and outputs are declared schemas, parents exist and share the base type.
func TestSchemaDefinitions(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	for id, sc := range s.schemas {
		t.Run(id, func(t *testing.T) {
			if sc.ID != id || sc.PluralName == "" || sc.BaseType == "" {
				t.Fatalf("identity: %+v", sc)
			}
			for name := range sc.CollectionFilters {
				if _, ok := sc.Fields[name]; !ok && name != "id" && id != "subscribe" {
					t.Errorf("filter %s is not a field", name)
				}
			}
			for name, f := range sc.Fields {
				typ := f.Type
				for _, p := range []string{"array[", "map["} {
					if strings.HasPrefix(typ, p) {
						typ = strings.TrimSuffix(strings.TrimPrefix(typ, p), "]")
					}
				}
				if primitiveTypes[typ] || strings.HasPrefix(typ, "reference[") || typ == "string" {
					continue
				}
				if _, ok := s.schemas[typ]; !ok && !strings.Contains(f.Type, "[") {
					t.Errorf("field %s has undeclared type %s", name, f.Type)
				}
				if f.Type == "enum" && len(f.Options) == 0 && f.Create {
					t.Errorf("creatable enum %s has no options", name)
				}
			}
			for name, input := range sc.Actions {
				if input != "" && s.schemas[input] == nil {
					t.Errorf("action %s input %s undeclared", name, input)
				}
				if out := s.actionOutput(sc, name); s.schemas[out] == nil {
					t.Errorf("action %s output %s undeclared", name, out)
				}
			}
			if sc.Parent != "" {
				parent := s.schemas[sc.Parent]
				if parent == nil || parent.BaseType != sc.BaseType && sc.ID != "secondaryLaunchConfig" {
					t.Errorf("parent %s missing or of another base type", sc.Parent)
				}
			}
		})
	}
}
