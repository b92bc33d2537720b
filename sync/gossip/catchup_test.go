package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

// TestCatchUpBytes takes a store off the network while the others make
// 2,000 changes of every kind, brings it back, and counts every byte the
// store sends and receives until it holds what it missed. The target:
// at most 1.1 × the encoded size of what it missed plus its digest.
func TestCatchUpBytes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newSimFor(t, append(smallBrand(),
			identity.CertRequest{NodeID: "store-away", Role: identity.RoleStore, Location: "Away", Region: "North"}), 11)
		defer s.shutdown()
		s.joinAll(t, mrand.New(mrand.NewPCG(11, 1)))
		away := s.nodes[4]
		away.KeepJoined(ctx, func() []string { return []string{s.nodes[0].t.Addr()} }, 10*time.Second)
		authors := s.nodes[:4]
		w := newWorkload(12)

		// Some shared history first, held by every node.
		for range 300 {
			if err := w.write(ctx, authors); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitSame(t, s.nodes, 5*time.Minute)

		// The store drops off; the others carry on.
		s.net.SetPartition(func(a, b string) bool { return a == away.t.Addr() || b == away.t.Addr() })
		time.Sleep(time.Minute)
		before, _ := away.rep.Digest(ctx)
		for range 2000 {
			if err := w.write(ctx, authors); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
		}
		waitSame(t, authors, 10*time.Minute)
		for _, n := range authors { // a week later: nothing left to gossip
			for n.queue.NumQueued() > 0 {
				time.Sleep(time.Second)
			}
		}
		if k := w.kinds(); len(k) != 10 {
			t.Fatalf("the workload made %d kinds of change, want all 10: %v", len(k), k)
		}

		var missed, full int
		heads, _ := s.nodes[0].store.FedHeads(ctx)
		for origin, head := range heads {
			raws, _ := s.nodes[0].store.FedRange(ctx, origin, 1, head, 0)
			for i, raw := range raws {
				full += len(raw)
				if uint64(i+1) > before.Heads[origin] {
					missed += len(raw)
				}
			}
		}
		digest := len(before.Marshal())

		// Back online, over a LAN's latency. The node reports its catch-up
		// while it lasts.
		sent0, recv0 := away.t.SentBytes(), away.t.ReceivedBytes()
		s.net.SetLatency(2 * time.Millisecond)
		s.net.SetPartition(nil)
		start := time.Now()
		var most uint64
		watching, stop := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(watching)
			for {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
				if n, err := away.CatchingUp(ctx); err == nil {
					most = max(most, n)
				}
			}
		}()
		waitSame(t, []*simNode{s.nodes[0], away}, 5*time.Minute)
		took := time.Since(start)
		close(stop)
		<-watching
		if left, _ := away.CatchingUp(ctx); most == 0 || left != 0 {
			t.Errorf("catching up: at most %d changes reported on their way, %d left after", most, left)
		}
		t.Logf("catch-up reported up to %d changes on their way", most)
		used := int(away.t.SentBytes()-sent0) + int(away.t.ReceivedBytes()-recv0)
		ratio := float64(used) / float64(missed+digest)
		t.Logf("caught up with 2000 missed changes (%d bytes encoded, digest %d bytes) in %s: %d bytes sent and received, ratio %.3f; the full state is %d bytes (%.2f×)",
			missed, digest, took, used, ratio, full, float64(full)/float64(missed+digest))
		if ratio > 1.1 {
			t.Errorf("catching up took %.3f× what was missed plus the digest; the target is 1.1×", ratio)
		}
	})
}

