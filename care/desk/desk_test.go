package desk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/branchline/branchline/models"
)

var t0 = time.Date(2026, 11, 20, 18, 0, 0, 0, time.UTC)

// newDesk sets up a location with a manager, a crew member and a trainee,
// and imports a few messages.
func newDesk(t *testing.T) (*Desk, *models.Store) {
	t.Helper()
	ctx := context.Background()
	now := func() time.Time { return t0 }
	store, err := models.Open(ctx, filepath.Join(t.TempDir(), "db"), models.WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	err = Setup(ctx, store, LocationSetup{Name: "Copper Kettle Riverside", ShortName: "Riverside", Brand: "Copper Kettle Burgers",
		TimeZone: "America/Los_Angeles", Phone: "(503) 555-0142", Address: "1200 NW Riverside Drive",
		Hours:   models.OpeningHours{"fri": {"11:00-23:00"}},
		Manager: models.Staff{Name: "Maria Lopez", Handle: "maria"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []models.Staff{{Name: "Sam Chen", Handle: "sam", Role: models.RoleCrew}, {Name: "Tom Becker", Handle: "tom", Role: models.RoleTrainee}} {
		if err := store.CreateStaff(ctx, "maria", &st); err != nil {
			t.Fatal(err)
		}
	}
	d, err := Open(ctx, store, WithClock(now))
	if err != nil {
		t.Fatal(err)
	}
	input := `{"platform":"facebook","account":"ck.riverside","id":"c1","author":"Jess Miller","author_id":"u1","text":"What time do you close tonight?","created_at":"2026-11-20T17:00:00Z","kind":"comment"}
{"platform":"facebook","account":"ck.riverside","id":"c2","author":"Eli Park","author_id":"u2","text":"My burger was cold and the fries were soggy.","created_at":"2026-11-20T17:10:00Z","kind":"comment"}
{"platform":"google","account":"ck-riverside","id":"r1","author":"Fay Wong","author_id":"u3","text":"Lovely staff, great shakes.","created_at":"2026-11-20T17:20:00Z","kind":"review","rating":5}
`
	rep, err := d.Import(ctx, strings.NewReader(input), "seed.jsonl", nil)
	if err != nil || rep.Inserted != 3 {
		t.Fatalf("import: %+v %v", rep, err)
	}
	return d, store
}

func TestRolesAreEnforcedInTheCore(t *testing.T) {
	ctx := context.Background()
	const phoneReply = "Hi Jess, call me on 503-555-0199 and I'll sort it.\n\n– Sam, Copper Kettle Riverside"
	tests := []struct {
		name      string
		in        ReplyInput
		wantState string
		wantErr   error
	}{
		{"crew reply goes straight to the outbox", ReplyInput{MessageID: 1, Staff: "sam", Template: "hours-today"}, models.ReplyQueued, nil},
		{"trainee reply waits for approval", ReplyInput{MessageID: 1, Staff: "tom", Template: "hours-today"}, models.ReplyPendingApproval, nil},
		{"crew cannot send a blocking finding", ReplyInput{MessageID: 1, Staff: "sam", Text: phoneReply}, "", ErrBlocked},
		{"crew cannot override", ReplyInput{MessageID: 1, Staff: "sam", Text: phoneReply, Override: "customer asked"}, "", ErrBlocked},
		{"manager needs a reason to override", ReplyInput{MessageID: 1, Staff: "maria", Text: phoneReply}, "", ErrBlocked},
		{"manager overrides with a reason", ReplyInput{MessageID: 1, Staff: "maria", Text: phoneReply, Override: "the customer asked for a call back"}, models.ReplyQueued, nil},
		{"trainee may not override", ReplyInput{MessageID: 1, Staff: "tom", Text: phoneReply, Override: "x"}, "", ErrNotPermitted},
		{"trainee's blocking draft goes to the manager", ReplyInput{MessageID: 1, Staff: "tom", Text: phoneReply}, models.ReplyPendingApproval, nil},
		{"crew may ask for approval", ReplyInput{MessageID: 1, Staff: "sam", Text: phoneReply, ForApproval: true}, models.ReplyPendingApproval, nil},
		{"unknown staff", ReplyInput{MessageID: 1, Staff: "mallory", Text: "hi"}, "", models.ErrNotFound},
		{"unknown template", ReplyInput{MessageID: 1, Staff: "sam", Template: "nope"}, "", ErrInvalid},
		{"empty reply", ReplyInput{MessageID: 1, Staff: "sam", Text: "   "}, "", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := newDesk(t)
			r, _, err := d.Reply(ctx, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if err == nil && r.State != tt.wantState {
				t.Fatalf("state = %s, want %s", r.State, tt.wantState)
			}
		})
	}
}

func TestApprovalLoop(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	r, _, err := d.Reply(ctx, ReplyInput{MessageID: 2, Staff: "tom", Template: "cold-food", Answers: map[string]string{"item": "Kettle Classic"}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "Hi Eli, I'm sorry your Kettle Classic") || !strings.Contains(r.Text, "– Tom, Copper Kettle Riverside") {
		t.Fatalf("rendered text = %q", r.Text)
	}
	// Nobody but a manager reviews.
	if _, _, err := d.ReviewReply(ctx, Review{ReplyID: r.ID, Manager: "sam", Approve: true}); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("crew approval: %v", err)
	}
	if _, _, err := d.ReviewReply(ctx, Review{ReplyID: r.ID, Manager: "tom", Approve: true}); !errors.Is(err, ErrNotPermitted) {
		t.Fatalf("self approval: %v", err)
	}
	// A rejection needs a note, and reopens the message.
	if _, _, err := d.ReviewReply(ctx, Review{ReplyID: r.ID, Manager: "maria"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("rejection without a note: %v", err)
	}
	rej, _, err := d.ReviewReply(ctx, Review{ReplyID: r.ID, Manager: "maria", Note: "Name the manager who will call."})
	if err != nil || rej.State != models.ReplyDraft || rej.ReviewNote == "" {
		t.Fatalf("reject: %+v %v", rej, err)
	}
	if m, _ := store.MessageByID(ctx, 2); m.Status != models.StatusOpen {
		t.Fatalf("message after rejection is %s, want open", m.Status)
	}
	// The trainee edits and resubmits; it waits again.
	re, _, err := d.Resubmit(ctx, r.ID, "tom", rej.Text+" Maria will call you today.")
	if err != nil || re.State != models.ReplyPendingApproval {
		t.Fatalf("resubmit: %+v %v", re, err)
	}
	// The manager edits and approves.
	edited := "Hi Eli, I'm sorry about your meal. Maria will call you today.\n\n– Tom, Copper Kettle Riverside"
	ok, _, err := d.ReviewReply(ctx, Review{ReplyID: r.ID, Manager: "maria", Approve: true, Note: "Good, shorter.", Text: edited})
	if err != nil || ok.State != models.ReplyQueued || ok.Text != edited || ok.ApprovedByID == nil {
		t.Fatalf("approve: %+v %v", ok, err)
	}
	// Every step is in the audit log.
	es, err := store.AuditEvents(ctx, models.AuditQuery{Subject: models.Subject("reply", r.ID)})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Actor+":"+e.Action)
	}
	if got, want := strings.Join(actions, " "), "tom:reply.submit maria:reply.reject tom:reply.edit maria:reply.approve"; got != want {
		t.Errorf("audit = %s, want %s", got, want)
	}
}

func TestApprovingABlockingDraftNeedsAnOverride(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	r, findings, err := d.Reply(ctx, ReplyInput{MessageID: 2, Staff: "tom", Text: "We guarantee a full refund, Eli.\n\n– Tom, Copper Kettle Riverside"})
	if err != nil || len(findings) == 0 {
		t.Fatalf("submit: %v %v", err, findings)
	}
	if _, _, err := d.ReviewReply(ctx, Review{ReplyID: r.ID, Manager: "maria", Approve: true}); !errors.Is(err, ErrBlocked) {
		t.Fatalf("approve without override: %v", err)
	}
	ok, _, err := d.ReviewReply(ctx, Review{ReplyID: r.ID, Manager: "maria", Approve: true, Override: "HQ approved this refund"})
	if err != nil || ok.State != models.ReplyQueued || ok.OverrideReason == "" {
		t.Fatalf("approve with override: %+v %v", ok, err)
	}
	es, _ := store.AuditEvents(ctx, models.AuditQuery{Subject: models.Subject("reply", r.ID)})
	if len(es) == 0 || es[len(es)-1].Action != "reply.override" {
		t.Fatalf("no override in the audit log: %+v", es)
	}
}

func TestOneReplyUnderWayPerMessage(t *testing.T) {
	ctx := context.Background()
	d, _ := newDesk(t)
	if _, _, err := d.Reply(ctx, ReplyInput{MessageID: 1, Staff: "sam", Template: "hours-today"}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Reply(ctx, ReplyInput{MessageID: 1, Staff: "maria", Template: "hours-today"}); !errors.Is(err, models.ErrConflict) {
		t.Fatalf("second reply: %v, want ErrConflict", err)
	}
}

func TestTemplateFillsContextValues(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	m, _ := store.MessageByID(ctx, 1)
	st, _ := d.Staff(ctx, "sam")
	text, findings, err := d.Render(ctx, "hours-today", &m, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 2026-11-20 18:00 UTC is a Friday morning in Los Angeles.
	want := "Hi Jess, we're open 11 am to 11 pm today at 1200 NW Riverside Drive. See you soon!\n\n– Sam, Copper Kettle Riverside"
	if text != want {
		t.Errorf("rendered %q, want %q", text, want)
	}
	if len(findings) != 0 {
		t.Errorf("a default template has findings: %+v", findings)
	}
	if _, _, err := d.Render(ctx, "cold-food", &m, st, nil); err == nil || !strings.Contains(err.Error(), "What they ordered") {
		t.Errorf("a missing prompt: %v", err)
	}
}

func TestImportTwiceAddsNothing(t *testing.T) {
	ctx := context.Background()
	d, store := newDesk(t)
	input := "platform,account,id,thread,author,author_id,text,created_at,kind,rating\n" +
		"facebook,ck.riverside,c1,,Jess Miller,u1,What time do you close tonight?,2026-11-20T17:00:00Z,comment,\n" +
		"facebook,ck.riverside,c9,,Ann,u9,Do you have high chairs?,2026-11-20T17:30:00Z,comment,\n" +
		"facebook,ck.riverside,c10,,Bo,u10,hello,not-a-date,comment,\n"
	for i, want := range []int{1, 0} {
		rep, err := d.Import(ctx, strings.NewReader(input), "more.csv", nil)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Inserted != want || rep.Rejected != 1 || rep.Errors[0].Line != 4 {
			t.Fatalf("import %d: %+v", i+1, rep)
		}
	}
	if n, _ := store.CountMessages(ctx, "in"); n != 4 {
		t.Fatalf("%d messages, want 4", n)
	}
}

// cancelAfter reads r and cancels once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	if c.n -= k; c.n <= 0 {
		c.cancel()
	}
	return k, err
}

// TestImportStoppedFromOutside: an import whose context ends part-way says
// so, keeps what it stored, and leaves an audit entry that names the
// error (the commit that makes the stored rows durable).
func TestImportStoppedFromOutside(t *testing.T) {
	d, store := newDesk(t)
	var in strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&in, `{"platform":"facebook","account":"ck.riverside","id":"s%d","author":"Ann","author_id":"u%d","text":"Do you have high chairs? (%d)","created_at":"2026-11-20T17:00:00Z","kind":"comment"}`+"\n", i, i%50, i)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rep, err := d.Import(ctx, &cancelAfter{r: strings.NewReader(in.String()), n: in.Len() / 2, cancel: cancel}, "stopped.jsonl", nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the import to say it was cancelled", err)
	}
	if rep.Inserted >= 3000 {
		t.Fatalf("report %+v: all rows stored although the import stopped half-way", rep)
	}
	n, _ := store.CountMessages(context.Background(), "in")
	events, _ := store.AuditEvents(context.Background(), models.AuditQuery{Subject: "import:stopped.jsonl"})
	if len(events) != 1 || !strings.Contains(events[0].Detail, "context canceled") {
		t.Fatalf("audit entries for the import: %+v, want one naming the error", events)
	}
	if !strings.Contains(events[0].Detail, fmt.Sprintf(`"inserted":%d`, rep.Inserted)) {
		t.Errorf("audit entry %s does not give the %d rows the report gives", events[0].Detail, rep.Inserted)
	}
	// Importing the file again completes it.
	rep2, err := d.Import(context.Background(), strings.NewReader(in.String()), "stopped.jsonl", nil)
	if err != nil {
		t.Fatal(err)
	}
	if n2, _ := store.CountMessages(context.Background(), "in"); n2-n != int64(rep2.Inserted) || rep.Inserted+rep2.Inserted != 3000 {
		t.Fatalf("second import: %+v (first stored %d); %d messages before, %d after", rep2, rep.Inserted, n, n2)
	}
}
