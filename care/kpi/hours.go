package kpi

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Hours is a location's opening hours in its time zone: the clock against
// which response times are counted. With no periods at all the location
// counts as always open.
type Hours struct {
	zone   *time.Location
	week   [7][]period // by time.Weekday
	always bool
}

// period is an opening period in minutes after local midnight; to may
// pass 1440 when the period runs past midnight.
type period struct{ from, to int }

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// NewHours reads opening hours such as {"mon": ["11:00-22:00"]} (the
// models.OpeningHours form) in zone. A period that ends at or before it
// starts ("18:00-02:00") runs past midnight; "00:00-24:00" is the whole day.
func NewHours(zone *time.Location, byDay map[string][]string) (Hours, error) {
	if zone == nil {
		zone = time.UTC
	}
	h := Hours{zone: zone, always: true}
	for day, periods := range byDay {
		wd, ok := dayNames[strings.ToLower(day)]
		if !ok {
			return Hours{}, fmt.Errorf("opening hours: %q is not a day (use mon … sun)", day)
		}
		for _, p := range periods {
			from, to, ok := strings.Cut(strings.TrimSpace(p), "-")
			f, err1 := clock(from)
			t, err2 := clock(to)
			if !ok || err1 != nil || err2 != nil {
				return Hours{}, fmt.Errorf("opening hours %s: %q is not a period like 11:00-22:00", day, p)
			}
			if t <= f {
				t += 24 * 60
			}
			h.week[wd] = append(h.week[wd], period{f, t})
			h.always = false
		}
	}
	for i := range h.week {
		sort.Slice(h.week[i], func(a, b int) bool { return h.week[i][a].from < h.week[i][b].from })
	}
	return h, nil
}

func clock(s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "24:00" {
		return 24 * 60, nil
	}
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// AlwaysOpen reports whether no opening hours are set.
func (h Hours) AlwaysOpen() bool { return h.always }

// Zone is the location's time zone.
func (h Hours) Zone() *time.Location {
	if h.zone == nil {
		return time.UTC
	}
	return h.zone
}

// Open is how much of [a, b) falls in opening hours. Periods are laid out
// on each local calendar day, so a day when the clocks change has its
// opening hours one hour shorter or longer, as the staff live it.
func (h Hours) Open(a, b time.Time) time.Duration {
	if !b.After(a) {
		return 0
	}
	if h.always {
		return b.Sub(a)
	}
	zone := h.Zone()
	la := a.In(zone)
	// Start the day before a: its periods may run past midnight.
	day := time.Date(la.Year(), la.Month(), la.Day()-1, 0, 0, 0, 0, zone)
	var total time.Duration
	for i := 0; ; i++ {
		d := time.Date(day.Year(), day.Month(), day.Day()+i, 0, 0, 0, 0, zone)
		if !d.Before(b) {
			break
		}
		for _, p := range h.week[d.Weekday()] {
			start := at(d, p.from)
			end := at(d, p.to)
			if start.Before(a) {
				start = a
			}
			if end.After(b) {
				end = b
			}
			if end.After(start) {
				total += end.Sub(start)
			}
		}
	}
	return total
}

// at is the instant minutes after day's local midnight, read on the wall
// clock: 11:00 is 11:00 local on that day, whatever the clocks did at 2 am.
func at(day time.Time, minutes int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), 0, minutes, 0, 0, day.Location())
}