// waitSame waits until the nodes hold the same changes.
func waitSame(t *testing.T, nodes []*simNode, limit time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(limit)
	for {
		first, _ := nodes[0].store.FedHeads(ctx)
		same := true
		for _, n := range nodes[1:] {
			h, _ := n.store.FedHeads(ctx)
			if fmt.Sprint(h) != fmt.Sprint(first) {
				same = false
				break
			}
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nodes still differ after %s", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// workload writes a mix of every kind of change, in roughly the
// proportions of a busy week: figures and escalation traffic from the
// stores, statuses from the region and headquarters, templates, a few
// guideline versions and crises.
type workload struct {
	r      *mrand.Rand
	seen   map[change.Kind]int
	crises []string
	escs   []string
	pack   map[string]any
}

func newWorkload(seed uint64) *workload {
	w := &workload{r: mrand.New(mrand.NewPCG(seed, 7)), seen: map[change.Kind]int{}}
	json.Unmarshal(guidelines.DefaultJSON(), &w.pack)
	return w
}

func (w *workload) kinds() map[change.Kind]int { return w.seen }

func (w *workload) sealed(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(w.r.Uint32())
	}
	return b
}

func (w *workload) text(words int) string {
	vocab := strings.Fields("thanks for telling us about your visit we are sorry the fries were cold and the order took too long " +
		"please send us a message with your order number so the manager can make it right today see you soon")
	out := make([]string, words)
	for i := range out {
		out[i] = vocab[w.r.IntN(len(vocab))]
	}
	return strings.Join(out, " ")
}

// write makes one change by one of hq, the region and two stores.
func (w *workload) write(ctx context.Context, authors []*simNode) error {
	hq, region, stores := authors[0], authors[1], authors[2:]
	store := stores[w.r.IntN(len(stores))]
	cert := store.rep.Self().Cert
	var (
		kind change.Kind
		err  error
	)
	author := func(n *simNode, k change.Kind, key string, body any) {
		kind = k
		b, _ := json.Marshal(body)
		var c *change.Change
		c, err = n.rep.Author(ctx, k, key, b)
		if err == nil && k == change.KindCrisis {
			w.crises = append(w.crises, c.Key)
		}
	}
	day := fmt.Sprintf("2026-%02d-%02d", 1+w.r.IntN(12), 1+w.r.IntN(28))
	switch p := w.r.IntN(100); {
	case p < 30:
		author(store, change.KindKPI, cert.Location+"/"+day, change.KPI{Location: cert.Location, Region: cert.Region, Day: day,
			Figures: map[string]float64{"received": float64(w.r.IntN(90)), "answered": float64(w.r.IntN(90)), "median_response_min": float64(w.r.IntN(300)), "sentiment": w.r.Float64()*2 - 1}})
	case p < 45:
		kind = change.KindEscalation
		var c *change.Change
		c, err = store.rep.AuthorWith(ctx, change.KindEscalation, func(seq uint64) (string, []byte, error) {
			b, _ := json.Marshal(change.Escalation{Location: cert.Location, Region: cert.Region, Level: change.LevelRegion,
				Severity: "high", Category: "food_safety", Sealed: w.sealed(3 * (48 + 220))})
			return change.EscalationKey(cert.NodeID, seq), b, nil
		})
		if err == nil {
			w.escs = append(w.escs, c.Key)
		}
	case p < 60 && len(w.escs) > 0:
		author(stores[w.r.IntN(len(stores))], change.KindEscalationComment, w.escs[w.r.IntN(len(w.escs))],
			change.EscalationComment{Sealed: w.sealed(3 * (48 + 90))})
	case p < 72 && len(w.escs) > 0:
		by := region
		if w.r.IntN(3) == 0 {
			by = hq
		}
		author(by, change.KindEscalationStatus, w.escs[w.r.IntN(len(w.escs))],
			change.EscalationStatus{Region: "North", Stage: change.Stages[1+w.r.IntN(3)], Sealed: w.sealed(3 * (48 + 60))})
	case p < 82:
		tpl, _ := json.Marshal(map[string]any{"name": w.text(3), "body": w.text(40), "tags": []string{"complaint", "delivery"}})
		if w.r.IntN(2) == 0 {
			author(hq, change.KindTemplate, fmt.Sprintf("hq/t%d", w.r.IntN(200)), change.Template{Scope: "hq", Template: tpl})
		} else {
			author(region, change.KindTemplate, fmt.Sprintf("region:North/t%d", w.r.IntN(50)), change.Template{Scope: "region:North", Template: tpl})
		}
	case p < 84:
		w.pack["version"] = w.r.IntN(1000) + 2
		w.pack["title"] = "Copper Kettle guidelines: " + w.text(4)
		author(hq, change.KindGuideline, "copper-kettle", w.pack)
	case p < 86:
		author(hq, change.KindCrisis, fmt.Sprintf("crisis-%d", w.r.IntN(1000)), change.Crisis{Title: w.text(5), Statement: w.text(50), Keywords: strings.Fields(w.text(6))})
	case p < 92 && len(w.crises) > 0:
		author(store, change.KindCrisisAck, w.crises[w.r.IntN(len(w.crises))], change.CrisisAck{Location: cert.Location, Region: cert.Region})
	case p < 96:
		n := authors[w.r.IntN(len(authors))]
		author(n, change.KindNode, n.rep.Self().Cert.NodeID, change.Node{Name: w.text(3), Address: n.t.Addr(), Version: "1.0"})
	case p < 97:
		author(hq, change.KindRevocation, fmt.Sprintf("store-gone-%d", w.r.IntN(100)), change.Revocation{UpTo: uint64(w.r.IntN(50)), Reason: w.text(5)})
	default:
		author(store, change.KindKPI, cert.Location+"/"+day, change.KPI{Location: cert.Location, Region: cert.Region, Day: day,
			Figures: map[string]float64{"received": float64(w.r.IntN(90))}})
	}
	if err != nil {
		return fmt.Errorf("%s: %w", kind, err)
	}
	w.seen[kind]++
	return nil
}
