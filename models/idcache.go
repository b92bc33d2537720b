package models

import "sync"

// idCacheMax bounds the IDs an idCache keeps; when full it starts again
// empty.
const idCacheMax = 100_000

// idCache remembers the IDs of customers or conversations, by their keys,
// that committed bulk inserts found or made, so later batches need not
// look them up again: a re-poll or a long import meets the same customers
// and threads over and over.
//
// It is right only because customers and conversations are never deleted
// and their keys (platform and user ID; account and thread) never change;
// only their other columns are updated. Whatever deletes or re-keys them
// must also empty the store's caches. A batch that rolls back adds
// nothing (InsertInbound adds after the commit).
type idCache[K comparable] struct {
	mu  sync.Mutex
	ids map[K]int64
}

// get returns the ID cached for k.
func (c *idCache[K]) get(k K) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.ids[k]
	return id, ok
}

// addAll caches ids, committed. When a new key finds the cache full, the
// cache starts again empty.
func (c *idCache[K]) addAll(ids map[K]int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ids == nil {
		c.ids = make(map[K]int64, min(len(ids), idCacheMax))
	}
	for k, id := range ids {
		if _, ok := c.ids[k]; !ok && len(c.ids) >= idCacheMax {
			clear(c.ids)
		}
		c.ids[k] = id
	}
}

// len is how many IDs are cached.
func (c *idCache[K]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.ids)
}
