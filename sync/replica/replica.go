// Package replica keeps a node's copy of the network's shared records: it
// authors this node's changes, verifies and applies its peers', answers
// "what do you have?" with a digest of per-author high-water marks, and
// says which ranges it lacks. It knows nothing of the network itself; the
// gossip package moves its bytes.
//
// State converges whatever order changes arrive in: each record is either
// last-writer-wins by a rank that every node computes the same way, or a
// set that only grows (comments, acknowledgements, status changes, whose
// status is read as a lattice maximum).
package replica

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sort"
	"sync"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/internal/wire"
)

// Store is what the replica needs from the database.
type Store interface {
	FedHeads(ctx context.Context) (map[string]uint64, error)
	FedHeld(ctx context.Context, origin string, seqs []uint64) (map[uint64][]byte, error)
	FedApply(ctx context.Context, recs []models.FedRecord) ([]models.FedRecord, error)
	FedAuthor(ctx context.Context, origin string, build func(seq uint64) (models.FedRecord, error)) (models.FedRecord, error)
	FedRange(ctx context.Context, origin string, from, to uint64, limit int) ([][]byte, error)
	FedRefuse(ctx context.Context, origin string, seq uint64, kind uint8, key, from, reason string) error
	FedRevocations(ctx context.Context) (map[string]uint64, error)
	FedChangesSince(ctx context.Context, origin string, after uint64, limit int) ([]models.FedChange, error)
}

// Replica is one node's copy.
type Replica struct {
	store    Store
	self     *identity.Identity
	verifier *change.Verifier
	now      func() time.Time
	log      *slog.Logger

	mu      sync.RWMutex
	revoked map[string]uint64

	lmu       sync.Mutex
	listeners []func([]*change.Change)
}

// Option configures a Replica.
type Option func(*Replica)

// WithClock sets the clock.
func WithClock(now func() time.Time) Option { return func(r *Replica) { r.now = now } }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(r *Replica) { r.log = l } }

// New makes a replica for self in the network of root.
func New(ctx context.Context, store Store, self *identity.Identity, root ed25519.PublicKey, opts ...Option) (*Replica, error) {
	r := &Replica{store: store, self: self, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(r)
	}
	rev, err := store.FedRevocations(ctx)
	if err != nil {
		return nil, err
	}
	r.revoked = rev
	r.verifier = &change.Verifier{Root: root, Now: r.now, Revoked: r.isRevoked}
	return r, nil
}

func (r *Replica) isRevoked(id string) (uint64, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	up, ok := r.revoked[id]
	return up, ok
}

// Self is this node's identity.
func (r *Replica) Self() *identity.Identity { return r.self }

// OnApplied registers fn to hear of changes newly applied (authored here
// or received). fn must not block.
func (r *Replica) OnApplied(fn func([]*change.Change)) {
	r.lmu.Lock()
	defer r.lmu.Unlock()
	r.listeners = append(r.listeners, fn)
}

func (r *Replica) notify(cs []*change.Change) {
	if len(cs) == 0 {
		return
	}
	r.lmu.Lock()
	ls := append([]func([]*change.Change){}, r.listeners...)
	r.lmu.Unlock()
	for _, fn := range ls {
		fn(cs)
	}
}

// Author makes, signs and stores a change by this node.
func (r *Replica) Author(ctx context.Context, kind change.Kind, key string, body []byte) (*change.Change, error) {
	return r.AuthorWith(ctx, kind, func(uint64) (string, []byte, error) { return key, body, nil })
}

// AuthorWith is Author for changes whose key or body depend on the
// sequence number they get (an escalation is named after it).
func (r *Replica) AuthorWith(ctx context.Context, kind change.Kind, build func(seq uint64) (key string, body []byte, err error)) (*change.Change, error) {
	var c *change.Change
	_, err := r.store.FedAuthor(ctx, r.self.Cert.NodeID, func(seq uint64) (models.FedRecord, error) {
		key, body, err := build(seq)
		if err != nil {
			return models.FedRecord{}, err
		}
		c = change.New(r.self, seq, kind, key, body, r.now())
		v, err := r.verifier.Verify(c)
		if err != nil {
			return models.FedRecord{}, fmt.Errorf("this node may not make that change: %w", err)
		}
		return record(v)
	})
	if err != nil {
		return nil, err
	}
	r.afterApply([]*change.Change{c})
	return c, nil
}

// Result says what Receive did.
type Result struct {
	Added      []*change.Change
	Duplicates int // already held (a replay or a second copy)
	Refused    int
}

