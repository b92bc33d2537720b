package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

// EscalationMark records that a message was escalated: the signed
// escalation itself is a federation record, named by EscalationID.
type EscalationMark struct {
	MessageID    int64  `gorm:"primaryKey"`
	EscalationID string `gorm:"primaryKey"`
	Level        string
	Severity     string
	Category     string
	CreatedAt    time.Time
}

// TableName is message_escalations.
func (EscalationMark) TableName() string { return "message_escalations" }

// MarkEscalated records an escalation of a message; marking it twice with
// the same escalation changes nothing.
func (s *Store) MarkEscalated(ctx context.Context, actor string, messageID int64, e EscalationMark) error {
	if e.EscalationID == "" {
		return fmt.Errorf("mark message %d escalated: no escalation ID", messageID)
	}
	e.MessageID, e.CreatedAt = messageID, s.Now()
	return s.write(ctx, func(tx *gorm.DB) error {
		var found int64
		if err := tx.Model(&Message{}).Where("id = ?", messageID).Count(&found).Error; err != nil {
			return err
		}
		if found == 0 {
			return fmt.Errorf("message %d: %w", messageID, ErrNotFound)
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&e)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return nil
		}
		return appendAudit(tx, e.CreatedAt, actor, "message.escalate", subject("message", messageID),
			map[string]any{"escalation": e.EscalationID, "level": e.Level, "severity": e.Severity, "category": e.Category})
	})
}

// MessageEscalations lists a message's escalations, oldest first.
func (s *Store) MessageEscalations(ctx context.Context, messageID int64) ([]EscalationMark, error) {
	var es []EscalationMark
	return es, s.read(ctx).Where("message_id = ?", messageID).Order("created_at").Limit(100).Find(&es).Error
}
