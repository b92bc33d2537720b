package models

import (
	"context"
	"encoding/base64"
	"errors"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// checkSortKeys fails unless every message's sort key is its time's.
func checkSortKeys(t *testing.T, s *Store) {
	t.Helper()
	var rows []struct {
		ID        int64
		CreatedAt string
		CreatedMs int64
	}
	if err := s.w.Raw(`SELECT id, CAST(created_at AS TEXT) AS created_at, created_ms FROM messages`).Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no messages to check")
	}
	for _, r := range rows {
		at, err := time.Parse(sqlTimeLayout, r.CreatedAt)
		if err != nil {
			t.Fatalf("message %d: %v", r.ID, err)
		}
		if want := SortMillis(at); r.CreatedMs != want {
			t.Errorf("message %d at %s has sort key %d, want %d", r.ID, r.CreatedAt, r.CreatedMs, want)
		}
	}
}

func TestSortMillisRoundsHalfUp(t *testing.T) {
	for _, c := range []struct {
		at   time.Time
		want int64
	}{
		{time.Unix(0, 0), 0},
		{time.Unix(1, 499_999), 1000},
		{time.Unix(1, 500_000), 1001},
		{time.Unix(1, 608_900_000), 1609},
		{time.Unix(1, 609_499_999), 1609},
		{time.Unix(-1, 999_600_000), 0},  // 0.4 ms before 1970
		{time.Unix(-1, 999_400_000), -1}, // 0.6 ms before
		{time.Date(2026, 3, 1, 12, 0, 0, 250_000_000, time.FixedZone("", 2*3600)), time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC).UnixMilli() + 250},
	} {
		if got := SortMillis(c.at); got != c.want {
			t.Errorf("SortMillis(%s) = %d, want %d", c.at, got, c.want)
		}
	}
}

// TestMigrationGivesSortKeys upgrades a database of schema version 8,
// whose messages have times of every precision and zone the driver could
// have written, and checks the keys migration 9 computed from the text,
// and the inbox order they give.
func TestMigrationGivesSortKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v8.db")
	c := &clock{t: t0}
	old := &Store{path: path, now: c.now}
	w, err := old.open(path, 1, true)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := migrate(ctx, w, 8); err != nil {
		t.Fatal(err)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if err := w.Exec(q, args...).Error; err != nil {
			t.Fatal(q, err)
		}
	}
	exec(`INSERT INTO locations (id, name, time_zone, created_at, updated_at) VALUES (1, 'Old Town', 'UTC', ?, ?)`, t0, t0)
	exec(`INSERT INTO accounts (id, location_id, platform, handle, created_at, updated_at) VALUES (1, 1, 'google', 'oldtown', ?, ?)`, t0, t0)
	exec(`INSERT INTO conversations (id, account_id, thread_id, kind, last_message_at, created_at) VALUES (1, 1, 't', 'comment', ?, ?)`, t0, t0)
	times := []string{
		"2026-03-01 10:00:00+00:00",
		"2026-03-01 10:00:00.6089+00:00",      // rounds up
		"2026-03-01 10:00:00.6084+00:00",      // rounds down
		"2026-03-01 12:00:00.25+02:00",        // another zone: 10:00:00.250 UTC
		"2026-03-01 09:59:59.999999999+00:00", // rounds up to 10:00:00.000
		"1969-12-31 23:59:59.9996+00:00",
		"2026-11-20 09:00:00.123456789+00:00",
	}
	for i, at := range times {
		exec(`INSERT INTO messages (id, conversation_id, account_id, direction, platform_id, kind, text, created_at, received_at, needs_response)
			VALUES (?, 1, 1, 'in', ?, 'comment', 'hello?', ?, ?, 1)`, i+1, "p"+at, at, t0)
	}
	sqlDB, _ := w.DB()
	sqlDB.Close()

	s, err := Open(ctx, path, WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkSortKeys(t, s)

	// The inbox lists them newest first, equal keys by ID.
	rows, _, err := s.Inbox(ctx, InboxQuery{Filter: FilterAll})
	if err != nil {
		t.Fatal(err)
	}
	var got []int64
	for _, r := range rows {
		got = append(got, r.ID)
	}
	if want := []int64{7, 2, 3, 4, 5, 1, 6}; !slices.Equal(got, want) {
		t.Fatalf("inbox order %v, want %v", got, want)
	}
}