// Receive verifies and applies changes from a peer. Changes it already
// holds are skipped; a change that reuses a held (origin, seq) with other
// content is refused as an equivocation. Refusals are logged with their
// reason and never applied.
func (r *Replica) Receive(ctx context.Context, from string, raws [][]byte) (Result, error) {
	var res Result
	type item struct {
		c   *change.Change
		v   change.Verified
		err error
	}
	items := make([]item, 0, len(raws))
	byOrigin := map[string][]uint64{}
	for _, raw := range raws {
		c, err := change.Unmarshal(raw)
		if err != nil {
			res.Refused++
			r.log.Warn("undecodable change refused", "from", from, "err", err)
			continue
		}
		items = append(items, item{c: c})
		byOrigin[c.Origin] = append(byOrigin[c.Origin], c.Seq)
	}
	held := map[string]map[uint64][]byte{}
	for o, seqs := range byOrigin {
		h, err := r.store.FedHeld(ctx, o, seqs)
		if err != nil {
			return res, err
		}
		held[o] = h
	}
	needs := make([]bool, len(items))
	for i := range items {
		c := items[i].c
		if raw, ok := held[c.Origin][c.Seq]; ok {
			if string(raw) == string(c.Marshal()) {
				res.Duplicates++
				items[i].err = errDuplicate
			} else {
				items[i].err = ErrEquivocation
			}
			continue
		}
		needs[i] = true
	}

	// Verify and apply in parts, as a pipeline: while one part is written
	// to the store, the signatures of the next are checked (the two costly
	// steps, about even).
	parts := make(chan [2]int, 1)
	go func() {
		defer close(parts)
		for lo := 0; lo < len(items); lo += receivePart {
			hi := min(lo+receivePart, len(items))
			var todo []int
			for i := lo; i < hi; i++ {
				if needs[i] {
					todo = append(todo, i)
				}
			}
			workers := min(runtime.GOMAXPROCS(0), max(1, len(todo)/64))
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for k := w; k < len(todo); k += workers {
						i := todo[k]
						items[i].v, items[i].err = r.verifier.Verify(items[i].c)
					}
				}()
			}
			wg.Wait()
			select {
			case parts <- [2]int{lo, hi}:
			case <-ctx.Done():
				return
			}
		}
	}()
	defer func() {
		for range parts { // let the verifier finish after an error
		}
	}()

	seen := map[string]bool{}
	for part := range parts {
		var recs []models.FedRecord
		var verified []*change.Change
		for _, it := range items[part[0]:part[1]] {
			if it.err == errDuplicate {
				continue
			}
			keep := errors.Is(it.err, change.ErrRevoked) && it.v.Change != nil
			if it.err != nil {
				res.Refused++
				r.log.Warn("change refused", "change", it.c.ID(), "kind", it.c.Kind, "from", from, "reason", it.err)
				if err := r.store.FedRefuse(ctx, it.c.Origin, it.c.Seq, uint8(it.c.Kind), it.c.Key, from, it.err.Error()); err != nil {
					return res, err
				}
				if !keep {
					continue
				}
			}
			if seen[it.c.ID()] {
				res.Duplicates++
				continue
			}
			seen[it.c.ID()] = true
			rec, err := record(it.v)
			if err != nil {
				return res, err
			}
			if keep {
				rec.Revoked = true
				recs = append(recs, rec)
				continue
			}
			recs = append(recs, rec)
			verified = append(verified, it.c)
		}
		if len(recs) == 0 {
			continue
		}
		added, err := r.store.FedApply(ctx, recs)
		if err != nil {
			return res, err
		}
		addedIDs := make(map[string]bool, len(added))
		for _, a := range added {
			addedIDs[fmt.Sprintf("%s/%d", a.Origin, a.Seq)] = true
		}
		var now []*change.Change
		for _, c := range verified {
			if addedIDs[c.ID()] {
				now = append(now, c)
			} else {
				res.Duplicates++ // stored meanwhile by another path
			}
		}
		res.Added = append(res.Added, now...)
		r.afterApply(now)
	}
	return res, nil
}

// receivePart is how many changes Receive verifies and stores at a time.
const receivePart = 200

var errDuplicate = errors.New("duplicate")

// ErrEquivocation means an author signed two different changes with one
// sequence number: the second is refused and reported.
var ErrEquivocation = errors.New("equivocation: another change with the same origin and sequence number is held")

func (r *Replica) afterApply(cs []*change.Change) {
	for _, c := range cs {
		if c.Kind == change.KindRevocation {
			var rv change.Revocation
			if json.Unmarshal(c.Body, &rv) == nil {
				r.mu.Lock()
				if old, ok := r.revoked[c.Key]; !ok || rv.UpTo < old {
					r.revoked[c.Key] = rv.UpTo
				}
				r.mu.Unlock()
			}
		}
	}
	r.notify(cs)
}

