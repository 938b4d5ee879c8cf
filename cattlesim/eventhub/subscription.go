package eventhub

import (
	"encoding/json"
	"net/http"
	"strings"
)

// eventResourceChange is the name of coalesced resource change events.
const eventResourceChange = "resource.change"

// Subscription describes one authenticated subscriber. The caller (the REST
// side of the emulator) builds it after authenticating the upgrade request.
type Subscription struct {
	// AccountID is the API id of the caller's project, e.g. "1a5". Required
	// for QUALIFIED subscribers; for RAW ones it only scopes Logout.
	AccountID string
	// Raw marks service/superadmin keys: names are subscribed and delivered
	// verbatim (protocol §1.4).
	Raw bool
	// EventNames are the requested names (repeated eventNames parameters).
	EventNames []string
	// Render returns the REST rendering of a resource for THIS subscriber
	// (links point at its base URL/project). ok=false means the object is
	// gone/purged and no event is sent. Called by the hub at flush time,
	// without hub locks, possibly concurrently for different subscribers.
	Render func(resourceType, resourceID string) (resource json.RawMessage, apiType string, ok bool)
}

// validEventNameChar reports whether r is allowed in an event name: the
// subscribe schema's validChars "*._0-9a-zA-Z;=".
func validEventNameChar(r rune) bool {
	switch {
	case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
		return true
	}
	return strings.ContainsRune("*._;=", r)
}

// ValidateSubscription checks sub the way ServeSubscription does before
// upgrading: every event name must use only the subscribe schema's valid
// characters (422 InvalidCharacters), a QUALIFIED subscription needs an
// AccountID and every subscription a Render function (both 500: caller bugs).
func ValidateSubscription(sub Subscription) error {
	for _, n := range sub.EventNames {
		if n == "" || strings.IndexFunc(n, func(r rune) bool { return !validEventNameChar(r) }) >= 0 {
			return &SubscribeError{
				Status:    http.StatusUnprocessableEntity,
				Code:      CodeInvalidCharacters,
				Message:   "event names may only contain *._0-9a-zA-Z;= and must not be empty",
				FieldName: "eventNames",
			}
		}
	}
	if !sub.Raw && sub.AccountID == "" {
		return &SubscribeError{Status: http.StatusInternalServerError, Code: CodeInternalError,
			Message: "qualified subscription without an account id"}
	}
	if sub.Render == nil {
		return &SubscribeError{Status: http.StatusInternalServerError, Code: CodeInternalError,
			Message: "subscription without a render function"}
	}
	return nil
}

// router decides which events one subscriber gets and under which names.
//
// QUALIFIED subscribers hold base names (cut at the first ';'); conceptually
// each is subscribed as "<base>;account=<AccountID>", and frames carry the
// base name. RAW subscribers hold names verbatim.
type router struct {
	accountID string
	raw       bool
	names     map[string]struct{}
}

func newRouter(sub Subscription) router {
	r := router{accountID: sub.AccountID, raw: sub.Raw, names: make(map[string]struct{}, len(sub.EventNames))}
	for _, n := range sub.EventNames {
		if !sub.Raw {
			n, _, _ = strings.Cut(n, ";")
		}
		r.names[n] = struct{}{}
	}
	return r
}

// deliveryNames returns the names under which an event named name, belonging
// to accountID, is written to this subscriber; nil means not at all.
//
// Rules (kept deliberately simple):
//   - a name with a ';' qualifier (e.g. "x;handler=h") reaches only RAW
//     subscribers that asked for exactly that name;
//   - a plain name x reaches QUALIFIED subscribers of accountID that asked for
//     x (delivered as x), and RAW subscribers that asked for x (all accounts)
//     or for "x;account=<id>" where id is accountID or its numeric part
//     ("1a5" → "5"), delivered under the name they asked for.
func (r router) deliveryNames(accountID, name string) []string {
	qualified := strings.Contains(name, ";")
	if !r.raw {
		if qualified || accountID == "" || accountID != r.accountID {
			return nil
		}
		if _, ok := r.names[name]; ok {
			return []string{name}
		}
		return nil
	}
	var out []string
	if _, ok := r.names[name]; ok {
		out = append(out, name)
	}
	if qualified || accountID == "" {
		return out
	}
	for _, q := range accountQualifiers(accountID) {
		n := name + ";account=" + q
		if _, ok := r.names[n]; ok {
			out = append(out, n)
		}
	}
	return out
}

// accountQualifiers lists the values an ";account=" qualifier may use for
// accountID: the API id itself and, for "1a<digits>", the numeric db id
// Cattle really puts there.
func accountQualifiers(accountID string) []string {
	if rest, ok := strings.CutPrefix(accountID, "1a"); ok && rest != "" &&
		strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
		return []string{accountID, rest}
	}
	return []string{accountID}
}
