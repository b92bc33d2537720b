package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Staff roles at a store.
const (
	RoleManager = "manager"
	RoleCrew    = "crew"
	RoleTrainee = "trainee"
)

// Staff is a person who works the inbox at this location.
type Staff struct {
	ID      int64 `gorm:"primaryKey"`
	Name    string
	Handle  string // short login name, unique
	Role    string
	PINHash string `gorm:"column:pin_hash"`
	Active  bool
	// FailedLogins counts wrong PINs in a row; LockedUntil is set when
	// there were too many.
	FailedLogins int
	LockedUntil  *time.Time
	// Department is the one this person works for ("" for none); their
	// "mine" filter includes its unassigned conversations.
	Department string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// TableName keeps the table's name singular-free: "staff".
func (Staff) TableName() string { return "staff" }

// FirstName is the first word of the name.
func (st Staff) FirstName() string {
	for i, r := range st.Name {
		if r == ' ' {
			return st.Name[:i]
		}
	}
	return st.Name
}

// StaffList lists the location's staff.
func (s *Store) StaffList(ctx context.Context) ([]Staff, error) {
	var ss []Staff
	return ss, s.read(ctx).Order("role, name").Limit(1000).Find(&ss).Error
}

// StaffByHandle finds a member of staff by handle.
func (s *Store) StaffByHandle(ctx context.Context, handle string) (Staff, error) {
	return find[Staff](s.read(ctx).Where("handle = ?", handle), fmt.Sprintf("staff %q", handle))
}

// StaffByID finds a member of staff by ID.
func (s *Store) StaffByID(ctx context.Context, id int64) (Staff, error) {
	return find[Staff](s.read(ctx), fmt.Sprintf("staff %d", id), id)
}

// CreateStaff adds a member of staff; actor is who did it.
func (s *Store) CreateStaff(ctx context.Context, actor string, st *Staff) error {
	switch st.Role {
	case RoleManager, RoleCrew, RoleTrainee:
	default:
		return fmt.Errorf("staff %q: role must be manager, crew or trainee, not %q", st.Handle, st.Role)
	}
	st.Active = true
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(st).Error; err != nil {
			if errors.Is(err, gorm.ErrDuplicatedKey) {
				return fmt.Errorf("staff handle %q is taken", st.Handle)
			}
			return fmt.Errorf("create staff %s: %w", st.Handle, err)
		}
		return appendAudit(tx, s.Now(), actor, "staff.create", subject("staff", st.ID), map[string]any{"handle": st.Handle, "role": st.Role})
	})
}

// SetStaffRole changes a member of staff's role (a trainee ready to reply
// alone becomes crew).
func (s *Store) SetStaffRole(ctx context.Context, actor string, id int64, role string) error {
	switch role {
	case RoleManager, RoleCrew, RoleTrainee:
	default:
		return fmt.Errorf("role must be manager, crew or trainee, not %q", role)
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Staff{}).Where("id = ?", id).Updates(map[string]any{"role": role, "updated_at": s.Now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("staff %d: %w", id, ErrNotFound)
		}
		return appendAudit(tx, s.Now(), actor, "staff.role", subject("staff", id), map[string]any{"role": role})
	})
}

// SetPINHash stores a member of staff's PIN hash ("" removes the PIN) and
// clears any lockout; actor is who did it. The hash never reaches the
// audit log.
func (s *Store) SetPINHash(ctx context.Context, actor string, id int64, hash string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Staff{}).Where("id = ?", id).Updates(map[string]any{"pin_hash": hash, "failed_logins": 0,
			"locked_until": nil, "updated_at": s.Now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("staff %d: %w", id, ErrNotFound)
		}
		action := "staff.pin.set"
		if hash == "" {
			action = "staff.pin.clear"
		}
		return appendAudit(tx, s.Now(), actor, action, subject("staff", id), map[string]any{})
	})
}

// RecordLogin records a sign-in attempt: a success clears the count of
// wrong PINs; a failure adds one and, with lockUntil set, locks the
// profile until then.
func (s *Store) RecordLogin(ctx context.Context, id int64, ok bool, lockUntil *time.Time) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		upd := map[string]any{"failed_logins": 0, "locked_until": nil}
		action := "staff.login"
		detail := map[string]any{}
		if !ok {
			upd = map[string]any{"failed_logins": gorm.Expr("failed_logins + 1")}
			action = "staff.login.failed"
			if lockUntil != nil {
				upd["locked_until"] = lockUntil.UTC()
				detail["locked_until"] = lockUntil.UTC()
			}
		}
		if err := tx.Model(&Staff{}).Where("id = ?", id).Updates(upd).Error; err != nil {
			return err
		}
		var handle string
		tx.Model(&Staff{}).Where("id = ?", id).Select("handle").Scan(&handle)
		return appendAudit(tx, s.Now(), handle, action, subject("staff", id), detail)
	})
}

// SetStaffDepartment sets the department a member of staff works for.
func (s *Store) SetStaffDepartment(ctx context.Context, actor string, id int64, department string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Staff{}).Where("id = ?", id).Updates(map[string]any{"department": department, "updated_at": s.Now()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("staff %d: %w", id, ErrNotFound)
		}
		return appendAudit(tx, s.Now(), actor, "staff.department", subject("staff", id), map[string]any{"department": department})
	})
}
