package replica

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type net struct {
	root       identity.Root
	ids        map[string]*identity.Identity
	storeNames []string
}

func newNet(t testing.TB) *net {
	t.Helper()
	root, _ := identity.NewRoot(rand.Reader)
	n := &net{root: root, ids: map[string]*identity.Identity{}}
	add := func(r identity.CertRequest) {
		id, err := root.Issue(r, now.Add(-24*time.Hour), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		n.ids[r.NodeID] = id
	}
	add(identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ})
	add(identity.CertRequest{NodeID: "region-pnw", Role: identity.RoleRegion, Region: "PNW"})
	for i := range 4 {
		name := fmt.Sprintf("store-%d", i)
		n.storeNames = append(n.storeNames, name)
		add(identity.CertRequest{NodeID: name, Role: identity.RoleStore, Location: fmt.Sprintf("L%d", i), Region: "PNW"})
	}
	return n
}

func (n *net) replica(t testing.TB, self string) (*Replica, *models.Store) {
	t.Helper()
	s, err := models.Open(context.Background(), filepath.Join(t.TempDir(), "db"), models.WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r, err := New(context.Background(), s, n.ids[self], n.root.Public(), WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

func js(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func packVersion(v int) []byte {
	p := guidelines.Default()
	p.Version = v
	b, _ := p.Marshal()
	return b
}

// history makes a realistic mix of changes by every author, signed with
// made-up sequence numbers 1..n per author.
func (n *net) history(r *mrand.Rand, count int) []*change.Change {
	seq := map[string]uint64{}
	next := func(o string) uint64 { seq[o]++; return seq[o] }
	var out []*change.Change
	mk := func(o string, kind change.Kind, key func(uint64) string, body []byte) {
		s := next(o)
		at := now.Add(-time.Duration(r.IntN(3600)) * time.Second)
		out = append(out, change.New(n.ids[o], s, kind, key(s), body, at))
	}
	var escalations []string
	for len(out) < count {
		switch x := r.IntN(10); {
		case x == 0:
			mk("hq", change.KindGuideline, func(uint64) string { return "copper-kettle" }, packVersion(1+r.IntN(5)))
		case x == 1:
			mk("hq", change.KindTemplate, func(uint64) string { return fmt.Sprintf("hq/t%d", r.IntN(3)) },
				js(change.Template{Scope: "hq", Template: json.RawMessage(fmt.Sprintf(`{"name":"t","body":"v%d"}`, r.IntN(100)))}))
		case x < 4:
			st := n.storeNames[r.IntN(len(n.storeNames))]
			loc := n.ids[st].Cert.Location
			s := seq[st] + 1
			escalations = append(escalations, change.EscalationKey(st, s))
			mk(st, change.KindEscalation, func(s uint64) string { return change.EscalationKey(st, s) },
				js(change.Escalation{Location: loc, Region: "PNW", Level: change.LevelRegion, Severity: "high", Category: "food_safety", Sealed: []byte{1}}))
		case x < 6 && len(escalations) > 0:
			who := []string{"hq", "region-pnw"}[r.IntN(2)]
			key := escalations[r.IntN(len(escalations))]
			mk(who, change.KindEscalationStatus, func(uint64) string { return key },
				js(change.EscalationStatus{Region: "PNW", Stage: change.Stages[r.IntN(4)], Reopen: r.IntN(2)}))
		case x < 8:
			st := n.storeNames[r.IntN(len(n.storeNames))]
			loc := n.ids[st].Cert.Location
			day := fmt.Sprintf("2026-11-%02d", 1+r.IntN(3))
			mk(st, change.KindKPI, func(uint64) string { return loc + "/" + day },
				js(change.KPI{Location: loc, Region: "PNW", Day: day, Figures: map[string]float64{"received": float64(r.IntN(100))}}))
		default:
			st := n.storeNames[r.IntN(len(n.storeNames))]
			mk(st, change.KindCrisisAck, func(uint64) string { return "crisis-1" },
				js(change.CrisisAck{Location: n.ids[st].Cert.Location, Region: "PNW"}))
		}
	}
	// A revocation in the middle of it all.
	mk("hq", change.KindRevocation, func(uint64) string { return "store-3" }, js(change.Revocation{UpTo: 2}))
	return out
}

type snapshot struct {
	Heads   map[string]uint64
	States  []models.FedState
	Changes int
}

func snap(t *testing.T, s *models.Store) snapshot {
	t.Helper()
	ctx := context.Background()
	h, err := s.FedHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var states []models.FedState
	for k := range change.Kind(11) {
		st, err := s.FedStates(ctx, uint8(k), 0)
		if err != nil {
			t.Fatal(err)
		}
		for i := range st {
			st[i].At = st[i].At.UTC()
		}
		states = append(states, st...)
	}
	counts, _ := s.FedCounts(ctx)
	n := 0
	for _, c := range counts {
		n += c
	}
	return snapshot{Heads: h, States: states, Changes: n}
}

// TestChangesConvergeInAnyOrder is the property: however the same changes
// are split, shuffled and delivered, every replica ends in the same state.
func TestChangesConvergeInAnyOrder(t *testing.T) {
	n := newNet(t)
	for trial := range 5 {
		r := mrand.New(mrand.NewPCG(uint64(trial), 99))
		hist := n.history(r, 150)
		var first snapshot
		for k := range 3 {
			rep, store := n.replica(t, []string{"hq", "region-pnw", "store-0"}[k])
			order := r.Perm(len(hist))
			for lo := 0; lo < len(order); {
				size := 1 + r.IntN(20)
				var batch [][]byte
				for _, i := range order[lo:min(lo+size, len(order))] {
					batch = append(batch, hist[i].Marshal())
					if r.IntN(10) == 0 {
						batch = append(batch, hist[i].Marshal()) // duplicates happen
					}
				}
				if _, err := rep.Receive(context.Background(), "test", batch); err != nil {
					t.Fatal(err)
				}
				lo += size
			}
			got := snap(t, store)
			if k == 0 {
				first = got
				if len(got.States) == 0 || len(got.Heads) < 4 {
					t.Fatalf("trial %d: nothing applied: %+v", trial, got)
				}
				continue
			}
			if !reflect.DeepEqual(got, first) {
				t.Fatalf("trial %d: replica %d differs:\n%s", trial, k, diff(got, first))
			}
		}
	}
}

func TestReplaysAndEquivocationsAreNotApplied(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	rep, store := n.replica(t, "store-0")
	c := change.New(n.ids["hq"], 1, change.KindGuideline, "copper-kettle", packVersion(2), now)
	res, err := rep.Receive(ctx, "peer", [][]byte{c.Marshal()})
	if err != nil || len(res.Added) != 1 {
		t.Fatalf("first: %+v %v", res, err)
	}
	res, _ = rep.Receive(ctx, "peer", [][]byte{c.Marshal()})
	if len(res.Added) != 0 || res.Duplicates != 1 {
		t.Fatalf("replay: %+v", res)
	}
	other := change.New(n.ids["hq"], 1, change.KindGuideline, "copper-kettle", packVersion(3), now)
	res, _ = rep.Receive(ctx, "peer", [][]byte{other.Marshal()})
	if len(res.Added) != 0 || res.Refused != 1 {
		t.Fatalf("equivocation: %+v", res)
	}
	st, _ := store.FedStateOf(ctx, uint8(change.KindGuideline), "copper-kettle")
	if st.Seq != 1 || string(st.Body) != string(packVersion(2)) {
		t.Errorf("state changed by the equivocation")
	}
	refusals, _ := store.FedRefusals(ctx, 10)
	if len(refusals) != 1 || refusals[0].FromNode != "peer" {
		t.Errorf("refusals = %+v", refusals)
	}
}

func TestAuthorAllocatesSequenceNumbersAndChecksPolicy(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	rep, store := n.replica(t, "store-0")
	var seen []*change.Change
	rep.OnApplied(func(cs []*change.Change) { seen = append(seen, cs...) })
	for i := range 3 {
		c, err := rep.Author(ctx, change.KindKPI, fmt.Sprintf("L0/2026-11-0%d", i+1),
			js(change.KPI{Location: "L0", Region: "PNW", Day: fmt.Sprintf("2026-11-0%d", i+1)}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Seq != uint64(i+1) {
			t.Fatalf("seq %d, want %d", c.Seq, i+1)
		}
	}
	if _, err := rep.Author(ctx, change.KindGuideline, "copper-kettle", packVersion(1)); !errors.Is(err, change.ErrRole) {
		t.Fatalf("a store authored a pack: %v", err)
	}
	heads, _ := store.FedHeads(ctx)
	if heads["store-0"] != 3 || len(seen) != 3 {
		t.Fatalf("heads %v, %d notified", heads, len(seen))
	}
}

func TestDigestAndWantsFindExactlyWhatIsMissing(t *testing.T) {
	n := newNet(t)
	ctx := context.Background()
	a, _ := n.replica(t, "hq")
	b, _ := n.replica(t, "store-0")
	for i := range 10 {
		if _, err := a.Author(ctx, change.KindTemplate, fmt.Sprintf("hq/t%d", i), js(change.Template{Scope: "hq"})); err != nil {
			t.Fatal(err)
		}
	}
	// b has the first four.
	raws, _ := a.Serve(ctx, Range{Origin: "hq", From: 1, To: 4}, 100, 1<<20)
	if _, err := b.Receive(ctx, "hq", raws); err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest(ctx)
	round, err := UnmarshalDigest(da.Marshal())
	if err != nil || !reflect.DeepEqual(round, da) {
		t.Fatalf("digest round trip: %v", err)
	}
	wants, _ := b.Wants(ctx, round)
	if len(wants) != 1 || wants[0] != (Range{Origin: "hq", From: 5, To: 10}) {
		t.Fatalf("wants %+v", wants)
	}
	raws, _ = a.Serve(ctx, wants[0], 100, 1<<20)
	if res, _ := b.Receive(ctx, "hq", raws); len(res.Added) != 6 {
		t.Fatalf("caught up with %d", len(res.Added))
	}
	if wants, _ := b.Wants(ctx, round); len(wants) != 0 {
		t.Fatalf("still wants %+v", wants)
	}
}

func FuzzUnmarshalDigest(f *testing.F) {
	f.Add(Digest{Node: "hq", Heads: map[string]uint64{"hq": 3, "store-1": 9}}.Marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := UnmarshalDigest(b)
		if err != nil {
			return
		}
		again, err := UnmarshalDigest(d.Marshal())
		if err != nil || !reflect.DeepEqual(again, d) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func diff(a, b snapshot) string {
	var out []string
	for o, h := range a.Heads {
		if b.Heads[o] != h {
			out = append(out, fmt.Sprintf("head %s: %d vs %d", o, h, b.Heads[o]))
		}
	}
	key := func(s models.FedState) string { return fmt.Sprintf("%d/%s", s.Kind, s.Key) }
	bs := map[string]models.FedState{}
	for _, s := range b.States {
		bs[key(s)] = s
	}
	for _, s := range a.States {
		o, ok := bs[key(s)]
		if !ok {
			out = append(out, "only in first: "+key(s))
		} else if o.Origin != s.Origin || o.Seq != s.Seq {
			out = append(out, fmt.Sprintf("%s: %s/%d vs %s/%d", key(s), s.Origin, s.Seq, o.Origin, o.Seq))
		}
		delete(bs, key(s))
	}
	for k := range bs {
		out = append(out, "only in second: "+k)
	}
	if a.Changes != b.Changes {
		out = append(out, fmt.Sprintf("changes %d vs %d", a.Changes, b.Changes))
	}
	return strings.Join(out, "\n")
}
