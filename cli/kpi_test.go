package cli

import (
	"strings"
	"testing"
)

func TestKPIOnTheDemoData(t *testing.T) {
	dir := demoCopy(t)
	res := runCLI(t, dir, "", "kpi", "--json", "--from", "2026-11-01", "--to", "2026-11-22")
	if res.code != ExitOK {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var rep struct {
		Scope  string `json:"scope"`
		Name   string `json:"name"`
		From   string `json:"from"`
		To     string `json:"to"`
		Exact  bool   `json:"percentiles_exact"`
		Totals struct {
			Received      int            `json:"received"`
			NeedsResponse int            `json:"needs_response"`
			Answered      int            `json:"answered"`
			ResponseRate  *float64       `json:"response_rate"`
			Median        *float64       `json:"first_response_median_minutes"`
			P90           *float64       `json:"first_response_p90_minutes"`
			WithinTarget  *float64       `json:"within_target_share"`
			ByChannel     map[string]int `json:"by_channel"`
			Sentiment     map[string]int `json:"sentiment"`
		} `json:"totals"`
		Daily []struct {
			Day      string `json:"day"`
			Received int    `json:"received"`
		} `json:"daily"`
	}
	res.decode(t, &rep)
	if rep.Scope != "location" || rep.Name != "Copper Kettle Riverside" || rep.From != "2026-11-01" || rep.To != "2026-11-22" || !rep.Exact {
		t.Fatalf("report header: %+v", rep)
	}
	tot := rep.Totals
	if tot.Received == 0 || tot.NeedsResponse == 0 || tot.Answered == 0 || tot.Answered > tot.NeedsResponse || tot.NeedsResponse > tot.Received {
		t.Fatalf("totals do not hold together: %+v", tot)
	}
	if tot.ResponseRate == nil || *tot.ResponseRate != float64(tot.Answered)/float64(tot.NeedsResponse) {
		t.Errorf("response rate %v for %d of %d", tot.ResponseRate, tot.Answered, tot.NeedsResponse)
	}
	if tot.Median == nil || tot.P90 == nil || *tot.Median > *tot.P90 || tot.WithinTarget == nil {
		t.Errorf("response times: median %v, p90 %v, within %v", tot.Median, tot.P90, tot.WithinTarget)
	}
	sum := func(m map[string]int) (n int) {
		for _, v := range m {
			n += v
		}
		return n
	}
	daily := 0
	for _, d := range rep.Daily {
		if d.Day < "2026-11-01" || d.Day > "2026-11-22" {
			t.Errorf("day %s outside the range", d.Day)
		}
		daily += d.Received
	}
	if sum(tot.ByChannel) != tot.Received || sum(tot.Sentiment) != tot.Received || daily != tot.Received {
		t.Errorf("received %d, by channel %d, by sentiment %d, by day %d", tot.Received, sum(tot.ByChannel), sum(tot.Sentiment), daily)
	}

	// The text form says the same.
	text := runCLI(t, dir, "", "kpi", "--from", "2026-11-01", "--to", "2026-11-22")
	if text.code != ExitOK || !strings.Contains(text.stdout, "Copper Kettle Riverside") || !strings.Contains(text.stdout, "First response") {
		t.Errorf("text output (exit %d): %s%s", text.code, text.stdout, text.stderr)
	}
}

func TestKPIUsageErrors(t *testing.T) {
	dir := demoCopy(t)
	for _, args := range [][]string{
		{"kpi", "--location", "A", "--region", "B"},
		{"kpi", "--from", "2026-13-01"},
		{"kpi", "--from", "2026-11-20", "--to", "2026-11-01"},
		{"kpi", "--days", "0"},
	} {
		res := runCLI(t, dir, "", args...)
		if res.code != ExitUsage || strings.Count(res.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q", args, res.code, res.stderr)
		}
	}
	res := runCLI(t, dir, "", "kpi", "--location", "Nowhere")
	if res.code != ExitFailure || !strings.Contains(res.stderr, "Nowhere") {
		t.Errorf("an unknown location: exit %d, stderr %q", res.code, res.stderr)
	}
}
