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
	AccountRateLimited    = "rate_limited"     // the platform asked us to wait
)

// ExpiryWarning is how long before a token's known expiry the account
// warns that it will need reconnecting.
const ExpiryWarning = 7 * 24 * time.Hour

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
	// Server and RemoteID say where the account lives on its platform
	// (channels.Account).
	Server   string
	RemoteID string
	// TokenExpiresAt is when the connection's token stops working, when
	// the platform says; the token is in the credential vault.
	TokenExpiresAt *time.Time
	// LastSuccessAt is the last poll that worked; RateLimitedUntil is
	// until when the platform asked us to wait.
	LastSuccessAt    *time.Time
	RateLimitedUntil *time.Time
	ConnectedAt      *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Connected reports whether a connector serves the account.
func (a Account) Connected() bool { return a.Connector != "" }

// ExpiresSoon reports whether the account's token expires within
// ExpiryWarning of now (or has expired).
func (a Account) ExpiresSoon(now time.Time) bool {
	return a.Connected() && a.TokenExpiresAt != nil && a.TokenExpiresAt.Sub(now) < ExpiryWarning
}

// Waiting reports whether the platform asked us to wait past now.
func (a Account) Waiting(now time.Time) bool {
	return a.RateLimitedUntil != nil && a.RateLimitedUntil.After(now)
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

// SavePollState records a poll's outcome: the new cursor, or the error. A
// poll that worked (connected, no error) is the account's last success and
// ends any wait the platform asked for.
func (s *Store) SavePollState(ctx context.Context, id int64, cursor, state, lastErr string) error {
	now := s.Now()
	set := map[string]any{"cursor": cursor, "state": state, "last_error": lastErr, "last_polled_at": now, "updated_at": now}
	if state == AccountConnected && lastErr == "" {
		set["last_success_at"] = now
		set["rate_limited_until"] = nil
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Account{}).Where("id = ?", id).Updates(set).Error
	})
}

// MarkAccount records what a poll or a send learned about an account's
// connection, leaving its cursor alone: reconnect needed, or rate limited
// until a time (zero for none).
func (s *Store) MarkAccount(ctx context.Context, id int64, state, lastErr string, until time.Time) error {
	now := s.Now()
	set := map[string]any{"state": state, "last_error": lastErr, "updated_at": now, "rate_limited_until": nil}
	if !until.IsZero() {
		set["rate_limited_until"] = until.UTC()
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Account{}).Where("id = ?", id).Updates(set).Error
	})
}

// RecordPollFailure records a poll that failed: when it happened (the
// next falls due from there), the account's state, the error, and until
// when the platform asked to wait (zero for none). The cursor stays where
// the last stored page left it.
func (s *Store) RecordPollFailure(ctx context.Context, id int64, state, lastErr string, until time.Time) error {
	now := s.Now()
	set := map[string]any{"state": state, "last_error": lastErr, "last_polled_at": now, "updated_at": now, "rate_limited_until": nil}
	if !until.IsZero() {
		set["rate_limited_until"] = until.UTC()
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Account{}).Where("id = ?", id).Updates(set).Error
	})
}

// Connection is an account as a connector found it when it was connected.
type Connection struct {
	Platform    string
	Handle      string
	DisplayName string
	Purpose     string
	Connector   string
	Server      string
	RemoteID    string
	// TokenExpiresAt: zero when the platform gave no expiry.
	TokenExpiresAt time.Time
}

// ConnectAccount records a connected account, by platform and handle: a
// new one is created; one the location already had (fed by imports, or
// connected before) keeps its messages and becomes connected, its cursor
// kept unless the connector or where it lives changed. actor is who
// connected it, for the audit log.
func (s *Store) ConnectAccount(ctx context.Context, actor string, c Connection) (Account, error) {
	if c.Platform == "" || c.Handle == "" || c.Connector == "" {
		return Account{}, fmt.Errorf("connect account: platform, handle and connector are required (got %q, %q, %q)", c.Platform, c.Handle, c.Connector)
	}
	now := s.Now()
	var a Account
	err := s.write(ctx, func(tx *gorm.DB) error {
		var loc Location
		if err := tx.Order("id").Limit(1).Find(&loc).Error; err != nil {
			return err
		}
		if loc.ID == 0 {
			return ErrNoLocation
		}
		err := tx.Where("platform = ? AND handle = ?", c.Platform, c.Handle).Limit(1).Find(&a).Error
		if err != nil {
			return err
		}
		isNew := a.ID == 0
		if isNew {
			a = Account{LocationID: loc.ID, Platform: c.Platform, Handle: c.Handle, Purpose: "main", CreatedAt: now}
		}
		if a.Connector != c.Connector || a.Server != c.Server || a.RemoteID != c.RemoteID {
			a.Cursor = ""
		}
		if c.DisplayName != "" {
			a.DisplayName = c.DisplayName
		}
		if c.Purpose != "" {
			a.Purpose = c.Purpose
		}
		a.Connector, a.Server, a.RemoteID = c.Connector, c.Server, c.RemoteID
		a.State, a.LastError, a.RateLimitedUntil = AccountConnected, "", nil
		a.TokenExpiresAt = nil
		if !c.TokenExpiresAt.IsZero() {
			t := c.TokenExpiresAt.UTC()
			a.TokenExpiresAt = &t
		}
		a.ConnectedAt = &now
		a.UpdatedAt = now
		if err := tx.Save(&a).Error; err != nil {
			return fmt.Errorf("connect account %s/%s: %w", c.Platform, c.Handle, err)
		}
		return appendAudit(tx, now, actor, "account.connect", subject("account", a.ID),
			map[string]any{"platform": a.Platform, "handle": a.Handle, "connector": a.Connector, "server": a.Server, "new": isNew})
	})
	return a, err
}

// DisconnectAccount stops a connector serving an account: its messages
// stay, it is fed by imports only, and its cursor is kept so that a
// reconnection carries on where polling stopped.
func (s *Store) DisconnectAccount(ctx context.Context, actor string, id int64) (Account, error) {
	now := s.Now()
	var a Account
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		if a, err = find[Account](tx, fmt.Sprintf("account %d", id), id); err != nil {
			return err
		}
		was := a.Connector
		a.Connector, a.State, a.LastError = "", AccountImportOnly, ""
		a.TokenExpiresAt, a.RateLimitedUntil = nil, nil
		a.UpdatedAt = now
		if err := tx.Save(&a).Error; err != nil {
			return fmt.Errorf("disconnect account %d: %w", id, err)
		}
		return appendAudit(tx, now, actor, "account.disconnect", subject("account", a.ID),
			map[string]any{"platform": a.Platform, "handle": a.Handle, "connector": was})
	})
	return a, err
}
