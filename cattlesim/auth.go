package cattlesim

import (
	"crypto/subtle"
	"net/http"
)

// Authentication and project scoping (cattle-protocol.md §1.3, §2.1). Access control is always on: every
// request, websocket upgrades and /_sim/ included, needs HTTP Basic auth with a known key pair.
//
// Project selection: the path (/v2-beta/projects/<p>/...), else the X-API-Project-Id header, else the
// projectId query parameter (Cattle's precedence). An environment key (Kind "project") is bound to its
// project: no project given means its own, any other project is 403. Admin and service keys may name any
// existing project (unknown → 404); without one they act on every project at once: lists span all projects,
// GET by id finds any object, and a create must say where with an "accountId" in its body.

// Credential kinds.
const (
	KindProject = "project"
	KindAdmin   = "admin"
	KindService = "service"
)

// authenticateLocked checks the Basic credentials of r; missing, unknown or wrong ones are 401.
func (s *Sim) authenticateLocked(r *http.Request) (Credential, *apiError) {
	access, secret, ok := r.BasicAuth()
	if !ok {
		return Credential{}, statusError(http.StatusUnauthorized)
	}
	c, known := s.creds[access]
	if !known || subtle.ConstantTimeCompare([]byte(c.SecretKey), []byte(secret)) != 1 {
		return Credential{}, statusError(http.StatusUnauthorized)
	}
	return c, nil
}

// requestedProject returns the project a request names (path, header, query param), or "".
func requestedProject(path apiPath, r *http.Request) string {
	if path.scoped {
		return path.project
	}
	if h := r.Header.Get("X-API-Project-Id"); h != "" {
		return h
	}
	return r.URL.Query().Get("projectId")
}

// resolveProjectLocked returns the numeric id of the project the request acts on (0 = every project, for
// admin/service keys that named none). Malformed ids are 400 InvalidFormat.
func (s *Sim) resolveProjectLocked(c Credential, path apiPath, r *http.Request) (int64, *apiError) {
	requested := requestedProject(path, r)
	if requested == "" {
		if c.Kind == KindProject {
			return c.AccountID, nil
		}
		return 0, nil
	}
	id, ok := ParseID(requested)
	if !ok {
		return 0, &apiError{Status: http.StatusBadRequest, Code: "InvalidFormat",
			Message: "projectId format is incorrect", FieldName: "projectId"}
	}
	if c.Kind == KindProject {
		if id != c.AccountID {
			return 0, statusError(http.StatusForbidden)
		}
		return id, nil
	}
	if !s.projectExistsLocked(id) {
		return 0, errNotFound()
	}
	return id, nil
}

// projectExistsLocked reports whether a live project with that numeric id is stored.
func (s *Sim) projectExistsLocked(id int64) bool {
	p := s.getLocked("account", id)
	return p != nil && p.Type == "project" && p.Removed == nil
}

// isRaw reports whether a key subscribes RAW (service and superadmin accounts, §1.4).
func isRaw(c Credential) bool {
	return c.Kind == KindService || c.Kind == "superadmin"
}

// setAccountHeaders writes Cattle's account headers: the effective account (the project when one is in
// effect), its kind, and the authenticated account as the user.
func setAccountHeaders(w http.ResponseWriter, c Credential, account int64) {
	h := w.Header()
	effective, kind := c.AccountID, c.Kind
	if account != 0 {
		effective, kind = account, KindProject
	}
	h.Set("X-API-Account-Id", FormatID("account", effective))
	h.Set("X-API-Account-Kind", kind)
	h.Set("X-API-User-Id", FormatID("account", c.AccountID))
}

// visibleTo reports whether o may be seen by a request acting on account (0 = every project).
func visibleTo(o *Object, account int64) bool {
	return account == 0 || ownerAccount(o) == account
}
