package models

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// FigureRow is an inbound message as the location's figures read it.
type FigureRow struct {
	CreatedAt     time.Time
	FirstResponse time.Time // zero: not answered
	NeedsResponse bool
	Dismissed     bool
	Platform      string
	Stage         string
	Department    string
	Sentiment     float64
}

// figureRowsSQL reads inbound messages posted in a range with their first
// response: when the reply that answered them reached the platform. A
// reply by direct message to a public comment answers the comment, and a
// reply in a direct-message conversation answers the customer's earlier
// messages there (MarkSent).
const figureRowsSQL = `SELECT m.created_at, m.needs_response, m.status, a.platform, m.stage, m.department, m.sentiment,
	m.answered_at
	FROM messages m JOIN accounts a ON a.id = m.account_id
	WHERE m.direction = 'in' AND m.created_ms BETWEEN ? AND ?
	ORDER BY m.created_ms, m.id`

// FigureRows lists the inbound messages posted in [from, to). The sort
// keys are rounded to the millisecond, so the query reads the keys of both
// bounds and the exact times decide: a message half a millisecond before
// midnight belongs to the day before, not to the first day asked for.
func (s *Store) FigureRows(ctx context.Context, from, to time.Time) ([]FigureRow, error) {
	rows, err := s.read(ctx).Raw(figureRowsSQL, SortMillis(from), SortMillis(to)).Rows()
	if err != nil {
		return nil, fmt.Errorf("read messages for figures: %w", err)
	}
	defer rows.Close()
	var out []FigureRow
	for rows.Next() {
		var r FigureRow
		var status string
		var answered sql.NullTime
		if err := rows.Scan(&r.CreatedAt, &r.NeedsResponse, &status, &r.Platform, &r.Stage, &r.Department, &r.Sentiment,
			&answered); err != nil {
			return nil, fmt.Errorf("read messages for figures: %w", err)
		}
		if r.CreatedAt.Before(from) || !r.CreatedAt.Before(to) {
			continue
		}
		r.Dismissed = status == StatusDismissed
		if answered.Valid {
			r.FirstResponse = answered.Time.UTC()
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read messages for figures: %w", err)
	}
	return out, nil
}
