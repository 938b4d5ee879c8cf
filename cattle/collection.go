package cattle

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// ListOptions narrows a List. The zero value lists every (non-removed) row.
type ListOptions struct {
	// Filters are sent as query parameters: {"name": {"web"}} for equality,
	// {"name_ne": {"x"}} for a modifier, several values for several AND-ed
	// conditions. Cattle silently ignores filters it does not know (there is
	// no label filter), so callers must still check what they get.
	Filters url.Values
	// Sort names a field to sort on (one of the schema's collectionFilters)
	// and Order is "asc" or "desc"; empty means Cattle's default (id asc).
	Sort  string
	Order string
	// Limit caps the number of rows returned and is sent as limit=; zero
	// means every row, fetched with the server's default page size.
	// Pagination is followed either way.
	Limit int
	// PageSize asks for this many rows per page (sent as limit= when Limit is zero or larger); zero means
	// the server's default page size (Cattle: 100). Large relists use it to make fewer requests.
	PageSize int
}

// Sort orders accepted by Cattle.
const (
	OrderAsc  = "asc"
	OrderDesc = "desc"
)

// collection is the envelope of every Cattle list response.
type collection struct {
	Type       string            `json:"type"`
	Data       []json.RawMessage `json:"data"`
	Pagination *struct {
		Next    string `json:"next"`
		Partial bool   `json:"partial"`
	} `json:"pagination"`
}

// List fetches the rows of schemaID's collection matching opts into out, which
// must be a pointer to a slice (e.g. *[]Service). It follows pagination.next
// until the last page, opts.Limit rows, or Options.MaxPages pages (then it
// fails with ErrTooManyPages rather than return a silent partial list).
// The schema must allow GET on its collection.
func (c *Client) List(ctx context.Context, schemaID string, opts ListOptions, out any) error {
	if err := c.list(ctx, schemaID, opts, out); err != nil {
		return fmt.Errorf("list %s: %w", schemaID, err)
	}
	return nil
}

func (c *Client) list(ctx context.Context, schemaID string, opts ListOptions, out any) error {
	if out == nil {
		return errors.New("nil output")
	}
	if opts.Limit < 0 || opts.PageSize < 0 {
		return fmt.Errorf("negative limit %d or page size %d", opts.Limit, opts.PageSize)
	}
	coll, err := c.collectionURL(schemaID, http.MethodGet)
	if err != nil {
		return err
	}
	first, err := withQuery(coll, opts)
	if err != nil {
		return err
	}
	rows, err := c.collect(ctx, first, opts.Limit)
	if err != nil {
		return err
	}
	// Raw rows (what the cache's relist asks for) are handed over as collected: joining tens of thousands of
	// rows into one array only to split it again would copy and re-parse the whole listing.
	if raw, ok := out.(*[]json.RawMessage); ok {
		if rows == nil {
			rows = []json.RawMessage{}
		}
		*raw = rows
		return nil
	}
	if err := json.Unmarshal(joinArray(rows), out); err != nil {
		return fmt.Errorf("decode rows: %w", err)
	}
	return nil
}

// withQuery adds filters, sort, order and limit to an opaque collection URL,
// keeping any query it already has.
func withQuery(coll string, opts ListOptions) (string, error) {
	u, err := url.Parse(coll)
	if err != nil {
		return "", fmt.Errorf("parse collection url %s: %w", redactRawURL(coll), err)
	}
	q := u.Query()
	for name, values := range opts.Filters {
		for _, v := range values {
			q.Add(name, v)
		}
	}
	if opts.Sort != "" {
		q.Set("sort", opts.Sort)
	}
	if opts.Order != "" {
		q.Set("order", opts.Order)
	}
	switch {
	case opts.PageSize > 0 && (opts.Limit == 0 || opts.PageSize < opts.Limit):
		q.Set("limit", strconv.Itoa(opts.PageSize))
	case opts.Limit > 0:
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// collect GETs a collection URL and follows pagination.next, returning the raw
// rows of every page (at most limit rows when limit > 0).
func (c *Client) collect(ctx context.Context, next string, limit int) ([]json.RawMessage, error) {
	var rows []json.RawMessage
	seen := make(map[string]bool)
	for pages := 0; next != ""; pages++ {
		if pages == c.maxPages {
			return nil, fmt.Errorf("more than %d pages: %w", c.maxPages, ErrTooManyPages)
		}
		if seen[next] {
			return nil, fmt.Errorf("pagination loops back to %s: %w", redactRawURL(next), ErrTooManyPages)
		}
		seen[next] = true

		var page collection
		if _, err := c.get(ctx, next, &page); err != nil {
			return nil, err
		}
		if page.Type != "" && page.Type != "collection" {
			return nil, fmt.Errorf("expected a collection, got type %q", page.Type)
		}
		rows = append(rows, page.Data...)
		if limit > 0 && len(rows) >= limit {
			return rows[:limit], nil
		}
		current := next
		next = ""
		if page.Pagination != nil && page.Pagination.Next != "" {
			resolved, err := resolveURL(current, page.Pagination.Next)
			if err != nil {
				return nil, fmt.Errorf("pagination next: %w", err)
			}
			next = resolved
		}
	}
	return rows, nil
}

// joinArray renders raw JSON values as one JSON array.
func joinArray(rows []json.RawMessage) []byte {
	size := 2 + len(rows)
	for _, r := range rows {
		size += len(r)
	}
	var b bytes.Buffer
	b.Grow(size)
	b.WriteByte('[')
	for i, r := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// resolveURL resolves ref (absolute, as Cattle sends it, or relative) against
// base.
func resolveURL(base, ref string) (string, error) {
	b, err := url.Parse(base)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", redactRawURL(base), err)
	}
	r, err := b.Parse(ref)
	if err != nil {
		return "", fmt.Errorf("parse %s: %w", redactRawURL(ref), err)
	}
	return r.String(), nil
}
