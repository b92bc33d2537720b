package desk

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/models"
)

// TestFiguresFromTheStore runs the figures over a real database: a
// comment that came in while the store was closed and was answered by
// direct message the next morning, a direct message answered in the same
// conversation as a later one, one dismissed and one left waiting.
func TestFiguresFromTheStore(t *testing.T) {
	ctx := context.Background()
	la, _ := time.LoadLocation("America/Los_Angeles")
	now := time.Date(2026, 5, 6, 9, 0, 0, 0, la)
	clock := func() time.Time { return now }
	store, err := models.Open(ctx, filepath.Join(t.TempDir(), "db"), models.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	every := []string{"10:00-22:00"}
	err = Setup(ctx, store, LocationSetup{Name: "Riverside", Region: "PNW", TimeZone: "America/Los_Angeles",
		Hours:   models.OpeningHours{"mon": every, "tue": every, "wed": every, "thu": every, "fri": every, "sat": every, "sun": every},
		Manager: models.Staff{Name: "Maria Lopez", Handle: "maria"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open(ctx, store, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	// 23:00 and later on Tuesday 5 May, Los Angeles (06:00Z on the 6th).
	input := `{"platform":"facebook","account":"ck","id":"c1","thread":"post1","author":"Eli Park","author_id":"u2","text":"My burger was cold and the fries were soggy, what happened?","created_at":"2026-05-06T06:00:00Z","kind":"comment"}
{"platform":"instagram","account":"ck.ig","id":"d1","thread":"dm-u5","author":"Ann Lee","author_id":"u5","text":"Do you have gluten free buns?","created_at":"2026-05-06T06:10:00Z","kind":"dm"}
{"platform":"instagram","account":"ck.ig","id":"d2","thread":"dm-u5","author":"Ann Lee","author_id":"u5","text":"Also, can I book a table for six?","created_at":"2026-05-06T06:20:00Z","kind":"dm"}
{"platform":"facebook","account":"ck","id":"c2","thread":"post1","author":"Bo Chan","author_id":"u3","text":"Why is the drive-thru so slow?","created_at":"2026-05-06T06:30:00Z","kind":"comment"}
{"platform":"facebook","account":"ck","id":"c3","thread":"post2","author":"Cy Dunn","author_id":"u4","text":"Is the patio open today?","created_at":"2026-05-06T06:40:00Z","kind":"comment"}
`
	if rep, err := d.Import(ctx, strings.NewReader(input), "night.jsonl", nil); err != nil || rep.Inserted != 5 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	ids := map[string]int64{}
	for id := int64(1); id <= 5; id++ {
		m, err := store.MessageByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		ids[m.PlatformID] = id
	}
	send := func(id int64, private bool, at time.Time) {
		t.Helper()
		now = at
		r, _, err := d.Reply(ctx, ReplyInput{MessageID: id, Staff: "maria", Private: private,
			Text: "Hi, thanks for writing. Could you send us a message so we can sort it out?\n\n– Maria, Riverside"})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.ClaimReply(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		if err := store.MarkSent(ctx, r.ID, "remote-"+time.Now().Format("150405.000000"), "test"); err != nil {
			t.Fatal(err)
		}
	}
	// The cold burger, answered by direct message at 10:20: 20 open minutes.
	send(ids["c1"], true, time.Date(2026, 5, 6, 10, 20, 0, 0, la))
	// The second direct message answered at 10:45; it answers the first too:
	// 45 open minutes each.
	send(ids["d2"], false, time.Date(2026, 5, 6, 10, 45, 0, 0, la))
	// The patio question needs no response after all.
	now = time.Date(2026, 5, 6, 10, 50, 0, 0, la)
	if err := d.Dismiss(ctx, ids["c3"], "maria"); err != nil {
		t.Fatal(err)
	}
	// The drive-thru question waits; at 12:00 it is 120 open minutes old.
	now = time.Date(2026, 5, 6, 12, 0, 0, 0, la)

	rep, days, err := d.Figures(ctx, "2026-05-05", "2026-05-06")
	if err != nil {
		t.Fatal(err)
	}
	tot := rep.Totals
	if tot.Received != 5 || tot.NeedsResponse != 4 || tot.Answered != 3 {
		t.Fatalf("totals: %+v", tot)
	}
	if len(days) != 1 || days[0].Day != "2026-05-05" || days[0].Location != "Riverside" || days[0].Region != "PNW" {
		t.Fatalf("days: %+v", days)
	}
	if rep.Totals.MedianMinutes == nil || *rep.Totals.MedianMinutes != 45 || *rep.Totals.P90Minutes != 45 {
		t.Errorf("median %v, p90 %v, want 45 and 45 (20, 45, 45)", deref(rep.Totals.MedianMinutes), deref(rep.Totals.P90Minutes))
	}
	// Within the 60-minute target: all three answered; the waiting one is
	// past it: 3 of 4.
	if rep.Totals.WithinTarget == nil || *rep.Totals.WithinTarget != 0.75 {
		t.Errorf("within target %v, want 0.75", deref(rep.Totals.WithinTarget))
	}
	if _, _, err := d.Figures(ctx, "2026-05-06", "2026-05-05"); !errors.Is(err, ErrInvalid) {
		t.Errorf("a backwards range: %v", err)
	}
	if _, _, err := d.Figures(ctx, "5 May", "2026-05-05"); err == nil || !strings.Contains(err.Error(), `"5 May"`) {
		t.Errorf("a bad date: %v", err)
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
