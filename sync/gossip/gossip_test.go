package gossip

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/memberlist"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/replica"
)

type testNet struct {
	root identity.Root
	key  []byte
}

func newTestNet(t testing.TB) *testNet {
	root, _ := identity.NewRoot(rand.Reader)
	key, _ := identity.NewGossipKey()
	return &testNet{root: root, key: key}
}

type testNode struct {
	*Node
	rep   *replica.Replica
	store *models.Store
	id    *identity.Identity
}

func (tn *testNet) node(t testing.TB, req identity.CertRequest, key []byte, tune func(*Config)) *testNode {
	t.Helper()
	ctx := context.Background()
	id, err := tn.root.Issue(req, time.Now().Add(-time.Hour), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	store, err := models.Open(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rep, err := replica.New(ctx, store, id, tn.root.Public())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: req.NodeID, BindAddr: "127.0.0.1", BindPort: 0, Preset: "local", Keys: [][]byte{key},
		Label: "branchline-test", Meta: Meta{Role: req.Role, Location: req.Location, Region: req.Region},
		Tune: func(c *memberlist.Config) {
			c.PushPullInterval = 300 * time.Millisecond
			c.GossipInterval = 50 * time.Millisecond
			c.ProbeInterval = 200 * time.Millisecond
		}}
	if tune != nil {
		tune(&cfg)
	}
	n, err := Start(ctx, cfg, rep)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown() })
	return &testNode{Node: n, rep: rep, store: store, id: id}
}

func (n *testNode) addr() string {
	ln := n.Memberlist().LocalNode()
	return fmt.Sprintf("127.0.0.1:%d", ln.Port)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func has(n *testNode, kind change.Kind, key string) bool {
	_, err := n.store.FedStateOf(context.Background(), uint8(kind), key)
	return err == nil
}

func TestChangesSpreadAndLateNodesCatchUp(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t)
	hq := tn.node(t, identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ}, tn.key, nil)
	region := tn.node(t, identity.CertRequest{NodeID: "region-pnw", Role: identity.RoleRegion, Region: "PNW"}, tn.key, nil)
	store := tn.node(t, identity.CertRequest{NodeID: "store-riverside", Role: identity.RoleStore, Location: "Riverside", Region: "PNW"}, tn.key, nil)
	for _, n := range []*testNode{region, store} {
		if _, err := n.Join([]string{hq.addr()}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "three members", func() bool { return len(store.Members()) == 3 })

	// A guideline pack is too big for a packet: it is announced and fetched.
	if _, err := hq.rep.Author(ctx, change.KindGuideline, "copper-kettle", guidelines.DefaultJSON()); err != nil {
		t.Fatal(err)
	}
	tpl, _ := json.Marshal(change.Template{Scope: "hq", Template: json.RawMessage(`{"name":"hi","body":"Hi"}`)})
	if _, err := hq.rep.Author(ctx, change.KindTemplate, "hq/hi", tpl); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*testNode{region, store} {
		eventually(t, n.id.Cert.NodeID+" gets the pack and the template", func() bool {
			return has(n, change.KindGuideline, "copper-kettle") && has(n, change.KindTemplate, "hq/hi")
		})
	}

	// A store that was away catches up with exactly what it missed.
	late := tn.node(t, identity.CertRequest{NodeID: "store-harbor", Role: identity.RoleStore, Location: "Harbor", Region: "PNW"}, tn.key, nil)
	for i := range 30 {
		kpi, _ := json.Marshal(change.KPI{Location: "Riverside", Region: "PNW", Day: fmt.Sprintf("2026-10-%02d", i+1), Figures: map[string]float64{"received": 1}})
		if _, err := store.rep.Author(ctx, change.KindKPI, fmt.Sprintf("Riverside/2026-10-%02d", i+1), kpi); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := late.Join([]string{region.addr()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the late store holds everything", func() bool {
		h, _ := late.store.FedHeads(ctx)
		return h["hq"] == 2 && h["store-riverside"] == 30
	})
}

func TestNodeWithoutTheKeyCannotJoin(t *testing.T) {
	tn := newTestNet(t)
	hq := tn.node(t, identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ}, tn.key, nil)
	otherKey, _ := identity.NewGossipKey()
	intruder := tn.node(t, identity.CertRequest{NodeID: "intruder", Role: identity.RoleStore, Location: "X", Region: "Y"}, otherKey, nil)
	if _, err := intruder.Join([]string{hq.addr()}); err == nil {
		t.Fatal("a node with the wrong gossip key joined")
	}
	time.Sleep(500 * time.Millisecond)
	if len(hq.Members()) != 1 {
		t.Fatalf("hq sees %d members", len(hq.Members()))
	}
}

