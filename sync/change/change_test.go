package change

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/sync/identity"
)

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

type network struct {
	root                      identity.Root
	hq, region, store, store2 *identity.Identity
}

func newNetwork(t testing.TB) *network {
	t.Helper()
	root, _ := identity.NewRoot(rand.Reader)
	issue := func(r identity.CertRequest) *identity.Identity {
		id, err := root.Issue(r, now.Add(-time.Hour), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	return &network{root: root,
		hq:     issue(identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ}),
		region: issue(identity.CertRequest{NodeID: "region-pnw", Role: identity.RoleRegion, Region: "PNW"}),
		store:  issue(identity.CertRequest{NodeID: "store-riverside", Role: identity.RoleStore, Location: "Riverside", Region: "PNW"}),
		store2: issue(identity.CertRequest{NodeID: "store-harbor", Role: identity.RoleStore, Location: "Harbor", Region: "Coast"}),
	}
}

func body(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// TestVerifyRefusesWhatItMust is the refusal matrix: forged, tampered,
// wrong-root, future-dated, stale, wrong-role and revoked changes are all
// refused with their own reason; good ones pass.
func TestVerifyRefusesWhatItMust(t *testing.T) {
	n := newNetwork(t)
	outsider, _ := identity.NewRoot(rand.Reader)
	stranger, _ := outsider.Issue(identity.CertRequest{NodeID: "hq", Role: identity.RoleHQ}, now, rand.Reader)
	pack := guidelines.DefaultJSON()
	esc := body(Escalation{Location: "Riverside", Region: "PNW", Level: LevelHQ, Severity: "high", Category: "food_safety", Sealed: []byte{1}})

	tampered := New(n.hq, 1, KindGuideline, "copper-kettle", pack, now)
	tampered.Key = "other"
	swapped := New(n.store, 5, KindKPI, "Riverside/2026-11-21", body(KPI{Location: "Riverside", Day: "2026-11-21"}), now)
	swapped.Cert = n.store2.Cert.Marshal() // another node's certificate

	tests := []struct {
		name string
		c    *Change
		want error
	}{
		{"hq publishes a pack", New(n.hq, 1, KindGuideline, "copper-kettle", pack, now), nil},
		{"store escalates for itself", New(n.store, 2, KindEscalation, EscalationKey("store-riverside", 2), esc, now), nil},
		{"region escalates for its store", New(n.region, 3, KindEscalation, EscalationKey("region-pnw", 3), esc, now), nil},
		{"store publishes its figures", New(n.store, 4, KindKPI, "Riverside/2026-11-21", body(KPI{Location: "Riverside", Day: "2026-11-21"}), now), nil},
		{"region publishes a template for its region", New(n.region, 5, KindTemplate, "region:PNW/x", body(Template{Scope: "region:PNW", Template: json.RawMessage(`{}`)}), now), nil},
		{"forged: signed by another root's hq", New(stranger, 1, KindGuideline, "copper-kettle", pack, now), ErrCert},
		{"tampered after signing", tampered, ErrSignature},
		{"another node's certificate", swapped, ErrCert},
		{"dated in the future", New(n.hq, 2, KindGuideline, "copper-kettle", pack, now.Add(time.Hour)), ErrFuture},
		{"dated before the certificate", New(n.hq, 3, KindGuideline, "copper-kettle", pack, now.Add(-48*time.Hour)), ErrStale},
		{"store writes a guideline", New(n.store, 6, KindGuideline, "copper-kettle", pack, now), ErrRole},
		{"region writes an hq template", New(n.region, 7, KindTemplate, "hq/x", body(Template{Scope: "hq"}), now), ErrRole},
		{"region writes another region's template", New(n.region, 8, KindTemplate, "region:Coast/x", body(Template{Scope: "region:Coast"}), now), ErrRole},
		{"store escalates for another store", New(n.store2, 9, KindEscalation, EscalationKey("store-harbor", 9), esc, now), ErrRole},
		{"store sets a status", New(n.store, 10, KindEscalationStatus, "x:1", body(EscalationStatus{Region: "PNW", Stage: "resolved"}), now), ErrRole},
		{"region sets another region's status", New(n.region, 11, KindEscalationStatus, "x:1", body(EscalationStatus{Region: "Coast", Stage: "resolved"}), now), ErrRole},
		{"store publishes another's figures", New(n.store, 12, KindKPI, "Harbor/2026-11-21", body(KPI{Location: "Harbor", Day: "2026-11-21"}), now), ErrRole},
		{"store broadcasts a crisis", New(n.store, 13, KindCrisis, "c1", body(Crisis{Title: "x"}), now), ErrRole},
		{"store revokes a node", New(n.store, 14, KindRevocation, "hq", body(Revocation{}), now), ErrRole},
		{"store writes hq's directory entry", New(n.store, 15, KindNode, "hq", body(Node{}), now), ErrRole},
		{"invalid pack", New(n.hq, 4, KindGuideline, "copper-kettle", []byte(`{"schema":1}`), now), ErrBody},
		{"escalation under a borrowed key", New(n.store, 16, KindEscalation, "store-riverside:1", esc, now), ErrBody},
		{"hq rotates the gossip key", New(n.hq, 5, KindGossipKey, GossipKeyRecord, body(GossipKey{Epoch: 1, UseAt: now, RetireAt: now.Add(time.Hour), Sealed: []byte{1}}), now), nil},
		{"region rotates the gossip key", New(n.region, 17, KindGossipKey, GossipKeyRecord, body(GossipKey{Epoch: 1, UseAt: now, RetireAt: now, Sealed: []byte{1}}), now), ErrRole},
		{"gossip key retired before use", New(n.hq, 6, KindGossipKey, GossipKeyRecord, body(GossipKey{Epoch: 1, UseAt: now, RetireAt: now.Add(-time.Hour), Sealed: []byte{1}}), now), ErrBody},
		{"revoked author", New(n.store2, 50, KindCrisisAck, "c1", body(CrisisAck{Location: "Harbor"}), now), ErrRevoked},
	}
	v := &Verifier{Root: n.root.Public(), Now: func() time.Time { return now },
		Revoked: func(id string) (uint64, bool) { return 10, id == "store-harbor" }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Through the wire, as peers see it.
			c, err := Unmarshal(tt.c.Marshal())
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestSealOpensOnlyForReaders(t *testing.T) {
	n := newNetwork(t)
	secret := []byte(`{"note":"customer says she got sick","excerpt":"Jess: I was sick all night"}`)
	sealed, err := Seal(secret, [][32]byte{n.hq.Cert.BoxKey, n.store.Cert.BoxKey, n.region.Cert.BoxKey})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []*identity.Identity{n.hq, n.store, n.region} {
		got, err := Open(sealed, id.Cert.BoxKey, id.BoxKey)
		if err != nil || string(got) != string(secret) {
			t.Errorf("%s: %v", id.Cert.NodeID, err)
		}
	}
	if _, err := Open(sealed, n.store2.Cert.BoxKey, n.store2.BoxKey); !errors.Is(err, ErrNotReader) {
		t.Errorf("another store opened it: %v", err)
	}
	sealed[len(sealed)-1] ^= 1
	if _, err := Open(sealed, n.hq.Cert.BoxKey, n.hq.BoxKey); err == nil {
		t.Error("tampered content opened")
	}
}

func FuzzUnmarshal(f *testing.F) {
	n := newNetwork(f)
	f.Add(New(n.hq, 1, KindGuideline, "copper-kettle", guidelines.DefaultJSON(), now).Marshal())
	f.Add(New(n.store, 2, KindKPI, "Riverside/2026-11-21", body(KPI{Location: "Riverside", Day: "2026-11-21"}), now).Marshal())
	v := &Verifier{Root: n.root.Public(), Now: func() time.Time { return now }}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Unmarshal(b)
		if err != nil {
			return
		}
		again, err := Unmarshal(c.Marshal())
		if err != nil || again.ID() != c.ID() {
			t.Fatalf("round trip: %v", err)
		}
		v.Verify(c) // must not panic
	})
}

func FuzzOpen(f *testing.F) {
	n := newNetwork(f)
	sealed, _ := Seal([]byte("hello"), [][32]byte{n.hq.Cert.BoxKey})
	f.Add(sealed)
	f.Fuzz(func(t *testing.T, b []byte) {
		Open(b, n.hq.Cert.BoxKey, n.hq.BoxKey)
	})
}
