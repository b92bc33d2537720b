package kpi

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func TestOpenCountsOnlyOpeningHours(t *testing.T) {
	la := mustZone(t, "America/Los_Angeles")
	every := func(p ...string) map[string][]string {
		h := map[string][]string{}
		for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
			h[d] = p
		}
		return h
	}
	closedMonday := every("10:00-21:00")
	delete(closedMonday, "mon")
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, la)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name  string
		hours map[string][]string
		from  string
		to    string
		want  time.Duration
	}{
		{"while open", every("10:00-22:00"), "2026-05-05 12:00", "2026-05-05 12:45", 45 * time.Minute},
		// 23:00 on Tuesday to a store that opens at 10:00: not late overnight.
		{"in while closed", every("10:00-22:00"), "2026-05-05 23:00", "2026-05-06 10:30", 30 * time.Minute},
		{"across closing", every("10:00-22:00"), "2026-05-05 21:30", "2026-05-06 10:15", 45 * time.Minute},
		{"answered while closed", every("10:00-22:00"), "2026-05-05 21:30", "2026-05-05 23:30", 30 * time.Minute},
		{"in and out while closed", every("10:00-22:00"), "2026-05-05 22:30", "2026-05-05 23:30", 0},
		// Sunday 20:00 (open to 21:00), Monday closed, Tuesday from 10:00.
		{"closed day", closedMonday, "2026-05-03 20:00", "2026-05-05 10:10", 70 * time.Minute},
		{"split day", every("11:00-14:00", "17:00-22:00"), "2026-05-05 13:30", "2026-05-05 17:30", 60 * time.Minute},
		// Past midnight: open 18:00 to 02:00.
		{"overnight period", every("18:00-02:00"), "2026-05-05 23:00", "2026-05-06 19:00", 4 * time.Hour},
		// Clocks go forward on 8 March 2026 at 2:00: a night open 22:00-04:00 is five hours long.
		{"spring forward", every("22:00-04:00"), "2026-03-07 21:00", "2026-03-08 12:00", 5 * time.Hour},
		// ... and back on 1 November 2026: 00:00-24:00 that Sunday is 25 hours.
		{"fall back", every("00:00-24:00"), "2026-11-01 00:00", "2026-11-02 00:00", 25 * time.Hour},
		{"always open", nil, "2026-05-05 23:00", "2026-05-06 01:00", 2 * time.Hour},
		{"backwards", every("10:00-22:00"), "2026-05-05 12:00", "2026-05-05 11:00", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h, err := NewHours(la, c.hours)
			if err != nil {
				t.Fatal(err)
			}
			if got := h.Open(at(c.from), at(c.to)); got != c.want {
				t.Errorf("Open(%s, %s) = %s, want %s", c.from, c.to, got, c.want)
			}
		})
	}
}

func TestOpenDependsOnTheTimeZone(t *testing.T) {
	hours := map[string][]string{"tue": {"09:00-17:00"}}
	// 15:00 to 17:00 UTC on a Tuesday in May: 17:00-19:00 in Berlin (one
	// hour open), 11:00-13:00 in New York (two hours open).
	a := time.Date(2026, 5, 5, 15, 0, 0, 0, time.UTC)
	b := a.Add(2 * time.Hour)
	for zone, want := range map[string]time.Duration{"Europe/Berlin": 0, "America/New_York": 2 * time.Hour, "UTC": 2 * time.Hour} {
		h, err := NewHours(mustZone(t, zone), hours)
		if err != nil {
			t.Fatal(err)
		}
		if got := h.Open(a, b); got != want {
			t.Errorf("%s: %s, want %s", zone, got, want)
		}
	}
}

