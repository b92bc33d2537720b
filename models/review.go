package models

import (
	"context"
	"time"
)

// Outcomes of a manager's review.
const (
	ReviewApproved = "approved" // approved as written
	ReviewEdited   = "edited"   // approved with the manager's edits
	ReviewRejected = "rejected" // returned with feedback
)

// ReviewRow is one review of a reply, with who wrote and who reviewed it.
type ReviewRow struct {
	ReplyID      int64
	AuthorID     int64
	ManagerID    *int64
	Outcome      string
	Note         string
	CreatedAt    time.Time
	AuthorHandle string
	AuthorName   string
	AuthorRole   string
	ManagerName  string
	Text         string // the reply's text now
}

// ReviewsQuery selects reviews.
type ReviewsQuery struct {
	Since    time.Time // zero: all
	AuthorID int64     // 0: everyone's
	Limit    int
}

// Reviews lists reviews, newest first.
func (s *Store) Reviews(ctx context.Context, q ReviewsQuery) ([]ReviewRow, error) {
	sql := `SELECT v.reply_id, v.author_id, v.manager_id, v.outcome, v.note, v.created_at,
			a.handle AS author_handle, a.name AS author_name, a.role AS author_role,
			coalesce(m.name, '') AS manager_name, r.text
		FROM reviews v JOIN staff a ON a.id = v.author_id JOIN replies r ON r.id = v.reply_id
		LEFT JOIN staff m ON m.id = v.manager_id WHERE 1 = 1`
	var args []any
	if !q.Since.IsZero() {
		sql += ` AND v.created_at >= ?`
		args = append(args, q.Since.UTC())
	}
	if q.AuthorID != 0 {
		sql += ` AND v.author_id = ?`
		args = append(args, q.AuthorID)
	}
	sql += ` ORDER BY v.created_at DESC, v.id DESC LIMIT ?`
	args = append(args, clampLimit(q.Limit, 1000, 100000))
	var rows []ReviewRow
	return rows, s.read(ctx).Raw(sql, args...).Scan(&rows).Error
}
