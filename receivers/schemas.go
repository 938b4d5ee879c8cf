package receivers

import (
	"slices"
	"sort"
	"strings"

	"github.com/rancher/scale-subscriber/upgrade"
)

// The schemas reproduce what webhook-service generated with go-rancher's client.Schemas.AddType (field types
// from Go kinds, "map[string]" for maps, plural = id + "s") and its drivers' CustomizeSchema (enums, defaults,
// minimums), plus what we add: PUT on receivers (update:true on the fields it changes), cooldownSeconds,
// onResolved, hostTemplateId, the azure and newer payload formats, tag policies, registry aliases, the
// write-only secret and the upgrade safety members.

// schemaField is go-rancher's client.Field as JSON.
type schemaField struct {
	Type     string   `json:"type,omitempty"`
	Default  any      `json:"default,omitempty"`
	Create   bool     `json:"create,omitempty"`
	Required bool     `json:"required,omitempty"`
	Update   bool     `json:"update,omitempty"`
	Min      *int64   `json:"min,omitempty"`
	Options  []string `json:"options,omitempty"`
}

// schema is go-rancher's client.Schema as JSON.
type schema struct {
	ID                string                 `json:"id,omitempty"`
	Type              string                 `json:"type,omitempty"`
	Links             map[string]string      `json:"links"`
	Actions           map[string]string      `json:"actions"`
	PluralName        string                 `json:"pluralName,omitempty"`
	ResourceMethods   []string               `json:"resourceMethods,omitempty"`
	ResourceFields    map[string]schemaField `json:"resourceFields,omitempty"`
	CollectionMethods []string               `json:"collectionMethods,omitempty"`
}

// schemaCollection is the answer of GET /v1-webhooks/schemas.
type schemaCollection struct {
	Type         string            `json:"type"`
	ResourceType string            `json:"resourceType"`
	Links        map[string]string `json:"links"`
	Data         []schema          `json:"data"`
}

func int64p(v int64) *int64 { return &v }

// resourceFields are the members every resource has.
func resourceFields() map[string]schemaField {
	return map[string]schemaField{
		"id": {Type: "string"}, "type": {Type: "string"},
		"links": {Type: "map[string]"}, "actions": {Type: "map[string]"},
	}
}

// configField is a writable member of a driver config.
func configField(typ string) schemaField { return schemaField{Type: typ, Create: true, Update: true} }

func enumField(def any, options ...string) schemaField {
	return schemaField{Type: "enum", Create: true, Update: true, Default: def, Options: options}
}

func minField(def, minimum int64) schemaField {
	return schemaField{Type: "int", Create: true, Update: true, Default: def, Min: int64p(minimum)}
}

func withMembers(base map[string]schemaField, extra map[string]schemaField) map[string]schemaField {
	for k, v := range extra {
		base[k] = v
	}
	return base
}

