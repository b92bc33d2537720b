package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// Template is a stored reply template. Platforms, Kinds and Prompts are
// JSON. Source says who wrote it: hq, region or store.
type Template struct {
	ID         int64 `gorm:"primaryKey"`
	Name       string
	Title      string
	Category   string
	Stage      string
	Department string
	Platforms  string
	Kinds      string
	Private    bool
	Body       string
	Prompts    string
	Source     string
	Version    int
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Templates lists every template by category and title.
func (s *Store) Templates(ctx context.Context) ([]Template, error) {
	var ts []Template
	return ts, s.read(ctx).Order("category, title").Limit(5000).Find(&ts).Error
}

// TemplateByName returns one template.
func (s *Store) TemplateByName(ctx context.Context, name string) (Template, error) {
	return find[Template](s.read(ctx).Where("name = ?", name), fmt.Sprintf("template %q", name))
}

// SaveTemplates inserts or replaces templates by name.
func (s *Store) SaveTemplates(ctx context.Context, actor string, ts []Template) error {
	if len(ts) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		for i := range ts {
			err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "name"}},
				DoUpdates: clause.AssignmentColumns([]string{"title", "category", "stage", "department", "platforms", "kinds", "private", "body", "prompts", "source", "version", "updated_at"}),
			}).Create(&ts[i]).Error
			if err != nil {
				return fmt.Errorf("save template %s: %w", ts[i].Name, err)
			}
		}
		return appendAudit(tx, s.Now(), actor, "template.save", "templates", map[string]any{"count": len(ts)})
	})
}

// DeleteTemplate removes a template by name.
func (s *Store) DeleteTemplate(ctx context.Context, actor, name string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Where("name = ?", name).Delete(&Template{})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("template %q: %w", name, ErrNotFound)
		}
		return appendAudit(tx, s.Now(), actor, "template.delete", "template:"+name, nil)
	})
}