func TestNewHoursRejectsBadInput(t *testing.T) {
	for _, bad := range []map[string][]string{{"monday": {"10:00-12:00"}}, {"mon": {"10-12"}}, {"mon": {"10:00"}}, {"mon": {"25:00-26:00"}}} {
		if _, err := NewHours(time.UTC, bad); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}

// A store in Los Angeles open 10:00 to 22:00, a 60-minute target, and
// seven messages whose figures are worked out by hand below.
func handCase(t *testing.T) ([]Message, Options) {
	la := mustZone(t, "America/Los_Angeles")
	hours, err := NewHours(la, map[string][]string{"mon": {"10:00-22:00"}, "tue": {"10:00-22:00"}, "wed": {"10:00-22:00"},
		"thu": {"10:00-22:00"}, "fri": {"10:00-22:00"}, "sat": {"10:00-22:00"}, "sun": {"10:00-22:00"}})
	if err != nil {
		t.Fatal(err)
	}
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, la)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	msgs := []Message{
		// Tuesday 5 May.
		{CreatedAt: at("2026-05-05 12:00"), FirstResponse: at("2026-05-05 12:10"), NeedsResponse: true, Platform: "facebook", Stage: "post_purchase", Department: "customer_care", Sentiment: -0.6}, // 10 min
		{CreatedAt: at("2026-05-05 13:00"), FirstResponse: at("2026-05-05 14:30"), NeedsResponse: true, Platform: "google", Stage: "post_purchase", Department: "customer_care", Sentiment: -0.3},   // 90 min: late
		{CreatedAt: at("2026-05-05 23:00"), FirstResponse: at("2026-05-06 10:20"), NeedsResponse: true, Platform: "instagram", Stage: "pre_purchase", Department: "sales", Sentiment: 0.2},          // 20 min: in while closed
		{CreatedAt: at("2026-05-05 15:00"), Platform: "instagram", Stage: "none", Department: "marketing", Sentiment: 0.8},                                                                          // a thank-you
		{CreatedAt: at("2026-05-05 16:00"), NeedsResponse: true, Dismissed: true, Platform: "facebook", Stage: "none", Department: "marketing", Sentiment: 0},                                       // dismissed
		// Wednesday 6 May.
		{CreatedAt: at("2026-05-06 11:00"), FirstResponse: at("2026-05-06 11:40"), NeedsResponse: true, Platform: "facebook", Stage: "purchase", Department: "sales", Sentiment: 0.02}, // 40 min
		{CreatedAt: at("2026-05-06 12:00"), NeedsResponse: true, Platform: "mastodon", Stage: "post_purchase", Department: "customer_care", Sentiment: -0.9},                           // never answered
		// 00:30 UTC on 7 May is still 6 May in Los Angeles.
		{CreatedAt: time.Date(2026, 5, 7, 0, 30, 0, 0, time.UTC), NeedsResponse: true, Platform: "google", Stage: "none", Department: "customer_care", Sentiment: 0.5}, // 17:30 local, never answered
	}
	now := time.Date(2026, 5, 9, 19, 0, 0, 0, la) // Saturday evening: both unanswered ones are over 72 hours old
	return msgs, Options{Location: "Riverside", Region: "PNW", Hours: hours, Target: time.Hour, Now: now}
}

func TestComputeByHand(t *testing.T) {
	msgs, o := handCase(t)
	days, frt := Compute(msgs, o)
	if len(days) != 2 || days[0].Day != "2026-05-05" || days[1].Day != "2026-05-06" {
		t.Fatalf("days: %+v", days)
	}
	tue, wed := days[0].C, days[1].C
	if tue.Received != 5 || tue.NeedsResponse != 3 || tue.Answered != 3 || tue.WithinTarget != 2 || tue.Decided != 3 {
		t.Errorf("Tuesday: %+v", tue)
	}
	// Wednesday: 11:00 answered in 40 min; 12:00 unanswered (over the
	// target, and over 72 h by Saturday 19:00); 17:30 unanswered, also
	// past the target and 72 h by then.
	if wed.Received != 3 || wed.NeedsResponse != 3 || wed.Answered != 1 || wed.WithinTarget != 1 || wed.Decided != 3 || wed.Unanswered72h != 2 {
		t.Errorf("Wednesday: %+v", wed)
	}
	var got []float64
	for _, d := range frt {
		got = append(got, d.Minutes())
	}
	want := []float64{10, 90, 20, 40}
	if len(got) != len(want) {
		t.Fatalf("first responses %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("first responses %v, want %v", got, want)
			break
		}
	}

	r := ForLocation("Riverside", days, frt, Filter{}, o.Target)
	tot := r.Totals
	check := func(name string, got *float64, want float64) {
		t.Helper()
		if got == nil || math.Abs(*got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", name, deref(got), want)
		}
	}
	if tot.Received != 8 || tot.NeedsResponse != 6 || tot.Answered != 4 || tot.Unanswered72h != 2 {
		t.Errorf("totals %+v", tot)
	}
	check("response rate", tot.ResponseRate, 4.0/6)
	// Sorted 10, 20, 40, 90: median (20+40)/2, p90 at rank 2.7: 40 + 0.7×50.
	check("median", tot.MedianMinutes, 30)
	check("p90", tot.P90Minutes, 75)
	// Within target: 10, 20, 40 of six decided.
	check("within target", tot.WithinTarget, 3.0/6)
	check("sentiment mean", tot.SentimentMean, (-0.6-0.3+0.2+0.8+0+0.02-0.9+0.5)/8)
	if s := tot.Sentiment; s["positive"] != 3 || s["neutral"] != 2 || s["negative"] != 3 {
		t.Errorf("sentiment %v", s)
	}
	if c := tot.ByChannel; c["facebook"] != 3 || c["google"] != 2 || c["instagram"] != 2 || c["mastodon"] != 1 {
		t.Errorf("by channel %v", c)
	}
	if s := tot.ByStage; s["post_purchase"] != 3 || s["pre_purchase"] != 1 || s["purchase"] != 1 || s["none"] != 3 {
		t.Errorf("by stage %v", s)
	}
	if len(r.Daily) != 2 || r.Daily[0].Received != 5 {
		t.Errorf("daily %+v", r.Daily)
	}
	if !r.Exact {
		t.Error("a location's own report should have exact percentiles")
	}
}

