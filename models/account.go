package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Account states.
const (
	AccountImportOnly     = "import_only"      // fed by imports, no connector
	AccountConnected      = "connected"        // a connector polls and replies
	AccountReconnectNeeds = "reconnect_needed" // credentials expired or revoked
	AccountRateLimited    = "rate_limited"
)

// Account is one of the location's accounts on a platform. A brand often
// runs several per platform for different audiences, hence Purpose.
type Account struct {
	ID           int64 `gorm:"primaryKey"`
	LocationID   int64
	Platform     string
	Handle       string
	DisplayName  string
	Purpose      string // main, care, jobs
	Connector    string // the channel that serves it ("demo", …); "" for imports only
	State        string
	Cursor       string
	LastPolledAt *time.Time
	LastError    string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Accounts lists the location's accounts.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	var as []Account
	err := s.read(ctx).Order("platform, handle").Limit(1000).Find(&as).Error
	return as, err
}

// Account returns one account.
func (s *Store) Account(ctx context.Context, id int64) (Account, error) {
	return find[Account](s.read(ctx), fmt.Sprintf("account %d", id), id)
}

// CreateAccount adds an account.
func (s *Store) CreateAccount(ctx context.Context, a *Account) error {
	if a.State == "" {
		a.State = AccountImportOnly
		if a.Connector != "" {
			a.State = AccountConnected
		}
	}
	if a.Purpose == "" {
		a.Purpose = "main"
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(a).Error; err != nil {
			return fmt.Errorf("create account %s/%s: %w", a.Platform, a.Handle, err)
		}
		return appendAudit(tx, s.Now(), "system", "account.create", subject("account", a.ID),
			map[string]any{"platform": a.Platform, "handle": a.Handle, "connector": a.Connector})
	})
}

// SavePollState records a poll's outcome: the new cursor, or the error.
func (s *Store) SavePollState(ctx context.Context, id int64, cursor, state, lastErr string) error {
	now := s.Now()
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Account{}).Where("id = ?", id).Updates(map[string]any{
			"cursor": cursor, "state": state, "last_error": lastErr, "last_polled_at": now, "updated_at": now,
		}).Error
	})
}
