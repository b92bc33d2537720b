//go:build ci

package app

import (
	"testing"
	"time"

	"fyne.io/fyne/v2/widget"

	"github.com/branchline/branchline/care/desk"
	"github.com/branchline/branchline/care/kpi"
)

// The inbox's response clock stops while the store is closed: a message
// at 23:00 to a store that opens at 10:00 is not late at 9:00.
func TestResponseClockCountsOpeningHours(t *testing.T) {
	every := []string{"10:00-22:00"}
	h, err := kpi.NewHours(time.UTC, map[string][]string{"mon": every, "tue": every, "wed": every, "thu": every, "fri": every, "sat": every, "sun": every})
	if err != nil {
		t.Fatal(err)
	}
	in := time.Date(2026, 5, 5, 23, 0, 0, 0, time.UTC)
	it := desk.Item{CreatedAt: in, NeedsResponse: true, Status: "open"}
	cases := []struct {
		now  time.Time
		text string
		imp  widget.Importance
	}{
		{time.Date(2026, 5, 6, 9, 0, 0, 0, time.UTC), "1h left", widget.MediumImportance},
		{time.Date(2026, 5, 6, 10, 50, 0, 0, time.UTC), "10m left", widget.WarningImportance},
		{time.Date(2026, 5, 6, 11, 30, 0, 0, time.UTC), "30m over target", widget.DangerImportance},
	}
	for _, c := range cases {
		text, imp := responseClock(it, 60, 0, h.Open, c.now)
		if text != c.text || imp != c.imp {
			t.Errorf("at %s: %q (%v), want %q (%v)", c.now.Format("Jan 2 15:04"), text, imp, c.text, c.imp)
		}
	}
	answered := time.Date(2026, 5, 6, 10, 20, 0, 0, time.UTC)
	it.AnsweredAt = &answered
	if text, _ := responseClock(it, 60, 0, h.Open, answered); text != "answered in 20m" {
		t.Errorf("answered: %q", text)
	}
}
