package cattlesim

// Schema describes one API type the way Cattle's /v2-beta/schemas does, plus the attributes the emulator needs
// to apply writes faithfully (cattle-protocol.md §2.1, §2.5). Definitions live in schemadefs.go.
type Schema struct {
	// ID is the schema id and concrete type, e.g. "loadBalancerService".
	ID string
	// PluralName is the collection name, e.g. "loadBalancerServices" (URLs are lower-cased when rendered).
	PluralName string
	// Parent is the base schema ("service" for every service kind); empty for base types.
	Parent string
	// BaseType is the storage table: Object.BaseType of objects of this schema.
	BaseType string
	// CollectionMethods and ResourceMethods are the HTTP methods allowed on the collection and on one resource.
	CollectionMethods []string
	ResourceMethods   []string
	// Fields by JSON name.
	Fields map[string]Field
	// Actions are the resource action names, with their input type (may be empty).
	Actions map[string]string
	// CollectionFilters maps filterable field → allowed modifiers.
	CollectionFilters map[string][]string
	// Project says whether the type lives in a project (most do) or is global (schema, subscribe...).
	Project bool
}

// Field is one schema field.
type Field struct {
	// Type is the Cattle field type: string, int, boolean, date, map[string], array[string], json, reference[service]...
	Type     string
	Create   bool
	Update   bool
	Required bool
	Nullable bool
	// Default is applied on create when the field is absent.
	Default any
	// ScheduleUpdate: changing this field by PUT starts the <type>.update process (§2.5).
	ScheduleUpdate bool
	// Options lists the valid values of an enum field.
	Options []string
	// Min and Max bound an int field (422 MinLimitExceeded / MaxLimitExceeded); nil = unbounded.
	Min, Max *int64
	// MinLength and MaxLength bound a string's length or an array's size; nil = unbounded.
	MinLength, MaxLength *int64
	// ValidChars is the character class a string must consist of (422 InvalidCharacters), e.g. "a-zA-Z0-9-".
	ValidChars string
}
