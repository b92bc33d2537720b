package models

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestDriverHandle: the SQLite driver go.mod requires hands over its
// connection's handle inside Conn.Raw, statements prepared on it run in
// the transaction open on the connection, and what goes wrong is said. If
// a new driver version moves the handle, this fails (bulk inserts would
// still work, through the driver, slowly).
func TestDriverHandle(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	db, err := s.w.DB()
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `CREATE TEMP TABLE handle_test (a, b)`); err != nil {
		t.Fatal(err)
	}
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() // before conn.Close, which waits for it
	long := strings.Repeat("y", 10000)
	err = conn.Raw(func(dc any) error {
		c, err := rawConnOf(dc)
		if err != nil {
			return fmt.Errorf("the driver's handle: %w", err)
		}
		if _, err := c.prepare(`INSERT INTO nowhere VALUES (?)`); err == nil || !strings.Contains(err.Error(), "no such table: nowhere") {
			t.Errorf("preparing for a missing table: err = %v", err)
		}
		st, err := c.prepare(`INSERT INTO temp.handle_test VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer st.close()
		if st.params != 2 {
			t.Errorf("params = %d, want 2", st.params)
		}
		if err := st.int(3, 1); err == nil || !strings.Contains(err.Error(), "parameter 3") {
			t.Errorf("binding a third parameter: err = %v", err)
		}
		if err := st.row(2); err != nil {
			return err
		}
		if err := st.text(1, "abc"); err == nil {
			t.Error("text longer than the row announced was bound")
		}
		// Empty text first (before the buffer ever grew), then text that
		// makes it grow.
		for i, v := range []string{"", "x", long} {
			if err := errors.Join(st.row(len(v)), st.int(1, int64(i)), st.text(2, v), st.exec()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var n, empty int
	var longest string
	if err := tx.QueryRowContext(ctx, `SELECT count(*), max(b), sum(b = '') FROM temp.handle_test`).Scan(&n, &longest, &empty); err != nil {
		t.Fatal(err)
	}
	if n != 3 || empty != 1 || longest != long {
		t.Errorf("in the transaction: %d rows, %d empty (not NULL), longest %d bytes; want 3, 1, %d", n, empty, len(longest), len(long))
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT count(*) FROM temp.handle_test`).Scan(&n); err != nil || n != 0 {
		t.Errorf("after the rollback: %d rows (%v), want none", n, err)
	}

	for _, v := range []any{nil, struct{}{}, &struct{ db uintptr }{}, db} {
		if _, err := rawConnOf(v); err == nil {
			t.Errorf("rawConnOf(%T) gave a handle", v)
		}
	}
}

// TestStagingWaysStoreTheSame: rows staged on the connection's handle and
// rows staged through the driver are stored alike, value for value and
// type for type, however awkward the text.
func TestStagingWaysStoreTheSame(t *testing.T) {
	awkward := []string{
		"", "plain", "it's \"quoted\" \\ back", "nul\x00inside", "bad utf-8 \xff\xfe", "emoji 🍟🔥 and ü",
		strings.Repeat("long ", 20000), "line\nbreak\ttab",
	}
	var batch []Inbound
	for i, text := range awkward {
		m := inbound(i+1, text, i%2 == 0)
		m.Triage.Sentiment = 0.1 + 0.2*float64(i)/3
		m.Triage.Priority = 50 * (i % 2)
		m.Triage.Crisis = []string{"", "food_safety"}[i%2]
		m.Rating = i % 6
		m.CreatedAt = t0.Add(time.Duration(i) * 1234567 * time.Nanosecond)
		if i == 3 {
			m.AuthorID, m.AuthorName = "", "" // no customer
		}
		batch = append(batch, m)
	}
	const cols = `conversation_id, account_id, customer_id, typeof(customer_id), platform_id, kind, author_name, author_id,
		text, rating, typeof(rating), created_at, source, needs_response, stage, department,
		sentiment, typeof(sentiment), crisis, priority, listening, reasons, status, direction, created_ms, typeof(created_ms)`
	stored := map[bool][][]any{}
	for _, driver := range []bool{false, true} {
		var logs bytes.Buffer
		s, err := Open(context.Background(), filepath.Join(t.TempDir(), "branchline.db"),
			WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		s.driverStaging = driver
		ctx := context.Background()
		l := mustLocation(t, s)
		res, err := s.InsertInbound(ctx, l.ID, batch)
		if err != nil {
			t.Fatalf("driver staging %v: %v", driver, err)
		}
		if res.Inserted != len(batch) {
			t.Fatalf("driver staging %v: %+v", driver, res)
		}
		if strings.Contains(logs.String(), "through the driver") {
			t.Fatalf("the handle could not be had: %s", logs.String())
		}
		checkSortKeys(t, s)
		db, _ := s.r.DB()
		rows, err := db.QueryContext(ctx, `SELECT `+cols+` FROM messages ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		colNames, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(colNames))
			ptrs := make([]any, len(vals))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, v := range vals {
				if b, ok := v.([]byte); ok {
					vals[i] = string(b)
				}
				if tm, ok := v.(time.Time); ok {
					vals[i] = tm.UTC()
				}
			}
			stored[driver] = append(stored[driver], vals)
		}
		if err := rows.Close(); err != nil {
			t.Fatal(err)
		}
		for i, row := range stored[driver] {
			m := batch[i]
			get := func(col string) any { return row[indexOf(colNames, col)] }
			if get("text") != m.Text || get("author_name") != m.AuthorName || get("platform_id") != m.PlatformID {
				t.Errorf("driver staging %v, row %d: text %q, author %q, ID %q; want %q, %q, %q", driver, i,
					trim(get("text")), get("author_name"), get("platform_id"), trim(m.Text), m.AuthorName, m.PlatformID)
			}
			if get("sentiment") != m.Triage.Sentiment || get("typeof(sentiment)") != "real" {
				t.Errorf("driver staging %v, row %d: sentiment %v (%v), want %v", driver, i, get("sentiment"), get("typeof(sentiment)"), m.Triage.Sentiment)
			}
			if get("rating") != int64(m.Rating) || get("typeof(rating)") != "integer" || get("priority") != int64(m.Triage.Priority) {
				t.Errorf("driver staging %v, row %d: rating %v (%v), priority %v", driver, i, get("rating"), get("typeof(rating)"), get("priority"))
			}
			if (get("typeof(customer_id)") == "null") != (i == 3) {
				t.Errorf("driver staging %v, row %d: customer %v", driver, i, get("customer_id"))
			}
			if at, ok := get("created_at").(time.Time); !ok || !at.Equal(m.CreatedAt) {
				t.Errorf("driver staging %v, row %d: created_at %v, want %v", driver, i, get("created_at"), m.CreatedAt)
			}
		}
	}
	if len(stored[true]) != len(batch) || !reflect.DeepEqual(stored[false], stored[true]) {
		for i := range min(len(stored[false]), len(stored[true])) {
			if !reflect.DeepEqual(stored[false][i], stored[true][i]) {
				t.Errorf("row %d differs:\n handle: %v\n driver: %v", i, trimRow(stored[false][i]), trimRow(stored[true][i]))
			}
		}
		t.Fatalf("staged on the handle: %d rows, through the driver: %d", len(stored[false]), len(stored[true]))
	}
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if strings.TrimSpace(n) == name {
			return i
		}
	}
	panic("no column " + name)
}

func trim(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func trimRow(row []any) []string {
	out := make([]string, len(row))
	for i, v := range row {
		out[i] = trim(v)
	}
	return out
}

// Both ways of staging must give the same IDs and skip the same rows.
func TestStagingWaysAgreeOnDuplicates(t *testing.T) {
	for _, driver := range []bool{false, true} {
		t.Run(fmt.Sprintf("driver=%v", driver), func(t *testing.T) {
			s, _ := openTest(t)
			s.driverStaging = driver
			ctx := context.Background()
			l := mustLocation(t, s)
			first := []Inbound{inbound(1, "a", true), inbound(2, "b", true)}
			if _, err := s.InsertInbound(ctx, l.ID, first); err != nil {
				t.Fatal(err)
			}
			mixed := []Inbound{inbound(3, "c", true), inbound(1, "a", true), inbound(4, "d", false), inbound(3, "c", true)}
			res, err := s.InsertInbound(ctx, l.ID, mixed)
			if err != nil {
				t.Fatal(err)
			}
			if res.Inserted != 2 || res.Duplicates != 2 || !reflect.DeepEqual(res.Index, []int{0, 2}) || !reflect.DeepEqual(res.IDs, []int64{3, 4}) {
				t.Fatalf("mixed batch: %+v, want rows 0 and 2 stored as 3 and 4", res)
			}
			var hits int
			db, _ := s.r.DB()
			if err := db.QueryRowContext(ctx, `SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'd'`).Scan(&hits); err != nil {
				t.Fatal(err)
			}
			if hits != 1 {
				t.Errorf("full-text index finds %d messages with d, want 1", hits)
			}
		})
	}
}