func FuzzUnmarshalRequest(f *testing.F) {
	f.Add(marshalRequest("a", []replica.Range{{Origin: "hq", From: 1, To: 9}})[1:])
	f.Fuzz(func(t *testing.T, b []byte) {
		from, rs, err := unmarshalRequest(b)
		if err != nil {
			return
		}
		if _, rs2, err := unmarshalRequest(marshalRequest(from, rs)[1:]); err != nil || len(rs2) != len(rs) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func FuzzUnmarshalChanges(f *testing.F) {
	f.Add(marshalChanges("a", [][]byte{{1, 2, 3}})[1:])
	f.Fuzz(func(t *testing.T, b []byte) {
		unmarshalChanges(b)
	})
}

func FuzzParseMeta(f *testing.F) {
	f.Add(Meta{Role: "store", Location: "L", Region: "R"}.marshal())
	f.Fuzz(func(t *testing.T, b []byte) { ParseMeta(b) })
}

// TestForgedChangesAreRefused: a node with the gossip key but a
// certificate from another root is a member as far as memberlist goes, but
// what it signs is refused and logged everywhere.
func TestForgedChangesAreRefused(t *testing.T) {
	ctx := context.Background()
	tn := newTestNet(t)
	hq := tn.node(t, identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ}, tn.key, nil)
	store := tn.node(t, identity.CertRequest{NodeID: "store-a", Role: identity.RoleStore, Location: "A", Region: "R"}, tn.key, nil)
	rogueNet := &testNet{key: tn.key}
	rogueNet.root, _ = identity.NewRoot(rand.Reader)
	rogue := rogueNet.node(t, identity.CertRequest{NodeID: "rogue-hq", Role: identity.RoleHQ}, tn.key, nil)
	for _, n := range []*testNode{store, rogue} {
		if _, err := n.Join([]string{hq.addr()}); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "three members", func() bool { return len(store.Members()) == 3 })
	tpl, _ := json.Marshal(change.Template{Scope: "hq", Template: json.RawMessage(`{"name":"evil"}`)})
	if _, err := rogue.rep.Author(ctx, change.KindTemplate, "hq/evil", tpl); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the forged change to be refused", func() bool {
		rs, _ := store.store.FedRefusals(ctx, 10)
		return len(rs) > 0 && rs[0].Origin == "rogue-hq"
	})
	if has(store, change.KindTemplate, "hq/evil") || has(hq, change.KindTemplate, "hq/evil") {
		t.Fatal("a forged template was applied")
	}
}

// TestSecondNodeWithTheSameIdentityIsRefused: a join code used twice
// gives two nodes one identity; the network keeps the first, refuses the
// second and says so.
func TestSecondNodeWithTheSameIdentityIsRefused(t *testing.T) {
	tn := newTestNet(t)
	hq := tn.node(t, identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ}, tn.key, nil)
	req := identity.CertRequest{NodeID: "store-riverside", Role: identity.RoleStore, Location: "Riverside", Region: "North"}
	first := tn.node(t, req, tn.key, nil)
	if _, err := first.Join([]string{hq.addr()}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "headquarters sees the first store", func() bool { return hq.Memberlist().NumMembers() == 2 })
	second := tn.node(t, req, tn.key, nil)
	second.Join([]string{hq.addr()})
	eventually(t, "headquarters reports the conflict", func() bool { return hq.Stats().Conflicts.Load() > 0 })
	time.Sleep(time.Second)
	for _, m := range hq.Members() {
		if m.Name == req.NodeID && m.Address != first.addr() {
			t.Errorf("headquarters lists %s at %s, the second node's address; the first is %s", m.Name, m.Address, first.addr())
		}
	}
}