// record turns a verified change into what the store keeps.
func record(v change.Verified) (models.FedRecord, error) {
	rec := models.FedRecord{Origin: v.Origin, Seq: v.Seq, Kind: uint8(v.Kind), Key: v.Key, At: v.Time, Body: v.Body,
		Raw: v.Marshal(), AuthorRole: v.Author.Role, AuthorLocation: v.Author.Location, AuthorRegion: v.Author.Region}
	rank, err := Rank(v.Change)
	if err != nil {
		return rec, err
	}
	rec.Rank = rank
	if v.Kind == change.KindRevocation {
		var rv change.Revocation
		if err := json.Unmarshal(v.Body, &rv); err != nil {
			return rec, err
		}
		rec.Revokes = &models.Revoke{NodeID: v.Key, UpTo: rv.UpTo}
	}
	return rec, nil
}

// Rank orders the versions of a last-writer-wins record; every node
// computes the same rank for the same change. Kinds that accumulate have
// no rank ("").
func Rank(c *change.Change) (string, error) {
	base := fmt.Sprintf("%015d|%s|%020d", c.Time.UnixMilli(), c.Origin, c.Seq)
	switch c.Kind {
	case change.KindGuideline:
		var p struct {
			Version int `json:"version"`
		}
		if err := json.Unmarshal(c.Body, &p); err != nil {
			return "", err
		}
		return fmt.Sprintf("%010d|%s", p.Version, base), nil
	case change.KindGossipKey:
		var g struct {
			Epoch uint64 `json:"epoch"`
		}
		if err := json.Unmarshal(c.Body, &g); err != nil {
			return "", err
		}
		return fmt.Sprintf("%020d|%s", g.Epoch, base), nil
	case change.KindNode, change.KindRevocation, change.KindTemplate, change.KindEscalation, change.KindKPI, change.KindCrisis:
		return base, nil
	}
	return "", nil
}

// Digest is what a node holds: per author, the highest sequence number
// held without a gap.
type Digest struct {
	Node  string
	Heads map[string]uint64
}

// Digest returns this node's digest.
func (r *Replica) Digest(ctx context.Context) (Digest, error) {
	h, err := r.store.FedHeads(ctx)
	return Digest{Node: r.self.Cert.NodeID, Heads: h}, err
}

// Marshal encodes a digest (about 10 bytes an author).
func (d Digest) Marshal() []byte {
	var w wire.Writer
	w.PutString(d.Node)
	origins := make([]string, 0, len(d.Heads))
	for o := range d.Heads {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	w.PutUint(uint64(len(origins)))
	for _, o := range origins {
		w.PutString(o)
		w.PutUint(d.Heads[o])
	}
	return w.Buffer.Bytes()
}

// MaxOrigins bounds a digest: more authors than any network of ours has.
const MaxOrigins = 100000

// UnmarshalDigest decodes a digest.
func UnmarshalDigest(b []byte) (Digest, error) {
	r := wire.NewReader(b)
	d := Digest{Node: r.String(), Heads: map[string]uint64{}}
	n := r.Uint()
	if n > MaxOrigins {
		return Digest{}, fmt.Errorf("%w digest: %d origins", wire.ErrMalformed, n)
	}
	for range n {
		o := r.String()
		d.Heads[o] = r.Uint()
	}
	if !r.Done() {
		return Digest{}, fmt.Errorf("%w digest", wire.ErrMalformed)
	}
	return d, nil
}

// Range is a run of one author's changes.
type Range struct {
	Origin   string
	From, To uint64
}

// Wants lists the ranges the remote digest has and this node lacks.
func (r *Replica) Wants(ctx context.Context, remote Digest) ([]Range, error) {
	mine, err := r.store.FedHeads(ctx)
	if err != nil {
		return nil, err
	}
	var out []Range
	for o, h := range remote.Heads {
		if h > mine[o] {
			out = append(out, Range{Origin: o, From: mine[o] + 1, To: h})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Origin < out[j].Origin })
	return out, nil
}

// Serve returns the raw changes of a range this node holds, at most limit
// changes and about maxBytes bytes; the caller asks again for the rest.
func (r *Replica) Serve(ctx context.Context, rg Range, limit, maxBytes int) ([][]byte, error) {
	raws, err := r.store.FedRange(ctx, rg.Origin, rg.From, rg.To, limit)
	if err != nil {
		return nil, err
	}
	total := 0
	for i, raw := range raws {
		total += len(raw)
		if total > maxBytes && i > 0 {
			return raws[:i], nil
		}
	}
	return raws, nil
}

// OwnSince returns this node's changes after seq, in order: changes another
// process (a command) made for this node, for the running node to send.
func (r *Replica) OwnSince(ctx context.Context, seq uint64) ([]*change.Change, error) {
	rows, err := r.store.FedChangesSince(ctx, r.self.Cert.NodeID, seq, 1000)
	if err != nil {
		return nil, err
	}
	out := make([]*change.Change, 0, len(rows))
	for _, row := range rows {
		c, err := change.Unmarshal(row.Raw)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
