package replica

import (
	"context"
	"sort"
	"sync"

	"github.com/branchline/branchline/models"
)

// MemStore is a Store in memory, for simulations with many nodes (a
// thousand SQLite files would measure the disk, not the protocol). It
// keeps the same log, heads and last-writer-wins values as the SQLite
// store, without persistence.
type MemStore struct {
	mu       sync.Mutex
	changes  map[string]map[uint64]models.FedRecord
	heads    map[string]uint64
	state    map[string]models.FedRecord // kind/key → winner
	revoked  map[string]uint64
	refusals int
}

// NewMemStore makes an empty store.
func NewMemStore() *MemStore {
	return &MemStore{changes: map[string]map[uint64]models.FedRecord{}, heads: map[string]uint64{},
		state: map[string]models.FedRecord{}, revoked: map[string]uint64{}}
}

var _ Store = (*MemStore)(nil)

func stateKey(kind uint8, key string) string { return string(rune(kind)) + "/" + key }

// Has reports whether the store holds a value for the record.
func (m *MemStore) Has(kind uint8, key string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.state[stateKey(kind, key)]
	return ok
}

// State returns the winner of a record.
func (m *MemStore) State(kind uint8, key string) (models.FedRecord, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.state[stateKey(kind, key)]
	return r, ok
}

// Refusals counts refused changes.
func (m *MemStore) Refusals() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.refusals
}

func (m *MemStore) FedHeads(context.Context) (map[string]uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]uint64, len(m.heads))
	for k, v := range m.heads {
		out[k] = v
	}
	return out, nil
}

func (m *MemStore) FedHeld(_ context.Context, origin string, seqs []uint64) (map[uint64][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[uint64][]byte{}
	for _, s := range seqs {
		if r, ok := m.changes[origin][s]; ok {
			out[s] = r.Raw
		}
	}
	return out, nil
}

func (m *MemStore) FedApply(_ context.Context, recs []models.FedRecord) ([]models.FedRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.apply(recs), nil
}

func (m *MemStore) apply(recs []models.FedRecord) []models.FedRecord {
	var added []models.FedRecord
	for _, r := range recs {
		if m.changes[r.Origin] == nil {
			m.changes[r.Origin] = map[uint64]models.FedRecord{}
		}
		if _, ok := m.changes[r.Origin][r.Seq]; ok {
			continue
		}
		if up, ok := m.revoked[r.Origin]; ok && r.Seq > up {
			r.Revoked = true
		}
		m.changes[r.Origin][r.Seq] = r
		added = append(added, r)
		for m.changes[r.Origin][m.heads[r.Origin]+1].Raw != nil {
			m.heads[r.Origin]++
		}
		if r.Revoked {
			continue
		}
		if r.Rank != "" {
			k := stateKey(r.Kind, r.Key)
			if cur, ok := m.state[k]; !ok || r.Rank > cur.Rank {
				m.state[k] = r
			}
		}
		if r.Revokes != nil {
			if old, ok := m.revoked[r.Revokes.NodeID]; !ok || r.Revokes.UpTo < old {
				m.revoked[r.Revokes.NodeID] = r.Revokes.UpTo
			}
			m.recompute(r.Revokes.NodeID)
		}
	}
	return added
}

// recompute drops a revoked node's later changes from the winners.
func (m *MemStore) recompute(node string) {
	up := m.revoked[node]
	for s, r := range m.changes[node] {
		if s > up {
			r.Revoked = true
			m.changes[node][s] = r
		}
	}
	for k, w := range m.state {
		if w.Origin != node || w.Seq <= up {
			continue
		}
		delete(m.state, k)
		for _, byOrigin := range m.changes {
			for _, r := range byOrigin {
				if !r.Revoked && r.Rank != "" && stateKey(r.Kind, r.Key) == k {
					if cur, ok := m.state[k]; !ok || r.Rank > cur.Rank {
						m.state[k] = r
					}
				}
			}
		}
	}
}

func (m *MemStore) FedAuthor(_ context.Context, origin string, build func(seq uint64) (models.FedRecord, error)) (models.FedRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var last uint64
	for s := range m.changes[origin] {
		last = max(last, s)
	}
	r, err := build(last + 1)
	if err != nil {
		return r, err
	}
	m.apply([]models.FedRecord{r})
	return r, nil
}

func (m *MemStore) FedRange(_ context.Context, origin string, from, to uint64, limit int) ([][]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var seqs []uint64
	for s := range m.changes[origin] {
		if s >= from && s <= to {
			seqs = append(seqs, s)
		}
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	if limit > 0 && len(seqs) > limit {
		seqs = seqs[:limit]
	}
	out := make([][]byte, len(seqs))
	for i, s := range seqs {
		out[i] = m.changes[origin][s].Raw
	}
	return out, nil
}

func (m *MemStore) FedRefuse(context.Context, string, uint64, uint8, string, string, string) error {
	m.mu.Lock()
	m.refusals++
	m.mu.Unlock()
	return nil
}

func (m *MemStore) FedRevocations(context.Context) (map[string]uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]uint64{}
	for k, v := range m.revoked {
		out[k] = v
	}
	return out, nil
}

func (m *MemStore) FedChangesSince(_ context.Context, origin string, after uint64, limit int) ([]models.FedChange, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []models.FedChange
	for s, r := range m.changes[origin] {
		if s > after {
			out = append(out, models.FedChange{Origin: r.Origin, Seq: r.Seq, Kind: r.Kind, Key: r.Key, Raw: r.Raw})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
