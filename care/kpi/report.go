package kpi

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Report is the figures for a location, a region or the whole brand over a
// range of days: what `branchline kpi --json` prints and the dashboards
// draw. Shares and times are null when nothing was there to measure.
type Report struct {
	Scope         string        `json:"scope"` // "location", "region" or "brand"
	Name          string        `json:"name,omitempty"`
	From          string        `json:"from"`
	To            string        `json:"to"`
	Locations     int           `json:"locations"`
	TargetMinutes float64       `json:"target_minutes,omitempty"`
	Totals        Figures       `json:"totals"`
	Daily         []DayFigures  `json:"daily"`
	ByLocation    []LocationRow `json:"by_location,omitempty"`
	Exact         bool          `json:"percentiles_exact"` // from every response time, not from the histogram
}

// Figures are the figures of a Report, for its whole range, one day or
// one location.
type Figures struct {
	Received      int            `json:"received"`
	NeedsResponse int            `json:"needs_response"`
	Answered      int            `json:"answered"`
	ResponseRate  *float64       `json:"response_rate"`
	MedianMinutes *float64       `json:"first_response_median_minutes"`
	P90Minutes    *float64       `json:"first_response_p90_minutes"`
	WithinTarget  *float64       `json:"within_target_share"`
	Unanswered72h int            `json:"unanswered_over_72h"`
	SentimentMean *float64       `json:"sentiment_mean"`
	Sentiment     map[string]int `json:"sentiment"`
	ByChannel     map[string]int `json:"by_channel"`
	ByStage       map[string]int `json:"by_stage"`
	ByDepartment  map[string]int `json:"by_department"`
}

// DayFigures are one day's figures.
type DayFigures struct {
	Day string `json:"day"`
	Figures
}

// LocationRow is one location's line in a league table.
type LocationRow struct {
	Location string `json:"location"`
	Region   string `json:"region"`
	Figures
}

// Filter picks the Days a rollup takes: by region and location (empty:
// all) and by day, From to To inclusive (YYYY-MM-DD; empty: open).
type Filter struct {
	Region, Location string
	From, To         string
}

func (f Filter) keep(d *Day) bool {
	return (f.Region == "" || d.Region == f.Region) && (f.Location == "" || d.Location == f.Location) &&
		(f.From == "" || d.Day >= f.From) && (f.To == "" || d.Day <= f.To)
}

// Rollup adds up the Days f keeps into a Report with a line per day and
// per location. Percentiles come from the histogram.
func Rollup(days []Day, f Filter) Report {
	perDay := map[string]*Counts{}
	type locKey struct{ loc, region string }
	perLoc := map[locKey]*Counts{}
	// Days of one location come in runs: remember the last one's counts.
	var lastKey locKey
	var last *Counts
	for i := range days {
		d := &days[i]
		if !f.keep(d) {
			continue
		}
		c := perDay[d.Day]
		if c == nil {
			c = &Counts{}
			perDay[d.Day] = c
		}
		c.Add(&d.C)
		k := locKey{d.Location, d.Region}
		if last == nil || k != lastKey {
			last = perLoc[k]
			if last == nil {
				last = &Counts{}
				perLoc[k] = last
			}
			lastKey = k
		}
		last.Add(&d.C)
	}
	r := Report{Scope: "brand", From: f.From, To: f.To, Locations: len(perLoc), Daily: []DayFigures{}}
	switch {
	case f.Location != "":
		r.Scope, r.Name = "location", f.Location
	case f.Region != "":
		r.Scope, r.Name = "region", f.Region
	}
	var total Counts
	for day, c := range perDay {
		total.Add(c)
		r.Daily = append(r.Daily, DayFigures{Day: day, Figures: c.figures()})
	}
	slices.SortFunc(r.Daily, func(a, b DayFigures) int { return strings.Compare(a.Day, b.Day) })
	if r.From == "" && len(r.Daily) > 0 {
		r.From = r.Daily[0].Day
	}
	if r.To == "" && len(r.Daily) > 0 {
		r.To = r.Daily[len(r.Daily)-1].Day
	}
	r.Totals = total.figures()
	if f.Location == "" {
		for k, c := range perLoc {
			r.ByLocation = append(r.ByLocation, LocationRow{Location: k.loc, Region: k.region, Figures: c.figures()})
		}
		slices.SortFunc(r.ByLocation, func(a, b LocationRow) int { return strings.Compare(a.Location, b.Location) })
	}
	return r
}

