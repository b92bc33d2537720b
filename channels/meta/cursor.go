package meta

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/branchline/branchline/channels"
)

// cursorVersion is the version of the cursor's encoding.
const cursorVersion = 1

// cursor is where a poll resumes: per source (comments, messages, tags),
// the creation time of the newest item handed out, and the IDs of the
// items handed out at exactly that time. An item is new when it is younger
// than the mark, or as old but not among its IDs: so items that share a
// timestamp across two polls are neither lost nor handed out twice.
//
// It is encoded as JSON; callers store it as an opaque string.
type cursor struct {
	V       int             `json:"v"`
	Sources map[string]mark `json:"s"`
}

type mark struct {
	T   time.Time `json:"t"`
	IDs []string  `json:"ids,omitempty"`
}

// parseCursor reads a stored cursor; "" is the beginning.
func parseCursor(s string) (cursor, error) {
	c := cursor{V: cursorVersion, Sources: map[string]mark{}}
	if s == "" {
		return c, nil
	}
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		return c, fmt.Errorf("%w: unreadable Meta poll cursor %.60q: %v", channels.ErrPermanent, s, err)
	}
	if c.V != cursorVersion {
		return c, fmt.Errorf("%w: Meta poll cursor has version %d, this build reads %d", channels.ErrPermanent, c.V, cursorVersion)
	}
	if c.Sources == nil {
		c.Sources = map[string]mark{}
	}
	return c, nil
}

func (c cursor) String() string {
	b, _ := json.Marshal(c) // cannot fail: times and strings only
	return string(b)
}

// mark returns a source's mark, or start for a source never polled.
func (c cursor) mark(source string, start time.Time) mark {
	if m, ok := c.Sources[source]; ok {
		return m
	}
	return mark{T: start}
}

// since is where a poll of recent posts or media starts: the lookback
// start, or the mark when that is older (back after a long pause, the
// poll catches up on older posts too).
func (m mark) since(start time.Time) time.Time {
	if m.T.Before(start) {
		return m.T
	}
	return start
}

// isNew says whether an item created at t with id comes after the mark.
func (m mark) isNew(t time.Time, id string) bool {
	return t.After(m.T) || (t.Equal(m.T) && !slices.Contains(m.IDs, id))
}

// sourced is an item with the source it came from.
type sourced struct {
	source string
	item   channels.Item
}

// collector gathers a poll's items, without duplicates.
type collector struct {
	items []sourced
	seen  map[string]bool
	// passed holds, per source, the newest time of an item stepped over
	// because it cannot be used (no id): the mark may move up to it, as
	// past an item handed out.
	passed map[string]time.Time
}

// pass records that an item of source created at t, newer than the
// source's mark, was stepped over. Only items with a time the poll could
// read are passed: one without cannot move a mark.
func (c *collector) pass(source string, t time.Time) {
	if c.passed == nil {
		c.passed = map[string]time.Time{}
	}
	if t.After(c.passed[source]) {
		c.passed[source] = t
	}
}

func (c *collector) add(source string, it channels.Item) {
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	k := source + "\x00" + it.PlatformID
	if c.seen[k] {
		return
	}
	c.seen[k] = true
	c.items = append(c.items, sourced{source, it})
}

// page sorts the items oldest first, keeps at most max of them, and moves
// each source's mark to the newest item it handed out, or past the newest
// item it stepped over when that is newer and the page holds every item
// (when the page is cut at max, the mark must stay below the items left
// for the next poll).
func (c *collector) page(cur cursor, max int) channels.Page {
	slices.SortStableFunc(c.items, func(a, b sourced) int {
		if n := a.item.CreatedAt.Compare(b.item.CreatedAt); n != 0 {
			return n
		}
		return cmp.Compare(a.item.PlatformID, b.item.PlatformID)
	})
	var p channels.Page
	if len(c.items) > max {
		c.items, p.More = c.items[:max], true
	}
	next := cursor{V: cursorVersion, Sources: map[string]mark{}}
	for k, m := range cur.Sources {
		next.Sources[k] = m
	}
	for _, s := range c.items {
		p.Items = append(p.Items, s.item)
		m, ok := next.Sources[s.source]
		t := s.item.CreatedAt
		switch {
		case !ok || t.After(m.T):
			m = mark{T: t, IDs: []string{s.item.PlatformID}}
		case t.Equal(m.T):
			m.IDs = append(slices.Clip(m.IDs), s.item.PlatformID)
		}
		next.Sources[s.source] = m
	}
	if !p.More {
		for src, t := range c.passed {
			// Items at t other than those handed out are still new: the
			// one stepped over has no id to list.
			if m, ok := next.Sources[src]; !ok || t.After(m.T) {
				next.Sources[src] = mark{T: t}
			}
		}
	}
	p.Cursor = next.String()
	return p
}