func TestStillWithinTargetIsNotYetCounted(t *testing.T) {
	msgs, o := handCase(t)
	// Only the 17:30 message, asked about 20 minutes later.
	last := msgs[len(msgs)-1]
	o.Now = last.CreatedAt.Add(20 * time.Minute)
	days, _ := Compute([]Message{last}, o)
	if c := days[0].C; c.NeedsResponse != 1 || c.Decided != 0 || c.Unanswered72h != 0 {
		t.Errorf("a message 20 minutes old: %+v", c)
	}
	// At 21:50 it is 80 open minutes old: past the target.
	o.Now = last.CreatedAt.Add(2*time.Hour + 20*time.Minute) // 19:50
	days, _ = Compute([]Message{last}, o)
	if c := days[0].C; c.Decided != 1 || c.WithinTarget != 0 {
		t.Errorf("a message 140 minutes old: %+v", c)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func TestFiguresRoundTrip(t *testing.T) {
	msgs, o := handCase(t)
	days, _ := Compute(msgs, o)
	for _, d := range days {
		f := d.Figures()
		raw, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back map[string]float64
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatal(err)
		}
		c, err := ParseFigures(back)
		if err != nil {
			t.Fatal(err)
		}
		if c != d.C {
			t.Errorf("%s: round trip changed the counts:\n%+v\n%+v", d.Day, c, d.C)
		}
		for k := range f {
			if strings.Contains(k, "@") || strings.Contains(k, "customer_name") {
				t.Errorf("figure %q looks personal", k)
			}
		}
	}
}

func TestParseFiguresRejectsWhatIsNotACount(t *testing.T) {
	for name, f := range map[string]map[string]float64{
		"negative":      {"received": -1},
		"fraction":      {"received": 2.5},
		"nan":           {"sentiment.sum": math.NaN()},
		"inf":           {"frt.sum": math.Inf(1)},
		"too large":     {"received": 1e12},
		"do not add up": {"received": 1, "needs_response": 2},
	} {
		if _, err := ParseFigures(f); err == nil {
			t.Errorf("%s: no error", name)
		} else if name != "do not add up" && !strings.Contains(err.Error(), "kpi figure") {
			t.Errorf("%s: error does not name the figure: %v", name, err)
		}
	}
	if _, err := ParseFigures(map[string]float64{"received": 3, "from_the_future": 7}); err != nil {
		t.Errorf("an unknown figure should be ignored: %v", err)
	}
}

func TestRollupAcrossLocations(t *testing.T) {
	msgs, o := handCase(t)
	riverside, _ := Compute(msgs, o)
	o.Location, o.Region = "Harbor", "PNW"
	harbor, _ := Compute(msgs[:3], o)
	o.Location, o.Region = "Mission", "Bay"
	mission, _ := Compute(msgs[5:6], o)
	all := append(append(append([]Day{}, riverside...), harbor...), mission...)

	brand := Rollup(all, Filter{})
	if brand.Scope != "brand" || brand.Locations != 3 || brand.Totals.Received != 8+3+1 || brand.Totals.Answered != 4+3+1 {
		t.Errorf("brand: %+v", brand.Totals)
	}
	pnw := Rollup(all, Filter{Region: "PNW"})
	if pnw.Locations != 2 || pnw.Totals.Received != 11 || len(pnw.ByLocation) != 2 || pnw.ByLocation[0].Location != "Harbor" {
		t.Errorf("PNW: %d locations, %+v", pnw.Locations, pnw.ByLocation)
	}
	day := Rollup(all, Filter{From: "2026-05-06", To: "2026-05-06"})
	if day.Totals.Received != 3+1 || len(day.Daily) != 1 {
		t.Errorf("one day: %+v", day.Totals)
	}
}

// Rolled up, percentiles come from the histogram: over many answers they
// stay within a bucket's width of the exact ones.
func TestRollupPercentilesFromTheHistogram(t *testing.T) {
	_, o := handCase(t)
	o.Hours = Hours{zone: o.Hours.Zone(), always: true}
	start := time.Date(2026, 5, 5, 8, 0, 0, 0, time.UTC)
	var msgs []Message
	x := uint64(12345)
	for i := range 1000 {
		x = x*6364136223846793005 + 1442695040888963407 // a fixed LCG: the same times every run
		took := time.Duration(1+x>>33%240) * time.Minute
		at := start.Add(time.Duration(i) * 7 * time.Minute)
		msgs = append(msgs, Message{CreatedAt: at, FirstResponse: at.Add(took), NeedsResponse: true, Platform: "facebook"})
	}
	days, frt := Compute(msgs, o)
	own := ForLocation("Riverside", days, frt, Filter{}, time.Hour)
	rolled := Rollup(days, Filter{})
	for _, q := range []struct {
		name         string
		exact, histo *float64
	}{{"median", own.Totals.MedianMinutes, rolled.Totals.MedianMinutes}, {"p90", own.Totals.P90Minutes, rolled.Totals.P90Minutes}} {
		b := bucket(*q.exact)
		lo := 0.0
		if b > 0 {
			lo = Buckets[b-1]
		}
		if math.Abs(*q.histo-*q.exact) > Buckets[b]-lo {
			t.Errorf("%s: histogram gives %v, exact %v (bucket %v–%v)", q.name, *q.histo, *q.exact, lo, Buckets[b])
		}
	}
}

func TestHistogramQuantile(t *testing.T) {
	var h [len(Buckets) + 1]uint32
	h[bucket(0.5)] = 10 // ten answers within the first minute
	if got := histQuantile(&h, 10, 0.5); got != 0.5 {
		t.Errorf("median of ten in (0, 1]: %v", got)
	}
	h[len(Buckets)] = 90 // and ninety later than a week
	if got := histQuantile(&h, 100, 0.9); got != Buckets[len(Buckets)-1] {
		t.Errorf("p90 past the last bucket: %v", got)
	}
}

func TestCountsBinaryRoundTrip(t *testing.T) {
	c := Counts{Received: 34, NeedsResponse: 22, Answered: 18, Decided: 21, WithinTarget: 9, Unanswered72h: 1,
		Positive: 12, Neutral: 14, Negative: 8, SentimentSum: 1.85, FRTSum: 1260.5}
	c.Channel[0], c.Channel[len(c.Channel)-1] = 15, 2
	c.Stage[2], c.Department[4] = 20, 3
	c.FRT[0], c.FRT[len(c.FRT)-1] = 3, 4
	b := c.AppendBinary(nil)
	got, err := ParseBinary(b)
	if err != nil || got != c {
		t.Fatalf("round trip = %+v, %v; want %+v", got, err, c)
	}
	for _, bad := range [][]byte{nil, b[:len(b)-1], append(append([]byte{}, b...), 0), append([]byte{9}, b[1:]...)} {
		if _, err := ParseBinary(bad); !errors.Is(err, ErrBinary) {
			t.Errorf("ParseBinary(%d bytes, version %v) = %v, want ErrBinary", len(bad), bad[:min(1, len(bad))], err)
		}
	}
}
