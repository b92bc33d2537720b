package gossip

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"github.com/branchline/branchline/care/guidelines"
	"github.com/branchline/branchline/sync/change"
)

// LANBudget is what memberlist's LAN preset can send by gossip: three
// packets of 1,400 bytes every 200 ms.
const LANBudget = 3 * 1400 * 5

// TestEgress measures what each node sends, in one-second windows of fake
// time: while idle (probes, push/pull with the digest) and during a burst
// (headquarters publishes a pack, a crisis and forty templates while every
// store sends its day's figures). SIM_EGRESS=N runs it with N nodes (the
// suite runs 100).
func TestEgress(t *testing.T) {
	n := 100
	if v, err := strconv.Atoi(os.Getenv("SIM_EGRESS")); err == nil {
		n = v
	} else if testing.Short() {
		t.Skip("simulates a hundred nodes")
	}
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		s := newSim(t, n, 5)
		defer s.shutdown()
		s.joinAll(t, mrand.New(mrand.NewPCG(5, 1)))
		time.Sleep(2 * time.Minute) // joins settled

		// Idle: ten minutes, several push/pull rounds.
		const idle = 10 * time.Minute
		before := sent(s)
		time.Sleep(idle)
		after := sent(s)
		perNode := make([]float64, n)
		for i := range perNode {
			perNode[i] = float64(after[i].total-before[i].total) / idle.Seconds()
		}
		avg, top := mean(perNode), slices.Max(perNode)
		t.Logf("%d nodes idle: %.0f B/s sent per node on average (max %.0f B/s)", n, avg, top)
		if avg > 500 {
			t.Errorf("idle traffic %.0f B/s per node, the target is under 500 B/s", avg)
		}

		// Burst.
		windows := make(chan []float64, 1)
		go func() {
			worst := make([]float64, n) // per node, the busiest second's UDP bytes
			prev := sent(s)
			for range 60 {
				time.Sleep(time.Second)
				cur := sent(s)
				for i := range cur {
					worst[i] = max(worst[i], float64(cur[i].packets-prev[i].packets))
				}
				prev = cur
			}
			windows <- worst
		}()
		hq := s.nodes[0]
		if _, err := hq.rep.Author(ctx, change.KindGuideline, "copper-kettle", guidelines.DefaultJSON()); err != nil {
			t.Fatal(err)
		}
		crisis, _ := json.Marshal(change.Crisis{Title: "Recall", Statement: "We are aware of reports about our chicken and have paused sales while we check.", Keywords: []string{"chicken", "recall", "sick"}})
		if _, err := hq.rep.Author(ctx, change.KindCrisis, "recall", crisis); err != nil {
			t.Fatal(err)
		}
		for i := range 40 {
			tpl, _ := json.Marshal(change.Template{Scope: "hq", Template: json.RawMessage(fmt.Sprintf(`{"name":"Reply %d","body":"Hi {first_name}, thanks for telling us. We are sorry about your visit and the store manager will look into it today; please send us your order number in a private message."}`, i))})
			if _, err := hq.rep.Author(ctx, change.KindTemplate, fmt.Sprintf("hq/reply-%d", i), tpl); err != nil {
				t.Fatal(err)
			}
		}
		for _, node := range s.nodes[1:] {
			cert := node.rep.Self().Cert
			kpi, _ := json.Marshal(change.KPI{Location: cert.Location, Region: cert.Region, Day: "2026-11-21", Figures: map[string]float64{"received": 41, "answered": 39, "median_response_min": 23}})
			if _, err := node.rep.Author(ctx, change.KindKPI, cert.Location+"/2026-11-21", kpi); err != nil {
				t.Fatal(err)
			}
		}
		worst := <-windows
		waitSame(t, s.nodes, 5*time.Minute)
		t.Logf("%d nodes, burst of %d changes: busiest second %.0f B of UDP per node at most (median node %.0f B); memberlist's LAN gossip budget is %d B/s",
			n, 42+n-1, slices.Max(worst), median(worst), LANBudget)
		if top := slices.Max(worst); top > LANBudget {
			t.Errorf("a node sent %.0f B in one second, over the LAN budget of %d B/s", top, LANBudget)
		}
	})
}

type counts struct{ packets, total int64 }

func sent(s *sim) []counts {
	out := make([]counts, len(s.nodes))
	for i, n := range s.nodes {
		out[i] = counts{packets: n.t.PacketBytes.Load(), total: n.t.SentBytes()}
	}
	return out
}

func mean(v []float64) float64 {
	sum := 0.0
	for _, x := range v {
		sum += x
	}
	return sum / float64(len(v))
}

func median(v []float64) float64 {
	c := slices.Clone(v)
	slices.Sort(c)
	return c[len(c)/2]
}
