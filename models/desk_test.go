package models

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedQueue stores n inbound messages, one a minute before t0 going
// back, every third not needing a response, with priorities cycling
// 0..4 × 10 (a crisis adds 50 to every seventh).
func seedQueue(t *testing.T, s *Store, l Location, n int, age time.Duration) []int64 {
	t.Helper()
	batch := make([]Inbound, n)
	for i := range n {
		in := inbound(i, fmt.Sprintf("question %d about fries?", i), i%3 != 0)
		in.PlatformID = fmt.Sprintf("q-%d", i)
		in.ThreadID = fmt.Sprintf("thread-%d", i%10)
		in.CreatedAt = t0.Add(-age - time.Duration(i)*time.Minute)
		in.Triage.Priority = (i % 5) * 10
		if i%7 == 0 {
			in.Triage.Crisis, in.Triage.Priority = "food_safety", in.Triage.Priority+50
		}
		batch[i] = in
	}
	res, err := s.InsertInbound(context.Background(), l.ID, batch)
	if err != nil || res.Inserted != n {
		t.Fatalf("insert: %+v %v", res, err)
	}
	return res.IDs
}

func TestInboxNewFiltersAndUrgency(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	seedQueue(t, s, l, 60, 0) // the last hour
	seedQueue2 := func(prefix string, age time.Duration, n int) {
		batch := make([]Inbound, n)
		for i := range n {
			in := inbound(i, "old question?", true)
			in.PlatformID = fmt.Sprintf("%s-%d", prefix, i)
			in.CreatedAt = t0.Add(-age - time.Duration(i)*time.Minute)
			batch[i] = in
		}
		if _, err := s.InsertInbound(ctx, l.ID, batch); err != nil {
			t.Fatal(err)
		}
	}
	seedQueue2("day2", 30*time.Hour, 5) // over 24 h, under 72 h
	seedQueue2("day4", 90*time.Hour, 3) // over 72 h

	count := func(q InboxQuery) int {
		t.Helper()
		rows, _, err := s.Inbox(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		return len(rows)
	}
	awaiting := 40 + 8 // two in three of 60, and the old ones
	for _, tc := range []struct {
		q    InboxQuery
		want int
	}{
		{InboxQuery{Filter: FilterNeedsResponse, Limit: 500}, awaiting},
		{InboxQuery{Filter: FilterOver24h, Limit: 500}, 8},
		{InboxQuery{Filter: FilterOver72h, Limit: 500}, 3},
		{InboxQuery{Filter: FilterEscalated, Limit: 500}, 0},
		{InboxQuery{Filter: FilterMine, StaffID: 1, Limit: 500}, 0},
		{InboxQuery{Filter: FilterOver24h, Search: "old", Limit: 500}, 8},
		{InboxQuery{Filter: FilterOver72h, Search: "fries", Limit: 500}, 0},
	} {
		if got := count(tc.q); got != tc.want {
			t.Errorf("%+v: %d messages, want %d", tc.q, got, tc.want)
		}
		if n, err := s.CountInboxQuery(ctx, tc.q); tc.q.Search == "" && (err != nil || int(n) != tc.want) {
			t.Errorf("count %+v = %d, %v; want %d", tc.q, n, err, tc.want)
		}
	}
	for _, bad := range []InboxQuery{
		{Filter: FilterMine},                     // whose?
		{Filter: "nonsense"},                     // unknown filter
		{Filter: FilterAll, Sort: SortUrgency},   // not a queue
		{Filter: FilterNeedsResponse, Sort: "x"}, // unknown order
		{Filter: FilterNeedsResponse, Sort: SortUrgency, After: Cursor(Message{ID: 3, CreatedAt: t0})}, // wrong cursor kind
	} {
		if _, _, err := s.Inbox(ctx, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}

	// Urgency, in pages of 7: priority never rises, and within a priority
	// the longest waiting comes first; every message exactly once.
	var all []MessageRow
	after := ""
	for {
		rows, next, err := s.Inbox(ctx, InboxQuery{Filter: FilterNeedsResponse, Sort: SortUrgency, Limit: 7, After: after})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, rows...)
		if next == "" {
			break
		}
		after = next
	}
	if len(all) != awaiting {
		t.Fatalf("urgency pages hold %d messages, want %d", len(all), awaiting)
	}
	seen := map[int64]bool{}
	for i, r := range all {
		if seen[r.ID] {
			t.Fatalf("message %d twice", r.ID)
		}
		seen[r.ID] = true
		if i == 0 {
			continue
		}
		p := all[i-1]
		if r.Priority > p.Priority || (r.Priority == p.Priority && r.CreatedAt.Before(p.CreatedAt)) {
			t.Fatalf("row %d (priority %d, %s) after row %d (priority %d, %s)", i, r.Priority, r.CreatedAt, i-1, p.Priority, p.CreatedAt)
		}
	}
	if all[0].Crisis == "" {
		t.Error("a crisis is not first")
	}
}

func TestAssignmentEscalationMarksAndNotes(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	ids := seedQueue(t, s, l, 20, 0)
	sam := Staff{Name: "Sam Chen", Handle: "sam", Role: RoleCrew}
	if err := s.CreateStaff(ctx, "system", &sam); err != nil {
		t.Fatal(err)
	}
	m, _ := s.MessageByID(ctx, ids[1])
	if err := s.Assign(ctx, "sam", m.ConversationID, &sam.ID, "customer_care"); err != nil {
		t.Fatal(err)
	}
	mine, _, err := s.Inbox(ctx, InboxQuery{Filter: FilterMine, StaffID: sam.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(mine) == 0 {
		t.Fatal("nothing assigned to Sam is listed")
	}
	for _, r := range mine {
		if r.ConversationID != m.ConversationID || r.AssigneeName != "Sam Chen" || r.ConversationDepartment != "customer_care" {
			t.Errorf("mine: %+v", r)
		}
	}

	// With a department, "mine" adds the unassigned conversations of it.
	before := len(mine)
	if err := s.SetStaffDepartment(ctx, "maria", sam.ID, "sales"); err != nil {
		t.Fatal(err)
	}
	mine, _, err = s.Inbox(ctx, InboxQuery{Filter: FilterMine, StaffID: sam.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	all, _, _ := s.Inbox(ctx, InboxQuery{Filter: FilterUnanswered, Limit: 100})
	if len(mine) != len(all) || len(mine) <= before {
		// Every seeded message is a sales one (inbound's triage).
		t.Errorf("mine with the sales department: %d of %d unanswered (%d assigned)", len(mine), len(all), before)
	}
	if err := s.Assign(ctx, "maria", m.ConversationID, nil, "customer_care"); err != nil {
		t.Fatal(err)
	}
	mine, _, _ = s.Inbox(ctx, InboxQuery{Filter: FilterMine, StaffID: sam.ID, Limit: 100})
	for _, r := range mine {
		if r.ConversationID == m.ConversationID {
			t.Fatal("a conversation given to customer care is still in a sales person's list")
		}
	}

	mark := EscalationMark{EscalationID: "store-1:7", Level: "hq", Severity: "critical", Category: "food_safety"}
	for range 2 { // idempotent
		if err := s.MarkEscalated(ctx, "sam", ids[4], mark); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.MarkEscalated(ctx, "sam", 999999, mark); !errors.Is(err, ErrNotFound) {
		t.Errorf("marking an unknown message: %v", err)
	}
	esc, _, _ := s.Inbox(ctx, InboxQuery{Filter: FilterEscalated})
	if len(esc) != 1 || esc[0].ID != ids[4] || !esc[0].Escalated {
		t.Fatalf("escalated filter: %+v", esc)
	}
	marks, _ := s.MessageEscalations(ctx, ids[4])
	if len(marks) != 1 || marks[0].Severity != "critical" {
		t.Errorf("marks: %+v", marks)
	}
	events, _ := s.AuditEvents(ctx, AuditQuery{Subject: Subject("message", ids[4])})
	if !slices.ContainsFunc(events, func(e AuditEvent) bool { return e.Action == "message.escalate" }) || len(events) != 1 {
		t.Errorf("audit of the escalation: %+v", events)
	}

	if _, err := s.AddNote(ctx, "sam", m.ConversationID, sam.ID, "Called back, wants a refund."); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddNote(ctx, "sam", 424242, sam.ID, "lost"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a note on an unknown conversation: %v", err)
	}
	notes, _ := s.Notes(ctx, m.ConversationID)
	if len(notes) != 1 || notes[0].AuthorName != "Sam Chen" || !strings.Contains(notes[0].Text, "refund") {
		t.Errorf("notes: %+v", notes)
	}
}

// A direct-message conversation is one row, shown by its newest message
// (or, by urgency, its most urgent); a sent reply answers the earlier
// messages too. Comments in one thread stay separate rows.
func TestDirectMessageConversationsAreOneRow(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	l := mustLocation(t, s)
	var batch []Inbound
	for i, p := range []int{80, 10, 20} { // the oldest is the most urgent
		in := inbound(i, fmt.Sprintf("dm %d?", i), true)
		in.PlatformID, in.ThreadID, in.Kind = fmt.Sprintf("dm-%d", i), "dm-thread", "dm"
		in.CreatedAt = t0.Add(-time.Duration(30-i) * time.Minute)
		in.Triage.Priority = p
		batch = append(batch, in)
	}
	for i := range 2 {
		in := inbound(10+i, fmt.Sprintf("comment %d?", i), true)
		in.PlatformID, in.ThreadID = fmt.Sprintf("c-%d", i), "post-1"
		batch = append(batch, in)
	}
	res, err := s.InsertInbound(ctx, l.ID, batch)
	if err != nil || res.Inserted != 5 {
		t.Fatalf("insert: %+v %v", res, err)
	}
	newest, oldest := res.IDs[2], res.IDs[0]
	list := func(q InboxQuery) []MessageRow {
		t.Helper()
		rows, _, err := s.Inbox(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	dmRow := func(rows []MessageRow) (MessageRow, int) {
		var r MessageRow
		n := 0
		for _, x := range rows {
			if x.Kind == "dm" {
				r, n = x, n+1
			}
		}
		return r, n
	}
	for _, tc := range []struct {
		q    InboxQuery
		want int64
	}{
		{InboxQuery{Filter: FilterNeedsResponse}, newest},
		{InboxQuery{Filter: FilterNeedsResponse, Sort: SortUrgency}, oldest},
		{InboxQuery{Filter: FilterAll}, newest},
	} {
		rows := list(tc.q)
		r, n := dmRow(rows)
		if n != 1 || r.ID != tc.want || len(rows) != 3 {
			t.Errorf("%+v: %d rows, %d for the conversation, shown by %d (want %d)", tc.q, len(rows), n, r.ID, tc.want)
		}
		if r.Waiting != 3 {
			t.Errorf("%+v: %d waiting, want 3", tc.q, r.Waiting)
		}
	}
	if n, _ := s.CountInbox(ctx, FilterNeedsResponse); n != 3 {
		t.Errorf("count: %d, want 3 (a conversation and two comments)", n)
	}

	// Answer the conversation through its newest message.
	m, _ := s.MessageByID(ctx, newest)
	r, err := s.CreateReply(ctx, NewReply{Reply: Reply{MessageID: newest, ConversationID: m.ConversationID, AccountID: m.AccountID,
		AuthorID: mustStaff(t, s).ID, Text: "Thanks, sorted.", Private: true, State: ReplyQueued, IdempotencyKey: "k1", Findings: "[]"},
		Actor: "sam", AuditAction: "reply.queue"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClaimReply(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkSent(ctx, r.ID, "remote-1", "posted"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.CountMessages(ctx, "out"); n != 1 {
		t.Fatalf("%d outbound messages after the reply, want 1", n)
	}
	checkSortKeys(t, s) // the reply's, stored through GORM, too
	for _, id := range res.IDs[:3] {
		if m, _ := s.MessageByID(ctx, id); m.Status != StatusAnswered || m.AnsweredAt == nil {
			t.Errorf("dm %d after the reply: %s", id, m.Status)
		}
	}
	for _, id := range res.IDs[3:] {
		if m, _ := s.MessageByID(ctx, id); m.Status != StatusOpen {
			t.Errorf("comment %d after a reply in another conversation: %s", id, m.Status)
		}
	}
}

func mustStaff(t *testing.T, s *Store) Staff {
	t.Helper()
	st := Staff{Name: "Sam Chen", Handle: "sam", Role: RoleCrew}
	if err := s.CreateStaff(context.Background(), "system", &st); err != nil {
		t.Fatal(err)
	}
	return st
}
