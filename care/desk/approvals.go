package desk

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/branchline/branchline/care/brand"
	"github.com/branchline/branchline/models"
)

// PendingApproval is a reply waiting for a manager, with its message and
// author.
type PendingApproval struct {
	Reply        models.Reply
	Message      Item
	AuthorName   string
	AuthorHandle string
	Findings     []brand.Finding
}

// PendingApprovals lists the replies waiting for approval, oldest first.
func (d *Desk) PendingApprovals(ctx context.Context) ([]PendingApproval, error) {
	rs, err := d.store.Replies(ctx, models.RepliesQuery{States: []string{models.ReplyPendingApproval}, Limit: 500})
	if err != nil {
		return nil, err
	}
	out := make([]PendingApproval, 0, len(rs))
	names := map[int64]models.Staff{}
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		m, err := d.store.MessageByID(ctx, r.MessageID)
		if err != nil {
			return nil, err
		}
		st, ok := names[r.AuthorID]
		if !ok {
			if st, err = d.store.StaffByID(ctx, r.AuthorID); err != nil {
				return nil, err
			}
			names[r.AuthorID] = st
		}
		p := PendingApproval{Reply: r, Message: ItemOf(m), AuthorName: st.Name, AuthorHandle: st.Handle, Findings: []brand.Finding{}}
		_ = json.Unmarshal([]byte(r.Findings), &p.Findings) // written by this program
		out = append(out, p)
	}
	return out, nil
}

// Feedback is a manager's review of one of a person's replies.
type Feedback struct {
	ReplyID    int64     `json:"reply_id"`
	Outcome    string    `json:"outcome"` // approved, edited, rejected
	Reviewer   string    `json:"reviewer"`
	Note       string    `json:"note"`
	ReviewedAt time.Time `json:"reviewed_at"`
	Text       string    `json:"text"` // the reply as it stands
}

// MyFeedback lists the reviews of handle's replies, newest first.
func (d *Desk) MyFeedback(ctx context.Context, handle string, limit int) ([]Feedback, error) {
	st, err := d.Staff(ctx, handle)
	if err != nil {
		return nil, err
	}
	rows, err := d.store.Reviews(ctx, models.ReviewsQuery{AuthorID: st.ID, Limit: limit})
	if err != nil {
		return nil, err
	}
	out := make([]Feedback, 0, len(rows))
	for _, r := range rows {
		out = append(out, Feedback{ReplyID: r.ReplyID, Outcome: r.Outcome, Reviewer: r.ManagerName, Note: r.Note,
			ReviewedAt: r.CreatedAt, Text: r.Text})
	}
	return out, nil
}

// ApprovalWeek is one person's reviews in one week.
type ApprovalWeek struct {
	StaffID   int64  `json:"staff_id"`
	Handle    string `json:"handle"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	WeekStart string `json:"week_start"` // Monday, in the location's time zone
	Reviewed  int    `json:"reviewed"`
	Approved  int    `json:"approved"` // as written
	Edited    int    `json:"edited"`   // approved with the manager's edits
	Rejected  int    `json:"rejected"`
	// Rate is the share approved as written: the sign that someone is
	// ready to reply alone.
	Rate float64 `json:"rate"`
}

// ApprovalStats gives each person's reviews per week over the last weeks
// weeks (this one included), by person, then oldest week first.
func (d *Desk) ApprovalStats(ctx context.Context, weeks int) ([]ApprovalWeek, error) {
	zone := d.Location().Zone()
	now := d.now().In(zone)
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, zone).AddDate(0, 0, -((int(now.Weekday()) + 6) % 7))
	since := monday.AddDate(0, 0, -7*(max(weeks, 1)-1))
	rows, err := d.store.Reviews(ctx, models.ReviewsQuery{Since: since, Limit: 100000})
	if err != nil {
		return nil, err
	}
	type key struct {
		staff int64
		week  string
	}
	byKey := map[key]*ApprovalWeek{}
	var order []key
	for i := len(rows) - 1; i >= 0; i-- { // oldest first
		r := rows[i]
		t := r.CreatedAt.In(zone)
		day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, zone)
		k := key{r.AuthorID, day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7)).Format(time.DateOnly)}
		w, ok := byKey[k]
		if !ok {
			w = &ApprovalWeek{StaffID: r.AuthorID, Handle: r.AuthorHandle, Name: r.AuthorName, Role: r.AuthorRole, WeekStart: k.week}
			byKey[k] = w
			order = append(order, k)
		}
		w.Reviewed++
		switch r.Outcome {
		case models.ReviewApproved:
			w.Approved++
		case models.ReviewEdited:
			w.Edited++
		case models.ReviewRejected:
			w.Rejected++
		}
	}
	out := make([]ApprovalWeek, 0, len(order))
	for _, k := range order {
		w := byKey[k]
		w.Rate = float64(w.Approved) / float64(w.Reviewed)
		out = append(out, *w)
	}
	slices.SortStableFunc(out, func(a, b ApprovalWeek) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.WeekStart, b.WeekStart))
	})
	return out, nil
}