// schemaDefinitions returns the schemas without links, in id order.
func schemaDefinitions() []schema {
	get := []string{"GET"}
	receiverFields := withMembers(resourceFields(), map[string]schemaField{
		"url":    {Type: "string"},
		"state":  {Type: "string"},
		"name":   {Type: "string", Create: true, Update: true},
		"driver": {Type: "enum", Create: true, Update: true, Options: Drivers()},
		// Outcome notifications, for every driver (docs/receivers-api.md#notifications); the webhook's
		// secret and header values are write-only.
		"notify": {Type: "json", Create: true, Update: true},
		// The receiver's own trigger rate limit {perMinute, burst} (docs/receivers-api.md#rate-limits).
		"rateLimit": {Type: "json", Create: true, Update: true},
	})
	for _, d := range Drivers() {
		receiverFields[d+"Config"] = schemaField{Type: d, Create: true, Update: true}
	}
	scaleCommon := func() map[string]schemaField {
		return withMembers(resourceFields(), map[string]schemaField{
			"amount":     configField("int"),
			"action":     enumField(nil, "up", "down"),
			"min":        minField(1, 1),
			"max":        minField(100, 1),
			"onResolved": enumField(OnResolvedIgnore, OnResolvedIgnore, OnResolvedAct),
		})
	}
	defs := []schema{
		{ID: "apiVersion", ResourceFields: resourceFields(), CollectionMethods: get, ResourceMethods: get},
		{ID: "error", CollectionMethods: get, ResourceMethods: get, ResourceFields: withMembers(resourceFields(),
			map[string]schemaField{"statusCode": {Type: "int"}, "status": {Type: "string"}, "message": {Type: "string"}})},
		{ID: "receiver", ResourceFields: receiverFields,
			CollectionMethods: []string{"GET", "POST"}, ResourceMethods: []string{"GET", "PUT", "DELETE"}},
		{ID: "schema", CollectionMethods: get, ResourceMethods: get, ResourceFields: withMembers(resourceFields(),
			map[string]schemaField{
				"pluralName": {Type: "string"}, "resourceMethods": {Type: "array[string]"},
				"resourceFields": {Type: "map[string]"}, "resourceActions": {Type: "map[string]"},
				"collectionMethods": {Type: "array[string]"}, "collectionFields": {Type: "map[string]"},
				"collectionActions": {Type: "map[string]"}, "collectionFilters": {Type: "map[string]"},
				"includeableLinks": {Type: "array[string]"},
			})},
		{ID: DriverScaleService, ResourceMethods: get, ResourceFields: withMembers(scaleCommon(), map[string]schemaField{
			"serviceId":       configField("string"),
			"cooldownSeconds": {Type: "int", Create: true, Update: true, Default: 0, Min: int64p(0)},
			"type":            configField("string"),
		})},
		{ID: DriverScaleHost, ResourceMethods: get, ResourceFields: withMembers(scaleCommon(), map[string]schemaField{
			"hostSelector":   configField("map[string]"),
			"deleteOption":   enumField(nil, DeleteMostRecent, DeleteLeastRecent),
			"hostTemplateId": configField("string"),
			"type":           configField("string"),
		})},
		{ID: DriverServiceUpgrade, ResourceMethods: get, ResourceFields: withMembers(resourceFields(), map[string]schemaField{
			"serviceSelector": configField("map[string]"),
			"tag":             configField("string"),
			"payloadFormat": enumField(PayloadDockerHub, PayloadDockerHub, PayloadAliCloud, PayloadAzure,
				upgrade.FormatHarbor, upgrade.FormatQuay, upgrade.FormatGHCR, upgrade.FormatCustom,
				upgrade.FormatDistribution, upgrade.FormatAuto),
			"addressType":    enumField(AddressRegistry, AddressRegistry, AddressRegistryInternal, AddressRegistryVPC),
			"batchSize":      minField(1, 1),
			"intervalMillis": minField(2, 1),
			"startFirst":     {Type: "bool", Create: true, Update: true, Default: false},
			"tagPolicy": enumField(upgrade.PolicyExact, upgrade.PolicyExact, upgrade.PolicyGlob, upgrade.PolicyRegex,
				upgrade.PolicySemverMajor, upgrade.PolicySemverMinor, upgrade.PolicySemverPatch),
			"tagPattern":      configField("string"),
			"registryAliases": configField("map[string]"),
			// Write-only: accepted on create and update, never rendered (secretSet says whether one is set).
			"secret":                configField("password"),
			"secretSet":             {Type: "bool"},
			"finishTimeoutSeconds":  minField(DefaultFinishTimeoutSeconds, 0),
			"unhealthyGraceSeconds": minField(DefaultUnhealthyGraceSeconds, 0),
			"rollbackOnFailure":     {Type: "bool", Create: true, Update: true, Default: true},
			"type":                  configField("string"),
		})},
		{ID: DriverForwardPost, ResourceMethods: get, ResourceFields: withMembers(resourceFields(), map[string]schemaField{
			"projectId":   configField("string"),
			"serviceName": configField("string"),
			"port":        configField("string"),
			"path":        configField("string"),
			"type":        configField("string"),
		})},
	}
	for i := range defs {
		defs[i].Type = "schema"
		defs[i].PluralName = defs[i].ID + "s"
	}
	sort.Slice(defs, func(i, j int) bool { return defs[i].ID < defs[j].ID })
	return defs
}

// renderSchemas returns the schemas with their links for a response base URL.
func renderSchemas(defs []schema, base string) []schema {
	out := make([]schema, len(defs))
	for i, s := range defs {
		s.Links = map[string]string{"self": base + apiPrefix + "/schemas/" + s.ID}
		if slices.Contains(s.CollectionMethods, "GET") {
			s.Links["collection"] = base + apiPrefix + "/" + strings.ToLower(s.PluralName)
		}
		s.Actions = map[string]string{}
		out[i] = s
	}
	return out
}

// findSchema returns the schema with that id (case-insensitive, as go-rancher's Schemas.Schema).
func findSchema(defs []schema, id string) (schema, bool) {
	for _, s := range defs {
		if strings.EqualFold(s.ID, id) {
			return s, true
		}
	}
	return schema{}, false
}
