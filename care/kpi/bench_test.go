package kpi

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// yearOfBrand makes 1,200 locations in 12 regions × 365 days of figures,
// 10 to 60 messages a day each, grouped by location as the node holds them.
func yearOfBrand() []Day {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2025, 11, 29, 0, 0, 0, 0, time.UTC)
	days := make([]Day, 0, 1200*365)
	for loc := range 1200 {
		name := fmt.Sprintf("Location %04d", loc)
		region := fmt.Sprintf("Region %02d", loc%12)
		for d := range 365 {
			var c Counts
			c.Received = uint32(10 + r.IntN(50))
			c.NeedsResponse = c.Received * 2 / 3
			c.Answered = c.NeedsResponse * 3 / 4
			c.Decided = c.NeedsResponse
			c.WithinTarget = c.Answered / 2
			c.Positive, c.Neutral = c.Received/3, c.Received/3
			c.Negative = c.Received - c.Positive - c.Neutral
			c.SentimentSum = float64(c.Positive)*0.5 - float64(c.Negative)*0.5
			c.Channel[r.IntN(len(Channels))] = c.Received
			c.Stage[r.IntN(len(Stages))] = c.Received
			c.Department[r.IntN(len(Departments))] = c.Received
			for range c.Answered {
				c.FRT[r.IntN(len(c.FRT))]++
			}
			c.FRTSum = float64(c.Answered) * 45
			days = append(days, Day{Location: name, Region: region, Day: start.AddDate(0, 0, d).Format(time.DateOnly), C: c})
		}
	}
	return days
}

// BenchmarkRollup rolls up a year of daily figures of 1,200 locations
// (438,000 summaries) into the brand's report with a line per day and per
// location, and into one region's. Target: 200 ms.
func BenchmarkRollup(b *testing.B) {
	days := yearOfBrand()
	b.Run("brand", func(b *testing.B) {
		for b.Loop() {
			r := Rollup(days, Filter{})
			if r.Locations != 1200 || len(r.Daily) != 365 {
				b.Fatalf("%d locations, %d days", r.Locations, len(r.Daily))
			}
		}
	})
	b.Run("region", func(b *testing.B) {
		for b.Loop() {
			r := Rollup(days, Filter{Region: "Region 03"})
			if r.Locations != 100 {
				b.Fatalf("%d locations", r.Locations)
			}
		}
	})
	b.Run("quarter", func(b *testing.B) {
		for b.Loop() {
			Rollup(days, Filter{From: "2026-08-01", To: "2026-10-31"})
		}
	})
}

// BenchmarkParseFigures is the cost of reading one KPI record's figures
// back, which a node pays once per record it loads.
func BenchmarkParseFigures(b *testing.B) {
	days := yearOfBrand()[:1000]
	figs := make([]map[string]float64, len(days))
	for i, d := range days {
		figs[i] = d.Figures()
	}
	i := 0
	for b.Loop() {
		if _, err := ParseFigures(figs[i%len(figs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
