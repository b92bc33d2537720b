package models

import (
	"context"
	"errors"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Setting is a node-wide key and value (not UI state: that lives in the
// app's preferences).
type Setting struct {
	Key   string `gorm:"primaryKey"`
	Value string
}

// Setting returns a setting's value, or "" when it is not set.
func (s *Store) Setting(ctx context.Context, key string) (string, error) {
	var st Setting
	err := s.read(ctx).Where("key = ?", key).Take(&st).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return "", nil
	}
	return st.Value, err
}

// SetSetting stores a setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Clauses(clause.OnConflict{UpdateAll: true}).Create(&Setting{Key: key, Value: value}).Error
	})
}
