package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"reflect"
	"testing"
	"testing/synctest"
	"time"

	"github.com/branchline/branchline/sync/change"
	"github.com/branchline/branchline/sync/identity"
)

// TestChaosConverges cuts the network into random parts again and again
// while every node writes, with packet loss throughout; after the network
// heals, every node holds the same changes and the same current values,
// and no change is lost.
func TestChaosConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 16
		r := mrand.New(mrand.NewPCG(42, 1))
		s := newSim(t, n, 42)
		defer s.shutdown()
		s.joinAll(t, r)
		time.Sleep(10 * time.Second)
		s.net.SetLoss(0.05)
		ctx := context.Background()
		written := map[string]uint64{}
		for round := range 12 {
			// A random cut into two or three parts.
			parts := 2 + r.IntN(2)
			group := map[string]int{}
			for _, node := range s.nodes {
				group[node.t.Addr()] = r.IntN(parts)
			}
			s.net.SetPartition(func(a, b string) bool { return group[a] != group[b] })
			for range 20 {
				node := s.nodes[r.IntN(n)]
				if err := write(ctx, node, r, round); err != nil {
					t.Fatal(err)
				}
				written[node.rep.Self().Cert.NodeID]++
				time.Sleep(time.Duration(r.IntN(300)) * time.Millisecond)
			}
			time.Sleep(time.Duration(1+r.IntN(5)) * time.Second)
		}
		s.net.SetPartition(nil)
		s.net.SetLoss(0)
		// Push/pull every 30 s (LAN) repairs what gossip lost.
		deadline := time.Now().Add(10 * time.Minute)
		for {
			if same, why := converged(s, written); same {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("not converged after healing: %s", why)
			}
			time.Sleep(5 * time.Second)
		}
	})
}

// write makes one random change by node: a store's figures or an
// escalation, headquarters' template.
func write(ctx context.Context, node *simNode, r *mrand.Rand, round int) error {
	cert := node.rep.Self().Cert
	if cert.Role == identity.RoleHQ {
		body, _ := json.Marshal(change.Template{Scope: "hq", Template: json.RawMessage(fmt.Sprintf(`{"name":"t","body":"round %d"}`, round))})
		_, err := node.rep.Author(ctx, change.KindTemplate, fmt.Sprintf("hq/t%d", r.IntN(4)), body)
		return err
	}
	if r.IntN(3) == 0 {
		body, _ := json.Marshal(change.Escalation{Location: cert.Location, Region: cert.Region, Level: change.LevelRegion,
			Severity: "high", Category: "complaint", Sealed: []byte{1}})
		_, err := node.rep.AuthorWith(ctx, change.KindEscalation, func(seq uint64) (string, []byte, error) {
			return change.EscalationKey(cert.NodeID, seq), body, nil
		})
		return err
	}
	day := fmt.Sprintf("2026-11-%02d", 1+r.IntN(20))
	body, _ := json.Marshal(change.KPI{Location: cert.Location, Region: cert.Region, Day: day, Figures: map[string]float64{"received": float64(r.IntN(50))}})
	_, err := node.rep.Author(ctx, change.KindKPI, cert.Location+"/"+day, body)
	return err
}

func converged(s *sim, written map[string]uint64) (bool, string) {
	ctx := context.Background()
	first, _ := s.nodes[0].store.FedHeads(ctx)
	for origin, count := range written {
		if first[origin] != count {
			return false, fmt.Sprintf("node 0 holds %d of %s's %d changes", first[origin], origin, count)
		}
	}
	for i, node := range s.nodes[1:] {
		h, _ := node.store.FedHeads(ctx)
		if !reflect.DeepEqual(h, first) {
			return false, fmt.Sprintf("node %d heads %v differ from %v", i+1, h, first)
		}
	}
	// Same winners for every record.
	for origin := range written {
		for seq := uint64(1); seq <= written[origin]; seq++ {
			raws, _ := s.nodes[0].store.FedRange(ctx, origin, seq, seq, 1)
			c, _ := change.Unmarshal(raws[0])
			w0, _ := s.nodes[0].store.State(uint8(c.Kind), c.Key)
			for i, node := range s.nodes[1:] {
				w, _ := node.store.State(uint8(c.Kind), c.Key)
				if w.Origin != w0.Origin || w.Seq != w0.Seq {
					return false, fmt.Sprintf("node %d: %s/%s won by %s/%d, node 0 says %s/%d", i+1, c.Kind, c.Key, w.Origin, w.Seq, w0.Origin, w0.Seq)
				}
			}
		}
	}
	return true, ""
}
