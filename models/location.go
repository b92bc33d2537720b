package models

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Location is the store this node serves. A node has exactly one.
type Location struct {
	ID        int64 `gorm:"primaryKey"`
	Name      string
	ShortName string
	Brand     string
	Region    string
	TimeZone  string
	Phone     string
	Address   string
	// OpeningHours is JSON: OpeningHours below.
	OpeningHours string
	// Demo marks the built-in demo location.
	Demo      bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

// OpeningHours maps a weekday ("mon" … "sun") to opening periods such as
// "11:00-22:00". A day without periods is closed.
type OpeningHours map[string][]string

// Hours decodes the location's opening hours.
func (l Location) Hours() (OpeningHours, error) {
	var h OpeningHours
	if l.OpeningHours == "" {
		return OpeningHours{}, nil
	}
	if err := json.Unmarshal([]byte(l.OpeningHours), &h); err != nil {
		return nil, fmt.Errorf("opening hours of %s: %w", l.Name, err)
	}
	return h, nil
}

// Zone loads the location's time zone, UTC when it is unknown.
func (l Location) Zone() *time.Location {
	if z, err := time.LoadLocation(l.TimeZone); err == nil {
		return z
	}
	return time.UTC
}

// ErrNoLocation means the data folder has not been set up.
var ErrNoLocation = errors.New("no location set up in this data folder")

// Location returns the node's location.
func (s *Store) Location(ctx context.Context) (Location, error) {
	var l Location
	err := s.read(ctx).Order("id").First(&l).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return l, ErrNoLocation
	}
	return l, err
}

// CreateLocation stores the node's location; a node holds one.
func (s *Store) CreateLocation(ctx context.Context, l *Location) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&Location{}).Count(&n).Error; err != nil {
			return err
		}
		if n > 0 {
			return errors.New("this data folder already has a location")
		}
		if err := tx.Create(l).Error; err != nil {
			return fmt.Errorf("create location %s: %w", l.Name, err)
		}
		return appendAudit(tx, s.Now(), "system", "location.create", subject("location", l.ID), map[string]any{"name": l.Name, "demo": l.Demo})
	})
}

// MarkDemo marks the location as the built-in demo.
func (s *Store) MarkDemo(ctx context.Context) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Model(&Location{}).Where("1 = 1").Update("demo", true).Error
	})
}
