package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/branchline/branchline/care/kpi"
	"github.com/branchline/branchline/node"
	"github.com/branchline/branchline/sync/network"
)

func init() {
	commands = append(commands, command{"kpi", "[--location L | --region R | --brand] [--from DATE --to DATE | --days N]",
		"response times, response rate, sentiment and volume: a location's, a region's or the brand's", runKPI})
}

func runKPI(ctx context.Context, c *cmdCtx) error {
	var q node.KPIQuery
	c.fs.StringVar(&q.Location, "location", "", "a location (default: this store)")
	c.fs.StringVar(&q.Region, "region", "", "a region")
	c.fs.BoolVar(&q.Brand, "brand", false, "the whole brand")
	c.fs.StringVar(&q.From, "from", "", "first day, YYYY-MM-DD")
	c.fs.StringVar(&q.To, "to", "", "last day, YYYY-MM-DD (default: today)")
	days := c.fs.Int("days", 30, "with no --from: this many days up to --to")
	if _, err := c.parse(0, 0); err != nil {
		return err
	}
	scopes := 0
	for _, set := range []bool{q.Location != "", q.Region != "", q.Brand} {
		if set {
			scopes++
		}
	}
	if scopes > 1 {
		return usagef("kpi: give one of --location, --region and --brand")
	}
	if *days < 1 || *days > 3660 {
		return usagef("kpi: --days must be between 1 and 3660, got %d", *days)
	}
	for name, v := range map[string]string{"--from": q.From, "--to": q.To} {
		if _, err := time.Parse(time.DateOnly, v); v != "" && err != nil {
			return usagef("kpi: %s %q is not a date like 2026-11-01", name, v)
		}
	}
	n, err := c.open(ctx, node.Options{NoDemo: network.IsMember(dataDirOrEmpty(c))})
	if err != nil {
		return err
	}
	zone := time.Local
	if n.Desk != nil {
		zone = n.Desk.Location().Zone()
	}
	if q.To == "" {
		q.To = c.env.Now().In(zone).Format(time.DateOnly)
	}
	if q.From == "" {
		to, _ := time.Parse(time.DateOnly, q.To)
		q.From = to.AddDate(0, 0, -(*days - 1)).Format(time.DateOnly)
	}
	if q.From > q.To {
		return usagef("kpi: --from %s is after --to %s", q.From, q.To)
	}
	rep, err := n.KPI(ctx, q)
	if err != nil {
		return err
	}
	if c.json {
		return c.printJSON(rep)
	}
	printReport(c, rep)
	return nil
}

func printReport(c *cmdCtx, r kpi.Report) {
	name := r.Name
	if r.Scope == "brand" {
		name = "the whole brand"
	}
	c.printf("Figures of %s (%s), %s to %s", name, r.Scope, r.From, r.To)
	if r.Scope != "location" {
		c.printf(", %d locations", r.Locations)
	}
	c.printf("\n\n")
	t := r.Totals
	c.printf("  Received            %d\n", t.Received)
	c.printf("  Needing a response  %d\n", t.NeedsResponse)
	c.printf("  Answered            %d (%s)\n", t.Answered, kpi.Share(t.ResponseRate))
	c.printf("  First response      median %s, 90th percentile %s (in opening hours)\n", kpi.Minutes(t.MedianMinutes), kpi.Minutes(t.P90Minutes))
	c.printf("  Within target       %s", kpi.Share(t.WithinTarget))
	if r.TargetMinutes > 0 {
		c.printf(" (target %.0f minutes)", r.TargetMinutes)
	}
	c.printf("\n")
	c.printf("  Unanswered > 72 h   %d\n", t.Unanswered72h)
	mean := "–"
	if t.SentimentMean != nil {
		mean = fmt.Sprintf("%+.2f", *t.SentimentMean)
	}
	c.printf("  Sentiment           %d positive, %d neutral, %d negative (mean %s)\n",
		t.Sentiment["positive"], t.Sentiment["neutral"], t.Sentiment["negative"], mean)
	c.printf("  By channel          %s\n", counts(t.ByChannel))
	c.printf("  By stage            %s\n", counts(t.ByStage))
	c.printf("  By department       %s\n", counts(t.ByDepartment))
	if len(r.ByLocation) > 0 {
		c.printf("\n  %-32s %-10s %9s %9s %9s %9s\n", "Location", "Region", "Received", "Answered", "Median", "In target")
		for _, l := range r.ByLocation {
			c.printf("  %-32s %-10s %9d %9s %9s %9s\n", l.Location, l.Region, l.Received, kpi.Share(l.ResponseRate), kpi.Minutes(l.MedianMinutes), kpi.Share(l.WithinTarget))
		}
	}
}

func counts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		if m[a] != m[b] {
			return m[b] - m[a]
		}
		return strings.Compare(a, b)
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", strings.ReplaceAll(k, "_", " "), m[k])
	}
	if len(parts) == 0 {
		return "–"
	}
	return strings.Join(parts, ", ")
}
