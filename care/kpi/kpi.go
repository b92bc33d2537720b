// Package kpi computes a location's customer-care figures (messages
// received, needing a response and answered, first-response time in the
// location's opening hours, the share answered within the brand's target,
// what waits over 72 hours, sentiment, volume by channel, stage and
// department) and rolls the daily summaries of many locations up for a
// region or the whole brand.
//
// A location computes its figures from its own messages (Compute). What
// travels over federation is one Day per location and day, without
// personal data: counts, sums and a histogram of first-response times
// (Day.Figures, ParseFigures). Rollups add Days up (Rollup); their median
// and 90th percentile are read from the histogram, so they are exact to
// the histogram's bucket (a few minutes below two hours).
package kpi

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"
)

// Message is what the figures need of an inbound message.
type Message struct {
	CreatedAt     time.Time
	FirstResponse time.Time // zero: not answered
	NeedsResponse bool
	Dismissed     bool // marked as needing no response
	Platform      string
	Stage         string
	Department    string
	Sentiment     float64
}

// Sentiment bands, as VADER's authors suggest for its compound score.
const (
	PositiveFrom = 0.05
	NegativeTo   = -0.05
)

// Overdue is when an unanswered message counts as waiting too long, on
// the wall clock: the 72 hours of the study that found 7 in 8 brand
// messages unanswered by then.
const Overdue = 72 * time.Hour

// Day is one location's figures for one local calendar day (the day a
// message was posted, in the location's time zone).
type Day struct {
	Location string
	Region   string
	Day      string // YYYY-MM-DD
	C        Counts
}

// Counts are a Day's figures; they add up across days and locations.
type Counts struct {
	Received      uint32
	NeedsResponse uint32 // needing a response, not dismissed since
	Answered      uint32 // of those, answered
	Decided       uint32 // answered, or unanswered past the target: the share within target is over these
	WithinTarget  uint32 // answered within the target, in opening hours
	Unanswered72h uint32 // still unanswered 72 hours after they came in
	Positive      uint32
	Neutral       uint32
	Negative      uint32
	SentimentSum  float64
	Channel       [len(Channels)]uint32
	Stage         [len(Stages)]uint32
	Department    [len(Departments)]uint32
	FRT           [len(Buckets) + 1]uint32 // first-response minutes in opening hours, by bucket; the last is past the last bucket
	FRTSum        float64                  // minutes
}

// Channels, stages and departments as the figures count them; anything
// else counts under "other" or "none".
var (
	Channels    = [...]string{"facebook", "instagram", "google", "mastodon", "bluesky", "other"}
	Stages      = [...]string{"pre_purchase", "purchase", "post_purchase", "none"}
	Departments = [...]string{"customer_care", "marketing", "sales", "pr", "hr", "none"}
)

// Buckets are the upper bounds, in minutes, of the first-response
// histogram: fine below two hours, where targets are, coarse above.
var Buckets = [...]float64{1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 70, 80, 90, 105, 120,
	150, 180, 240, 300, 360, 480, 600, 720, 960, 1200, 1440, 2160, 2880, 4320, 5760, 7200, 10080}

func index(list []string, v, fallback string) int {
	if i := slices.Index(list, v); i >= 0 {
		return i
	}
	return slices.Index(list, fallback)
}

func bucket(minutes float64) int {
	return sort.SearchFloat64s(Buckets[:], minutes) // first bound ≥ minutes
}

// Add adds o to c.
func (c *Counts) Add(o *Counts) {
	c.Received += o.Received
	c.NeedsResponse += o.NeedsResponse
	c.Answered += o.Answered
	c.Decided += o.Decided
	c.WithinTarget += o.WithinTarget
	c.Unanswered72h += o.Unanswered72h
	c.Positive += o.Positive
	c.Neutral += o.Neutral
	c.Negative += o.Negative
	c.SentimentSum += o.SentimentSum
	for i := range c.Channel {
		c.Channel[i] += o.Channel[i]
	}
	for i := range c.Stage {
		c.Stage[i] += o.Stage[i]
	}
	for i := range c.Department {
		c.Department[i] += o.Department[i]
	}
	for i := range c.FRT {
		c.FRT[i] += o.FRT[i]
	}
	c.FRTSum += o.FRTSum
}

// Options are what Compute counts against.
type Options struct {
	Location, Region string
	Hours            Hours
	Target           time.Duration // the brand's response-time target; 60 minutes when 0
	Now              time.Time     // what "still unanswered" is measured at
}

func (o Options) target() time.Duration {
	if o.Target <= 0 {
		return 60 * time.Minute
	}
	return o.Target
}

