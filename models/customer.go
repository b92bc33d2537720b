package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Customer is one platform identity that has written to the location.
// Identities known to be the same person share a PersonID, so their
// history shows together across channels.
type Customer struct {
	ID             int64 `gorm:"primaryKey"`
	Platform       string
	PlatformUserID string
	Name           string
	PersonID       *int64
	FirstSeenAt    time.Time
}

// CustomerStats are figures about a customer, counted from their messages
// when asked rather than kept up to date on every insert.
type CustomerStats struct {
	Messages    int
	FirstSeenAt time.Time
	LastSeenAt  time.Time
}

// CustomerStats counts a customer's messages at this location.
func (s *Store) CustomerStats(ctx context.Context, customerID int64) (CustomerStats, error) {
	var row struct {
		N           int
		First, Last string
	}
	err := s.read(ctx).Raw(`SELECT count(*) AS n, coalesce(min(created_at), '') AS first, coalesce(max(created_at), '') AS last
		FROM messages WHERE customer_id = ? AND direction = 'in'`, customerID).Scan(&row).Error
	if err != nil {
		return CustomerStats{}, err
	}
	st := CustomerStats{Messages: row.N}
	st.FirstSeenAt, _ = parseSQLTime(row.First)
	st.LastSeenAt, _ = parseSQLTime(row.Last)
	return st, nil
}

// CustomerByID returns one customer.
func (s *Store) CustomerByID(ctx context.Context, id int64) (Customer, error) {
	return find[Customer](s.read(ctx), fmt.Sprintf("customer %d", id), id)
}

// CustomerHistory returns a customer's messages at this location, newest
// first, across every channel and every identity linked to the same
// person.
func (s *Store) CustomerHistory(ctx context.Context, customerID int64, limit int) ([]MessageRow, error) {
	c, err := s.CustomerByID(ctx, customerID)
	if err != nil {
		return nil, err
	}
	ids := []int64{c.ID}
	if c.PersonID != nil {
		if err := s.read(ctx).Model(&Customer{}).Where("person_id = ?", *c.PersonID).Limit(100).Pluck("id", &ids).Error; err != nil {
			return nil, err
		}
	}
	var rows []MessageRow
	err = s.read(ctx).Table("messages m").Select(messageRowSelect).
		Joins("JOIN accounts a ON a.id = m.account_id").
		Where("m.customer_id IN ?", ids).Order("m.created_ms DESC, m.id DESC").
		Limit(clampLimit(limit, 50, 1000)).Scan(&rows).Error
	return rows, err
}

// LinkCustomers records that two identities are one person.
func (s *Store) LinkCustomers(ctx context.Context, actor string, a, b int64) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var ca, cb Customer
		if err := tx.First(&ca, a).Error; err != nil {
			return fmt.Errorf("customer %d: %w", a, err)
		}
		if err := tx.First(&cb, b).Error; err != nil {
			return fmt.Errorf("customer %d: %w", b, err)
		}
		person := ca.ID
		if ca.PersonID != nil {
			person = *ca.PersonID
		}
		old := cb.ID
		if cb.PersonID != nil {
			old = *cb.PersonID
		}
		if err := tx.Model(&Customer{}).Where("id = ? OR id = ? OR person_id = ?", ca.ID, cb.ID, old).
			Update("person_id", person).Error; err != nil {
			return err
		}
		return appendAudit(tx, s.Now(), actor, "customer.link", subject("customer", a), map[string]any{"with": b})
	})
}