// ForLocation is a location's own Report from Compute's results, with
// exact percentiles over every first-response time.
func ForLocation(name string, days []Day, frt []time.Duration, f Filter, target time.Duration) Report {
	f.Location = name
	r := Rollup(days, f)
	r.Scope, r.Name = "location", name
	r.TargetMinutes = target.Minutes()
	if len(frt) > 0 {
		minutes := make([]float64, len(frt))
		for i, d := range frt {
			minutes[i] = d.Minutes()
		}
		slices.Sort(minutes)
		r.Totals.MedianMinutes = ptr(exactQuantile(minutes, 0.5))
		r.Totals.P90Minutes = ptr(exactQuantile(minutes, 0.9))
		r.Exact = true
	}
	return r
}

// exactQuantile is the q-quantile of sorted values, interpolating between
// the two nearest ranks (the "linear" method, type 7).
func exactQuantile(sorted []float64, q float64) float64 {
	if len(sorted) == 1 {
		return sorted[0]
	}
	pos := q * float64(len(sorted)-1)
	lo := int(pos)
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (pos-float64(lo))*(sorted[lo+1]-sorted[lo])
}

// histQuantile reads the q-quantile from the first-response histogram,
// assuming the times spread evenly inside a bucket. Past the last bucket
// it answers the last bound.
func histQuantile(h *[len(Buckets) + 1]uint32, n uint32, q float64) float64 {
	want := q * float64(n)
	var seen float64
	for i, k := range h {
		if k == 0 {
			continue
		}
		if seen+float64(k) >= want {
			if i == len(Buckets) {
				return Buckets[len(Buckets)-1]
			}
			lo := 0.0
			if i > 0 {
				lo = Buckets[i-1]
			}
			return lo + (want-seen)/float64(k)*(Buckets[i]-lo)
		}
		seen += float64(k)
	}
	return Buckets[len(Buckets)-1]
}

func ptr(v float64) *float64 { return &v }

func share(part, whole uint32) *float64 {
	if whole == 0 {
		return nil
	}
	return ptr(float64(part) / float64(whole))
}

func (c *Counts) figures() Figures {
	f := Figures{
		Received: int(c.Received), NeedsResponse: int(c.NeedsResponse), Answered: int(c.Answered),
		ResponseRate: share(c.Answered, c.NeedsResponse), WithinTarget: share(c.WithinTarget, c.Decided),
		Unanswered72h: int(c.Unanswered72h),
		Sentiment:     map[string]int{"positive": int(c.Positive), "neutral": int(c.Neutral), "negative": int(c.Negative)},
		ByChannel:     map[string]int{}, ByStage: map[string]int{}, ByDepartment: map[string]int{},
	}
	if c.Received > 0 {
		f.SentimentMean = ptr(c.SentimentSum / float64(c.Received))
	}
	if c.Answered > 0 {
		f.MedianMinutes = ptr(histQuantile(&c.FRT, c.Answered, 0.5))
		f.P90Minutes = ptr(histQuantile(&c.FRT, c.Answered, 0.9))
	}
	for i, n := range c.Channel {
		if n > 0 {
			f.ByChannel[Channels[i]] = int(n)
		}
	}
	for i, n := range c.Stage {
		if n > 0 {
			f.ByStage[Stages[i]] = int(n)
		}
	}
	for i, n := range c.Department {
		if n > 0 {
			f.ByDepartment[Departments[i]] = int(n)
		}
	}
	return f
}

// Share formats a share as a percentage, "–" when unknown.
func Share(p *float64) string {
	if p == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", *p*100)
}

// Minutes formats a time in minutes, in hours from two hours on, "–" when
// unknown.
func Minutes(p *float64) string {
	if p == nil {
		return "–"
	}
	if *p >= 120 {
		return fmt.Sprintf("%.1f h", *p/60)
	}
	return fmt.Sprintf("%.0f min", *p)
}
