package models

import (
	"context"
	"fmt"
	"math"
	"testing"

	"gorm.io/gorm"
)

// foreignKeyProblems lists the rows whose references point nowhere: bulk
// inserts run with the checks off, so this is the check.
func foreignKeyProblems(t *testing.T, s *Store) []string {
	t.Helper()
	db, err := s.r.DB()
	if err != nil {
		t.Fatal(err)
	}
	rows, err := db.Query(`PRAGMA foreign_key_check`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var table, parent string
		var rowid, fk any
		if err := rows.Scan(&table, &rowid, &parent, &fk); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s row %v → %s", table, rowid, parent))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestIDCacheHoldsOnlyCommittedIDs: a batch that rolls back leaves no IDs
// behind (its customer and conversation were never stored), so the next
// batch makes them again instead of pointing at rows that do not exist.
func TestIDCacheHoldsOnlyCommittedIDs(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	good := inbound(1, "is the patio open?", true)
	good.AuthorID, good.ThreadID = "u-new", "post-9"
	bad := inbound(2, "thanks!", false)
	bad.Triage.Sentiment = math.NaN()
	if _, err := s.InsertInbound(ctx, l.ID, []Inbound{good, bad}); err == nil {
		t.Fatal("a batch with a NaN sentiment was stored")
	}
	if n, m := s.customerIDs.len(), s.conversationIDs.len(); n != 0 || m != 0 {
		t.Fatalf("a rolled-back batch left %d customer and %d conversation IDs cached", n, m)
	}
	res, err := s.InsertInbound(ctx, l.ID, []Inbound{good})
	if err != nil || res.Inserted != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if p := foreignKeyProblems(t, s); len(p) > 0 {
		t.Fatalf("references to nothing: %v", p)
	}
	row, err := s.MessageByID(ctx, res.IDs[0])
	if err != nil {
		t.Fatal(err)
	}
	var userID string
	if err := s.read(ctx).Raw(`SELECT platform_user_id FROM customers WHERE id = ?`, row.CustomerID).Scan(&userID).Error; err != nil || userID != "u-new" {
		t.Fatalf("the message's customer is %q (%v), want u-new", userID, err)
	}
}

// TestIDCacheReusesCommittedIDs: a later batch from the same customer in
// the same thread gets the same customer and conversation, from the cache.
func TestIDCacheReusesCommittedIDs(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	first := inbound(1, "is the patio open?", true)
	first.ThreadID = "post-9"
	later := inbound(8, "and on sundays?", true) // the same author as 1 (i % 7)
	later.ThreadID = "post-9"
	var rows []MessageRow
	for _, m := range []Inbound{first, later} {
		res, err := s.InsertInbound(ctx, l.ID, []Inbound{m})
		if err != nil || res.Inserted != 1 {
			t.Fatalf("%+v %v", res, err)
		}
		row, err := s.MessageByID(ctx, res.IDs[0])
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, row)
	}
	if s.customerIDs.len() != 1 || s.conversationIDs.len() != 1 {
		t.Errorf("cached %d customers and %d conversations, want 1 and 1", s.customerIDs.len(), s.conversationIDs.len())
	}
	// The cache, not a lookup, gives a known customer: re-keyed behind
	// the store's back (which nothing in Branchline does), the customer
	// is still found for the next message.
	if err := s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE customers SET platform_user_id = 'elsewhere' WHERE id = ?`, *rows[0].CustomerID).Error
	}); err != nil {
		t.Fatal(err)
	}
	third := inbound(15, "and holidays?", true) // the same author again
	third.ThreadID = "post-9"
	res, err := s.InsertInbound(ctx, l.ID, []Inbound{third})
	if err != nil {
		t.Fatal(err)
	}
	row, err := s.MessageByID(ctx, res.IDs[0])
	if err != nil {
		t.Fatal(err)
	}
	if row.CustomerID == nil || *row.CustomerID != *rows[0].CustomerID {
		var got any = row.CustomerID
		if row.CustomerID != nil {
			got = *row.CustomerID
		}
		t.Errorf("the third message's customer is %v, want the cached %d", got, *rows[0].CustomerID)
	}
	if rows[0].CustomerID == nil || rows[1].CustomerID == nil || *rows[0].CustomerID != *rows[1].CustomerID ||
		rows[0].ConversationID != rows[1].ConversationID {
		t.Errorf("two messages of one customer in one thread: customers %v %v, conversations %d %d",
			rows[0].CustomerID, rows[1].CustomerID, rows[0].ConversationID, rows[1].ConversationID)
	}
	if p := foreignKeyProblems(t, s); len(p) > 0 {
		t.Fatalf("references to nothing: %v", p)
	}
}

func TestIDCacheIsBounded(t *testing.T) {
	var c idCache[int]
	fill := func(from, n int) map[int]int64 {
		m := make(map[int]int64, n)
		for i := range n {
			m[from+i] = int64(from + i)
		}
		return m
	}
	full := fill(0, idCacheMax)
	c.addAll(full)
	if c.len() != idCacheMax {
		t.Fatalf("len %d, want %d", c.len(), idCacheMax)
	}
	c.addAll(full) // keys it has: nothing changes
	if c.len() != idCacheMax {
		t.Fatalf("len %d after adding keys it had, want %d", c.len(), idCacheMax)
	}
	c.addAll(fill(idCacheMax, 1)) // a new key finds it full: start again
	if c.len() != 1 {
		t.Fatalf("len %d after passing the bound, want 1", c.len())
	}
	if id, ok := c.get(idCacheMax); !ok || id != idCacheMax {
		t.Fatalf("get = %d, %v", id, ok)
	}
	if _, ok := c.get(5); ok {
		t.Fatal("an ID from before the restart is still cached")
	}
	c.addAll(fill(0, 2*idCacheMax+3))
	if n := c.len(); n == 0 || n > idCacheMax {
		t.Fatalf("len %d after a batch over the bound, want 1 to %d", n, idCacheMax)
	}
}