// TestFigureRowsKeepExactBounds: a message within half a millisecond of a
// bound has the bound's key, and still falls on its own side of it.
func TestFigureRowsKeepExactBounds(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 1)
	at := []time.Time{
		from.Add(-400 * time.Microsecond), // the day before, key = from's
		from,
		from.Add(time.Hour),
		to.Add(-300 * time.Microsecond), // the last moment of the day, key = to's
		to,
	}
	var batch []Inbound
	for i, a := range at {
		m := inbound(i+1, "hello?", true)
		m.CreatedAt = a
		batch = append(batch, m)
	}
	if _, err := s.InsertInbound(ctx, l.ID, batch); err != nil {
		t.Fatal(err)
	}
	rows, err := s.FigureRows(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var got []time.Time
	for _, r := range rows {
		got = append(got, r.CreatedAt)
	}
	if want := at[1:4]; !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("figure rows of [%s, %s) at %v, want %v", from, to, got, want)
	}
}

// TestCursorsAcrossTheKey pages through the inbox with cursors of this
// build and of builds before the sort key (the row's time in
// nanoseconds): both continue after the same row.
func TestCursorsAcrossTheKey(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	// Two messages share a key: 4 (0.6 ms past t0) and 3 (0.9 ms past).
	// Each order's first page ends on a row whose time in milliseconds,
	// cut off rather than rounded, would not be its key.
	var batch []Inbound
	for i, at := range []time.Time{t0.Add(-time.Minute), t0.Add(-2 * time.Minute), t0.Add(900 * time.Microsecond), t0.Add(600 * time.Microsecond)} {
		m := inbound(i+1, "hello?", true)
		m.CreatedAt = at
		batch = append(batch, m)
	}
	if _, err := s.InsertInbound(ctx, l.ID, batch); err != nil {
		t.Fatal(err)
	}
	ids := func(rows []MessageRow) (out []int64) {
		for _, r := range rows {
			out = append(out, r.ID)
		}
		return out
	}
	enc := func(raw string) string { return base64.RawURLEncoding.EncodeToString([]byte(raw)) }
	for _, c := range []struct {
		sort  string
		first int
		all   []int64
	}{
		{SortNewest, 1, []int64{4, 3, 1, 2}},
		{SortUrgency, 3, []int64{2, 1, 3, 4}},
	} {
		sort := c.sort
		q := InboxQuery{Filter: FilterNeedsResponse, Sort: sort}
		all, _, err := s.Inbox(ctx, q)
		if err != nil || !slices.Equal(ids(all), c.all) {
			t.Fatalf("%s: %v, %v; want %v", sort, ids(all), err, c.all)
		}
		q.Limit = c.first
		first, next, err := s.Inbox(ctx, q)
		if err != nil || next == "" {
			t.Fatalf("%s: first page %v, %q, %v", sort, ids(first), next, err)
		}
		last := first[c.first-1].Message
		old := strconv.FormatInt(last.CreatedAt.UnixNano(), 10) + ":" + strconv.FormatInt(last.ID, 10)
		if sort == SortUrgency {
			old = "u:" + strconv.Itoa(last.Priority) + ":" + old
		}
		q.Limit = 0
		for _, after := range []string{next, enc(old)} {
			q.After = after
			rest, _, err := s.Inbox(ctx, q)
			if err != nil {
				t.Fatalf("%s after %q: %v", sort, after, err)
			}
			if got, want := ids(rest), c.all[c.first:]; !slices.Equal(got, want) {
				t.Fatalf("%s after %q: %v, want %v (all: %v)", sort, after, got, want, ids(all))
			}
		}
	}
	for _, bad := range []string{enc("mx:1"), enc("m1:0"), enc("um:0:x:1"), enc("v:0:1:1")} {
		if _, _, err := s.Inbox(ctx, InboxQuery{Filter: FilterNeedsResponse, After: bad}); !errors.Is(err, ErrBadCursor) {
			t.Errorf("cursor %q: %v, want %v", bad, err, ErrBadCursor)
		}
	}
}
