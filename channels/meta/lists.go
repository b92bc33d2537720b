package meta

import (
	"context"
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

// listUnique reads a whole list, at most maxPages pages, and returns its
// items in order, each once: an item whose id is empty, or already seen on
// an earlier page, is dropped. truncated is list's.
func listUnique[T any](ctx context.Context, s *session, path string, q url.Values, maxPages int, id func(T) string) (items []T, truncated bool, err error) {
	seen := map[string]bool{}
	truncated, err = list(ctx, s, path, q, maxPages, func(page []T) bool {
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
