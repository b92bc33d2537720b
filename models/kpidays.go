package models

import (
	"context"
	"fmt"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// KPIDay is a daily summary as parsed counts (kpi.Counts in its binary
// form), tagged with the change (Origin, Seq) it was parsed from.
type KPIDay struct {
	Key      string `gorm:"primaryKey"`
	Origin   string
	Seq      uint64
	Location string
	Region   string
	Day      string
	Counts   []byte
}

// TableName is kpi_days.
func (KPIDay) TableName() string { return "kpi_days" }

// KPIDaysEach calls fn with every parsed summary that is still the
// current value of its record (of kind kind in fed_state). fn must not
// keep the row's Counts: the buffer is reused.
func (s *Store) KPIDaysEach(ctx context.Context, kind uint8, fn func(KPIDay) error) error {
	rows, err := s.r.WithContext(ctx).Raw(`SELECT c.key, c.location, c.region, c.day, c.counts FROM kpi_days c
		JOIN fed_state s ON s.kind = ? AND s.key = c.key AND s.origin = c.origin AND s.seq = c.seq`, kind).Rows()
	if err != nil {
		return fmt.Errorf("read parsed figures: %w", err)
	}
	defer rows.Close()
	var d KPIDay
	for rows.Next() {
		if err := rows.Scan(&d.Key, &d.Location, &d.Region, &d.Day, &d.Counts); err != nil {
			return fmt.Errorf("read parsed figures: %w", err)
		}
		if err := fn(d); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FedStatesUnparsed calls fn with every record of kind kind that has no
// parsed summary for its current value.
func (s *Store) FedStatesUnparsed(ctx context.Context, kind uint8, fn func(FedState) error) error {
	rows, err := s.r.WithContext(ctx).Raw(`SELECT s.key, s.origin, s.seq, s.body FROM fed_state s
		LEFT JOIN kpi_days c ON c.key = s.key AND c.origin = s.origin AND c.seq = s.seq
		WHERE s.kind = ? AND c.key IS NULL`, kind).Rows()
	if err != nil {
		return fmt.Errorf("read unparsed figures: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		st := FedState{Kind: kind}
		if err := rows.Scan(&st.Key, &st.Origin, &st.Seq, &st.Body); err != nil {
			return fmt.Errorf("read unparsed figures: %w", err)
		}
		if err := fn(st); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PutKPIDays keeps parsed summaries, replacing older ones of the same
// records, a few thousand to a transaction so that other writers are not
// held up long; it stops between transactions when ctx ends.
func (s *Store) PutKPIDays(ctx context.Context, days []KPIDay) error {
	const chunk = 2000
	for len(days) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(chunk, len(days))
		part := days[:n]
		days = days[n:]
		if err := s.write(ctx, func(tx *gorm.DB) error {
			return tx.Clauses(clause.OnConflict{UpdateAll: true}).CreateInBatches(part, 500).Error
		}); err != nil {
			return fmt.Errorf("keep parsed figures: %w", err)
		}
	}
	return nil
}

// ForgetKPIDays empties the parsed summaries (they are parsed again from
// their records when next needed).
func (s *Store) ForgetKPIDays(ctx context.Context) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`DELETE FROM kpi_days`).Error
	})
}
