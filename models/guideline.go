package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// GuidelinePack is a stored version of a guideline pack. Document is the
// pack's JSON; one version is active at a time.
type GuidelinePack struct {
	ID          int64 `gorm:"primaryKey"`
	PackID      string
	Version     int
	Title       string
	Author      string
	Document    string
	Active      bool
	PublishedAt *time.Time
	InstalledAt time.Time
}

// ActiveGuidelinePack returns the active pack.
func (s *Store) ActiveGuidelinePack(ctx context.Context) (GuidelinePack, error) {
	return find[GuidelinePack](s.read(ctx).Where("active = 1").Order("id DESC"), "active guideline pack")
}

// GuidelinePacks lists stored pack versions, newest first.
func (s *Store) GuidelinePacks(ctx context.Context) ([]GuidelinePack, error) {
	var gs []GuidelinePack
	return gs, s.read(ctx).Order("pack_id, version DESC").Limit(1000).Find(&gs).Error
}

// InstallGuidelinePack stores a pack version (the caller has validated it)
// and makes it the active one.
func (s *Store) InstallGuidelinePack(ctx context.Context, actor string, g GuidelinePack) error {
	g.InstalledAt = s.Now()
	g.Active = true
	return s.write(ctx, func(tx *gorm.DB) error {
		var existing GuidelinePack
		err := tx.Where("pack_id = ? AND version = ?", g.PackID, g.Version).Take(&existing).Error
		switch {
		case err == nil:
			g.ID = existing.ID
			if existing.Document != g.Document {
				// Headquarters' copy of a version is the authority: a local
				// copy that differs (the built-in default) gives way.
				if err := tx.Model(&GuidelinePack{}).Where("id = ?", g.ID).Updates(map[string]any{
					"document": g.Document, "title": g.Title, "author": g.Author, "published_at": g.PublishedAt}).Error; err != nil {
					return err
				}
			}
		case errors.Is(err, gorm.ErrRecordNotFound):
			if err := tx.Create(&g).Error; err != nil {
				return fmt.Errorf("store guideline pack %s v%d: %w", g.PackID, g.Version, err)
			}
		default:
			return err
		}
		if err := tx.Model(&GuidelinePack{}).Where("id <> ?", g.ID).Update("active", false).Error; err != nil {
			return err
		}
		if err := tx.Model(&GuidelinePack{}).Where("id = ?", g.ID).Update("active", true).Error; err != nil {
			return err
		}
		return appendAudit(tx, s.Now(), actor, "guidelines.install", fmt.Sprintf("pack:%s@%d", g.PackID, g.Version), map[string]any{"title": g.Title})
	})
}
