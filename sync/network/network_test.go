package network

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/branchline/branchline/models"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/gossip"
	"github.com/branchline/branchline/sync/identity"
	"github.com/branchline/branchline/sync/records"
)

// clock is a settable clock shared by the nodes of a test.
type clock struct{ t atomic.Pointer[time.Time] }

func newClock() *clock {
	c := &clock{}
	now := time.Now()
	c.t.Store(&now)
	return c
}

func (c *clock) Now() time.Time { return *c.t.Load() }

func (c *clock) Add(d time.Duration) {
	now := c.Now().Add(d)
	c.t.Store(&now)
}

// freeAddr finds a free loopback port.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func openRuntime(t *testing.T, ctx context.Context, dir string, clk *clock) *Runtime {
	t.Helper()
	store, err := models.Open(ctx, filepath.Join(dir, "branchline.db"), models.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	rt, err := Open(ctx, dir, store, nil, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func start(t *testing.T, ctx context.Context, rt *Runtime) {
	t.Helper()
	if err := rt.Start(ctx, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Stop)
}

// invite makes a store at a new data folder and starts it.
func invite(t *testing.T, ctx context.Context, hqDir string, hq *Runtime, location string, clk *clock) *Runtime {
	t.Helper()
	code, _, err := Invite(ctx, hqDir, hq.Book, InviteRequest{Role: identity.RoleStore, Location: location, Region: "North"}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := Join(dir, code, freeAddr(t), "", "lan", clk.Now()); err != nil {
		t.Fatal(err)
	}
	rt := openRuntime(t, ctx, dir, clk)
	start(t, ctx, rt)
	return rt
}

// eventually waits up to a minute: on a loaded machine a lost broadcast
// waits for the next push/pull (every 30 s with the LAN preset).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// reaches publishes a crisis at headquarters and waits for every node to
// hold it.
func reaches(t *testing.T, ctx context.Context, hq *Runtime, nodes ...*Runtime) {
	t.Helper()
	title := fmt.Sprintf("check %d", time.Now().UnixNano())
	if _, err := hq.Book.PublishCrisis(ctx, change.Crisis{Title: title, Statement: "s", Keywords: []string{"k"}}); err != nil {
		t.Fatal(err)
	}
	head, _ := hq.Rep.Digest(ctx)
	for _, n := range nodes {
		eventually(t, n.Self.Cert.NodeID+" holds "+title, func() bool {
			d, _ := n.Rep.Digest(ctx)
			return d.Heads["hq"] >= head.Heads["hq"]
		})
	}
}

func keysOf(t *testing.T, rt *Runtime) [][]byte {
	t.Helper()
	cfg, err := LoadConfig(rt.dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg.Keys
}

// TestKeyRotation rotates the gossip key on a running network of real
// memberlist nodes on loopback: every node installs the new key, uses it,
// drops the old one, and the network keeps working throughout; a node
// invited mid-rotation gets the key too; the old key no longer opens the
// door.
func TestKeyRotation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs gossip on loopback")
	}
	ctx := context.Background()
	clk := newClock()
	hqDir := t.TempDir()
	if _, err := InitHQ(hqDir, "HQ", freeAddr(t), "", "lan", clk.Now()); err != nil {
		t.Fatal(err)
	}
	hq := openRuntime(t, ctx, hqDir, clk)
	start(t, ctx, hq)
	a := invite(t, ctx, hqDir, hq, "A", clk)
	b := invite(t, ctx, hqDir, hq, "B", clk)
	eventually(t, "headquarters' directory lists both stores", func() bool {
		d, _ := hq.Book.Directory(ctx)
		return len(d) == 3
	})
	oldKey := hq.Config.Keys[0]

	newKey, _ := identity.NewGossipKey()
	now := clk.Now()
	if _, err := hq.Book.RotateKey(ctx, newKey, now.Add(time.Hour), now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := hq.Book.RotateKey(ctx, newKey, now.Add(time.Hour), now.Add(2*time.Hour)); err == nil {
		t.Error("a second rotation during the first was accepted")
	}
	// Invited mid-rotation: its code carries the old key; the rotation is
	// sealed again for it.
	c := invite(t, ctx, hqDir, hq, "C", clk)
	all := []*Runtime{hq, a, b, c}
	for _, n := range all {
		eventually(t, n.Self.Cert.NodeID+" can open the new key", func() bool {
			r, _ := n.Book.KeyRotation(ctx)
			return r != nil && bytes.Equal(r.Key, newKey)
		})
	}

	steps := []struct {
		name string
		at   time.Duration
		want [][]byte
	}{
		{"installed", 0, [][]byte{oldKey, newKey}},
		{"in use", time.Hour, [][]byte{newKey, oldKey}},
		{"complete", 2 * time.Hour, [][]byte{newKey}},
	}
	for _, st := range steps {
		clk.t.Store(ptr(now.Add(st.at)))
		for _, n := range all {
			if err := n.ReconcileKeys(ctx, nil); err != nil {
				t.Fatalf("%s: %s: %v", st.name, n.Self.Cert.NodeID, err)
			}
			if got := keysOf(t, n); !equalKeys(got, st.want) {
				t.Fatalf("%s: %s holds %d keys, not the expected ones", st.name, n.Self.Cert.NodeID, len(got))
			}
		}
		t.Logf("%s: every node holds the expected keys", st.name)
		reaches(t, ctx, hq, a, b, c)
	}

	// The old key alone no longer gets anyone in.
	stranger, err := gossip.Start(ctx, gossip.Config{Name: "old-key", BindAddr: "127.0.0.1", Keys: [][]byte{oldKey},
		Label: hq.Config.Label(), Preset: "local"}, a.Rep)
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Shutdown()
	if _, err := stranger.Join([]string{hq.Config.Bind}); err == nil {
		t.Error("a node with the retired key joined")
	}
	for _, m := range hq.Gossip.Members() {
		if m.Name == "old-key" {
			t.Error("headquarters lists the node with the retired key")
		}
	}
	// The same node with the new key gets in: the refusal was the key's.
	holder, err := gossip.Start(ctx, gossip.Config{Name: "new-key", BindAddr: "127.0.0.1", Keys: [][]byte{newKey},
		Label: hq.Config.Label(), Preset: "local"}, a.Rep)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Shutdown()
	if _, err := holder.Join([]string{hq.Config.Bind}); err != nil {
		t.Errorf("a node with the new key could not join: %v", err)
	}
}

func ptr[T any](v T) *T { return &v }

func equalKeys(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func TestKeyring(t *testing.T) {
	k1, k2, k3 := []byte("k1"), []byte("k2"), []byte("k3")
	t0 := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	rot := &records.KeyRotation{Epoch: 2, UseAt: t0.Add(time.Hour), RetireAt: t0.Add(2 * time.Hour), Key: k2}
	tests := []struct {
		name string
		held [][]byte
		r    *records.KeyRotation
		at   time.Time
		want [][]byte
	}{
		{"no rotation", [][]byte{k1}, nil, t0, [][]byte{k1}},
		{"not sealed for this node", [][]byte{k1}, &records.KeyRotation{Epoch: 2, UseAt: t0, RetireAt: t0}, t0, [][]byte{k1}},
		{"before use: added second", [][]byte{k1}, rot, t0, [][]byte{k1, k2}},
		{"at use: primary", [][]byte{k1, k2}, rot, t0.Add(time.Hour), [][]byte{k2, k1}},
		{"at retire: alone", [][]byte{k2, k1}, rot, t0.Add(2 * time.Hour), [][]byte{k2}},
		{"joined with the new key", [][]byte{k2}, rot, t0, [][]byte{k2}},
		{"back after the use time", [][]byte{k1}, rot, t0.Add(90 * time.Minute), [][]byte{k2, k1}},
		{"older keys kept until retire", [][]byte{k3, k1}, rot, t0, [][]byte{k3, k1, k2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Keyring(tt.held, tt.r, tt.at); !equalKeys(got, tt.want) {
				t.Errorf("Keyring = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPresetAndAddresses(t *testing.T) {
	now := time.Now()
	tests := []struct {
		bind, advertise, preset string
		ok                      bool
	}{
		{"127.0.0.1:7946", "", "lan", true},
		{"127.0.0.1:7946", "", "", true},
		{"127.0.0.1:7946", "10.0.0.5:7946", "wan", true},
		{"127.0.0.1:7946", "", "fast", false},
		{"127.0.0.1", "", "lan", false},
		{":7946", "", "lan", false},
		{"127.0.0.1:x", "", "lan", false},
		{"127.0.0.1:7946", "nowhere", "lan", false},
	}
	for i, tt := range tests {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dir := t.TempDir()
			_, err := InitHQ(dir, "HQ", tt.bind, tt.advertise, tt.preset, now)
			if (err == nil) != tt.ok {
				t.Fatalf("InitHQ(%q, %q, %q) error %v, want ok=%v", tt.bind, tt.advertise, tt.preset, err, tt.ok)
			}
			if err != nil {
				if IsMember(dir) {
					t.Error("a refused set-up left a network.json behind")
				}
				return
			}
			cfg, err := LoadConfig(dir)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.preset
			if want == "" {
				want = "lan"
			}
			if cfg.Preset != want || cfg.Advertise != tt.advertise {
				t.Errorf("saved preset %q advertise %q", cfg.Preset, cfg.Advertise)
			}
		})
	}
}