// Compute sorts a location's messages into Days (by the local day they
// were posted, in day order) and returns, beside them, every answered
// message's first-response time in opening hours, for exact percentiles.
func Compute(msgs []Message, o Options) (days []Day, frt []time.Duration) {
	zone := o.Hours.Zone()
	target := o.target()
	byDay := map[string]*Day{}
	for _, m := range msgs {
		key := m.CreatedAt.In(zone).Format(time.DateOnly)
		d := byDay[key]
		if d == nil {
			d = &Day{Location: o.Location, Region: o.Region, Day: key}
			byDay[key] = d
		}
		c := &d.C
		c.Received++
		switch {
		case m.Sentiment >= PositiveFrom:
			c.Positive++
		case m.Sentiment <= NegativeTo:
			c.Negative++
		default:
			c.Neutral++
		}
		c.SentimentSum += m.Sentiment
		c.Channel[index(Channels[:], m.Platform, "other")]++
		c.Stage[index(Stages[:], m.Stage, "none")]++
		c.Department[index(Departments[:], m.Department, "none")]++
		if !m.NeedsResponse || m.Dismissed {
			continue
		}
		c.NeedsResponse++
		if !m.FirstResponse.IsZero() {
			took := o.Hours.Open(m.CreatedAt, m.FirstResponse)
			frt = append(frt, took)
			c.Answered++
			c.Decided++
			if took <= target {
				c.WithinTarget++
			}
			minutes := took.Minutes()
			c.FRT[bucket(minutes)]++
			c.FRTSum += minutes
			continue
		}
		if o.Hours.Open(m.CreatedAt, o.Now) > target {
			c.Decided++
		}
		if o.Now.Sub(m.CreatedAt) > Overdue {
			c.Unanswered72h++
		}
	}
	for _, d := range byDay {
		days = append(days, *d)
	}
	slices.SortFunc(days, func(a, b Day) int { return strings.Compare(a.Day, b.Day) })
	return days, frt
}

// Figures is the Day as the flat map a KPI record carries: only figures,
// only the ones that are not zero.
func (d Day) Figures() map[string]float64 {
	c := &d.C
	f := map[string]float64{}
	put := func(k string, v float64) {
		if v != 0 {
			f[k] = v
		}
	}
	put("received", float64(c.Received))
	put("needs_response", float64(c.NeedsResponse))
	put("answered", float64(c.Answered))
	put("decided", float64(c.Decided))
	put("within_target", float64(c.WithinTarget))
	put("unanswered_72h", float64(c.Unanswered72h))
	put("sentiment.positive", float64(c.Positive))
	put("sentiment.neutral", float64(c.Neutral))
	put("sentiment.negative", float64(c.Negative))
	put("sentiment.sum", c.SentimentSum)
	for i, n := range c.Channel {
		put("channel."+Channels[i], float64(n))
	}
	for i, n := range c.Stage {
		put("stage."+Stages[i], float64(n))
	}
	for i, n := range c.Department {
		put("department."+Departments[i], float64(n))
	}
	for i, n := range c.FRT {
		put(fmt.Sprintf("frt.%d", i), float64(n))
	}
	put("frt.sum", c.FRTSum)
	return f
}

// countFields maps a figure's name to where ParseFigures puts it.
var countFields = func() map[string]func(*Counts) *uint32 {
	m := map[string]func(*Counts) *uint32{
		"received":           func(c *Counts) *uint32 { return &c.Received },
		"needs_response":     func(c *Counts) *uint32 { return &c.NeedsResponse },
		"answered":           func(c *Counts) *uint32 { return &c.Answered },
		"decided":            func(c *Counts) *uint32 { return &c.Decided },
		"within_target":      func(c *Counts) *uint32 { return &c.WithinTarget },
		"unanswered_72h":     func(c *Counts) *uint32 { return &c.Unanswered72h },
		"sentiment.positive": func(c *Counts) *uint32 { return &c.Positive },
		"sentiment.neutral":  func(c *Counts) *uint32 { return &c.Neutral },
		"sentiment.negative": func(c *Counts) *uint32 { return &c.Negative },
	}
	for i := range Channels {
		m["channel."+Channels[i]] = func(c *Counts) *uint32 { return &c.Channel[i] }
	}
	for i := range Stages {
		m["stage."+Stages[i]] = func(c *Counts) *uint32 { return &c.Stage[i] }
	}
	for i := range Departments {
		m["department."+Departments[i]] = func(c *Counts) *uint32 { return &c.Department[i] }
	}
	for i := range len(Buckets) + 1 {
		m[fmt.Sprintf("frt.%d", i)] = func(c *Counts) *uint32 { return &c.FRT[i] }
	}
	return m
}()

// ParseFigures reads a KPI record's figures back. A figure it does not
// know (from a newer version) is ignored; a count that is negative, not
// whole or out of range is an error that names it.
func ParseFigures(f map[string]float64) (Counts, error) {
	var c Counts
	for k, v := range f {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Counts{}, fmt.Errorf("kpi figure %s: %v is not a number", k, v)
		}
		switch k {
		case "sentiment.sum":
			c.SentimentSum = v
			continue
		case "frt.sum":
			if v < 0 {
				return Counts{}, fmt.Errorf("kpi figure %s: %v is negative", k, v)
			}
			c.FRTSum = v
			continue
		}
		field, ok := countFields[k]
		if !ok {
			continue
		}
		if v < 0 || v > math.MaxUint32 || v != math.Trunc(v) {
			return Counts{}, fmt.Errorf("kpi figure %s: %v is not a count", k, v)
		}
		*field(&c) = uint32(v)
	}
	if c.Answered > c.NeedsResponse || c.NeedsResponse > c.Received || c.WithinTarget > c.Answered {
		return Counts{}, fmt.Errorf("kpi figures do not add up: %d received, %d needing a response, %d answered, %d within target",
			c.Received, c.NeedsResponse, c.Answered, c.WithinTarget)
	}
	return c, nil
}
