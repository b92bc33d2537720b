package webhook

import (
	"container/list"
	"sync"
	"time"
)

// memory remembers the keys of items handed to the sink, at most size of
// them and each for ttl, oldest forgotten first. A key is reserved while
// its delivery is under way, so a repeat arriving meanwhile is not handed
// over a second time; it is released if the sink fails.
type memory struct {
	mu    sync.Mutex
	size  int
	ttl   time.Duration
	keys  map[string]*list.Element
	order *list.List // of *remembered, oldest first
}

type remembered struct {
	key     string
	at      time.Time
	pending bool
}

func newMemory(size int, ttl time.Duration) *memory {
	return &memory{size: max(size, 1), ttl: ttl, keys: map[string]*list.Element{}, order: list.New()}
}

// reserve claims key for a delivery; false means it was delivered (or is
// being delivered) already.
func (m *memory) reserve(key string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.forget(now)
	if _, ok := m.keys[key]; ok {
		return false
	}
	m.keys[key] = m.order.PushBack(&remembered{key: key, at: now, pending: true})
	m.trim()
	return true
}

// commit remembers reserved keys as delivered.
func (m *memory) commit(keys []string, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		e, ok := m.keys[k]
		if !ok {
			e = m.order.PushBack(&remembered{key: k})
			m.keys[k] = e
		}
		r := e.Value.(*remembered)
		r.at, r.pending = now, false
		m.order.MoveToBack(e)
	}
	m.trim()
}

// release forgets reserved keys whose delivery failed.
func (m *memory) release(keys []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		if e, ok := m.keys[k]; ok && e.Value.(*remembered).pending {
			m.order.Remove(e)
			delete(m.keys, k)
		}
	}
}

// forget drops keys older than the ttl.
func (m *memory) forget(now time.Time) {
	for e := m.order.Front(); e != nil; e = m.order.Front() {
		r := e.Value.(*remembered)
		if now.Sub(r.at) < m.ttl {
			return
		}
		m.order.Remove(e)
		delete(m.keys, r.key)
	}
}

// trim keeps at most size keys.
func (m *memory) trim() {
	for m.order.Len() > m.size {
		e := m.order.Front()
		m.order.Remove(e)
		delete(m.keys, e.Value.(*remembered).key)
	}
}

// len is how many keys are remembered.
func (m *memory) len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.order.Len()
}
