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

// EscalationCandidate is an open message an escalation rule may pick.
type EscalationCandidate struct {
	ID        int64
	CreatedAt time.Time
	Crisis    string
	Priority  int
	Text      string
	Author    string
	Platform  string
}

// Unescalated lists open messages that need a response, were posted
// before before, have a crisis signal (when crisis) or a priority of at
// least minPriority (when above 0), and carry no escalation mark; oldest
// first, at most limit.
func (s *Store) Unescalated(ctx context.Context, before time.Time, crisis bool, minPriority, limit int) ([]EscalationCandidate, error) {
	pick := []string{}
	args := []any{StatusOpen, SortMillis(before)}
	if crisis {
		pick = append(pick, "m.crisis <> ''")
	}
	if minPriority > 0 {
		pick = append(pick, "m.priority >= ?")
		args = append(args, minPriority)
	}
	if len(pick) == 0 {
		return nil, nil
	}
	where := pick[0]
	if len(pick) == 2 {
		where = "(" + pick[0] + " OR " + pick[1] + ")"
	}
	var out []EscalationCandidate
	err := s.read(ctx).Raw(`SELECT m.id, m.created_at, m.crisis, m.priority, m.text, m.author_name AS author, a.platform
		FROM messages m JOIN accounts a ON a.id = m.account_id
		WHERE m.direction = 'in' AND m.needs_response AND m.status = ? AND m.created_ms < ? AND `+where+`
		AND NOT EXISTS (SELECT 1 FROM message_escalations e WHERE e.message_id = m.id)
		ORDER BY m.created_ms, m.id LIMIT ?`, append(args, clampLimit(limit, 100, 1000))...).Scan(&out).Error
	if err != nil {
		return nil, fmt.Errorf("messages to escalate: %w", err)
	}
	return out, nil
}

// EscalationMarksOf lists the marks with an escalation ID (such as a
// placeholder written before the escalation is raised).
func (s *Store) EscalationMarksOf(ctx context.Context, escalationID string) ([]EscalationMark, error) {
	var es []EscalationMark
	return es, s.read(ctx).Where("escalation_id = ?", escalationID).Order("message_id").Limit(1000).Find(&es).Error
}

// ReplaceEscalationMark swaps a message's placeholder mark for the real
// one in one transaction.
func (s *Store) ReplaceEscalationMark(ctx context.Context, actor string, messageID int64, placeholder string, e EscalationMark) error {
	e.MessageID, e.CreatedAt = messageID, s.Now()
	return s.write(ctx, func(tx *gorm.DB) error {
		if err := tx.Where("message_id = ? AND escalation_id = ?", messageID, placeholder).Delete(&EscalationMark{}).Error; err != nil {
			return err
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&e).Error; err != nil {
			return err
		}
		return appendAudit(tx, e.CreatedAt, actor, "message.escalate", subject("message", messageID),
			map[string]any{"escalation": e.EscalationID, "level": e.Level, "severity": e.Severity, "category": e.Category})
	})
}

// RemoveEscalationMark removes a placeholder mark whose escalation could
// not be raised.
func (s *Store) RemoveEscalationMark(ctx context.Context, messageID int64, escalationID string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Where("message_id = ? AND escalation_id = ?", messageID, escalationID).Delete(&EscalationMark{}).Error
	})
}
