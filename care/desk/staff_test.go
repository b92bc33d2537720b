package desk

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/models"
)

func TestPINsAndLockout(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	clock := t0
	d.now = func() time.Time { return clock }

	// No PIN: any PIN signs in.
	if st, err := d.Login(ctx, "tom", ""); err != nil || st.Handle != "tom" {
		t.Fatalf("login without a PIN: %+v %v", st, err)
	}
	for _, tc := range []struct {
		name, actor, handle, pin string
		want                     error
	}{
		{"crew sets another's PIN", "sam", "tom", "1234", ErrNotPermitted},
		{"too short", "tom", "tom", "123", ErrInvalid},
		{"not digits", "tom", "tom", "12a4", ErrInvalid},
		{"too long", "tom", "tom", "123456789", ErrInvalid},
		{"own PIN", "tom", "tom", "2468", nil},
		{"manager sets another's", "maria", "sam", "1357", nil},
	} {
		if err := d.SetPIN(ctx, tc.actor, tc.handle, tc.pin); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	st, _ := store.StaffByHandle(ctx, "tom")
	if !strings.HasPrefix(st.PINHash, "argon2id$") || strings.Contains(st.PINHash, "2468") {
		t.Fatalf("stored PIN hash %q", st.PINHash)
	}
	if _, err := d.Login(ctx, "tom", "2468"); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	for i := range 4 {
		if _, err := d.Login(ctx, "tom", "0000"); !errors.Is(err, ErrBadPIN) {
			t.Fatalf("wrong PIN %d: %v", i+1, err)
		}
	}
	if _, err := d.Login(ctx, "tom", "0000"); !errors.Is(err, ErrLocked) {
		t.Fatalf("fifth wrong PIN: %v", err)
	}
	// Locked: even the right PIN is refused until the lock ends.
	if _, err := d.Login(ctx, "tom", "2468"); !errors.Is(err, ErrLocked) {
		t.Fatalf("right PIN while locked: %v", err)
	}
	clock = clock.Add(5*time.Minute + time.Second)
	if _, err := d.Login(ctx, "tom", "2468"); err != nil {
		t.Fatalf("right PIN after the lock: %v", err)
	}
	// A manager clears a PIN; no PIN ever reaches the audit log.
	if err := d.SetPIN(ctx, "maria", "tom", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Login(ctx, "tom", "anything"); err != nil {
		t.Fatalf("after clearing: %v", err)
	}
	events, _ := store.AuditEvents(ctx, models.AuditQuery{Limit: 1000})
	for _, e := range events {
		if strings.Contains(e.Detail, "2468") || strings.Contains(e.Detail, "argon2id") {
			t.Fatalf("audit event leaks the PIN: %+v", e)
		}
	}
}

func TestNotesAndApprovalFigures(t *testing.T) {
	ctx := context.Background()
	d, _ := newDesk(t)
	m, _ := d.Message(ctx, 2)
	if _, err := d.AddNote(ctx, "sam", m.ConversationID, "   "); !errors.Is(err, ErrInvalid) {
		t.Errorf("empty note: %v", err)
	}
	if _, err := d.AddNote(ctx, "sam", m.ConversationID, strings.Repeat("x", 2001)); !errors.Is(err, ErrInvalid) {
		t.Errorf("long note: %v", err)
	}
	if n, err := d.AddNote(ctx, "sam", m.ConversationID, "Regular; ask for Maria."); err != nil || n.ID == 0 {
		t.Fatalf("note: %+v %v", n, err)
	}

	// Tom: one rejected, one approved with edits, one approved as written.
	review := func(msg int64, text string, rv Review) {
		t.Helper()
		r, _, err := d.Reply(ctx, ReplyInput{MessageID: msg, Staff: "tom", Text: text})
		if err != nil {
			t.Fatal(err)
		}
		pend, err := d.PendingApprovals(ctx)
		if err != nil || len(pend) != 1 || pend[0].Reply.ID != r.ID || pend[0].AuthorName != "Tom Becker" || pend[0].Message.ID != msg {
			t.Fatalf("pending: %+v %v", pend, err)
		}
		rv.ReplyID, rv.Manager = r.ID, "maria"
		if _, _, err := d.ReviewReply(ctx, rv); err != nil {
			t.Fatal(err)
		}
	}
	signed := "\n\n– Tom, Copper Kettle Riverside"
	review(1, "We close at 23:00 tonight."+signed, Review{Note: "Say which day."})
	review(1, "We close at 23:00 tonight."+signed, Review{Approve: true, Text: "We close at 23:00 tonight, Friday." + signed})
	review(2, "Sorry about the cold burger, we will fix it."+signed, Review{Approve: true})

	fb, err := d.MyFeedback(ctx, "tom", 10)
	if err != nil || len(fb) != 3 {
		t.Fatalf("feedback: %+v %v", fb, err)
	}
	if fb[2].Outcome != models.ReviewRejected || fb[2].Note != "Say which day." || fb[2].Reviewer != "Maria Lopez" {
		t.Errorf("oldest feedback: %+v", fb[2])
	}
	weeks, err := d.ApprovalStats(ctx, 4)
	if err != nil || len(weeks) != 1 {
		t.Fatalf("stats: %+v %v", weeks, err)
	}
	w := weeks[0]
	if w.Handle != "tom" || w.Reviewed != 3 || w.Approved != 1 || w.Edited != 1 || w.Rejected != 1 || w.Rate < 0.33 || w.Rate > 0.34 {
		t.Errorf("Tom's week: %+v", w)
	}
	// t0 is Friday 20 November 2026; its week starts on Monday the 16th
	// in Portland.
	if w.WeekStart != "2026-11-16" {
		t.Errorf("week starts %s", w.WeekStart)
	}
}

func TestDepartments(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	for _, tc := range []struct {
		actor, dept string
		want        error
	}{
		{"sam", "sales", ErrNotPermitted},
		{"maria", "kitchen", ErrInvalid},
		{"maria", "sales", nil},
		{"maria", "", nil},
		{"maria", "pr", nil},
	} {
		if err := d.SetDepartment(ctx, tc.actor, "tom", tc.dept); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("%s sets %q: %v, want %v", tc.actor, tc.dept, err, tc.want)
		}
	}
	if st, _ := store.StaffByHandle(ctx, "tom"); st.Department != "pr" {
		t.Errorf("Tom's department: %q", st.Department)
	}
}
