package meta

import (
	"context"
	"encoding/json"
	"net/url"
)

// Helpers over list shared by the Facebook and Instagram channels.

// listChecked is list for a visit that can meet an item it cannot use
// (no ID, an unreadable time): visit returns an error for it, which stops
// the list and is returned, with truncated false.
func listChecked[T any](ctx context.Context, s *session, path string, q url.Values, maxPages int, visit func([]T) (stop bool, err error)) (truncated bool, err error) {
	var bad error
	truncated, err = list(ctx, s, path, q, maxPages, func(items []T) bool {
		stop, err := visit(items)
		if err != nil {
			bad = err
			return true
		}
		return stop
	})
	if err == nil {
		err = bad
	}
	return truncated, err
}

// listSkipping is list for a poll, which one item it cannot use must not
// stop: each item of a page is decoded on its own, and one that does not
// decode (a field of the wrong type) is handed to bad, with its id when
// that much can be read, and left out. A page that is not JSON, or has no
// data list, is still an error.
func listSkipping[T any](ctx context.Context, s *session, path string, q url.Values, maxPages int, bad func(id string, err error), visit func([]T) (stop bool)) (truncated bool, err error) {
	return list(ctx, s, path, q, maxPages, func(raws []json.RawMessage) bool {
		items := make([]T, 0, len(raws))
		for _, r := range raws {
			var it T
			if err := json.Unmarshal(r, &it); err != nil {
				bad(rawID(r), err)
				continue
			}
			items = append(items, it)
		}
		return visit(items)
	})
}

// rawID reads the id of a list item that does not decode as a whole (""
// when even that is unreadable).
func rawID(raw json.RawMessage) string {
	var it struct {
		ID string `json:"id"`
	}
	if json.Unmarshal(raw, &it) != nil {
		return ""
	}
	return it.ID
}

// listUnique reads a whole list, at most maxPages pages, and returns its
// items in order, each once: an item whose id is empty, or already seen on
// an earlier page, is dropped, and one that does not decode is handed to
// bad and dropped (listSkipping). truncated is list's.
func listUnique[T any](ctx context.Context, s *session, path string, q url.Values, maxPages int, bad func(id string, err error), id func(T) string) (items []T, truncated bool, err error) {
	seen := map[string]bool{}
	truncated, err = listSkipping(ctx, s, path, q, maxPages, bad, func(page []T) bool {
		for _, it := range page {
			if k := id(it); k != "" && !seen[k] {
				seen[k] = true
				items = append(items, it)
			}
		}
		return false
	})
	return items, truncated, err
}
