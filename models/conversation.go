package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Conversation is a thread on one account: a post's comment thread, a
// direct-message conversation, or a review and its replies.
type Conversation struct {
	ID            int64 `gorm:"primaryKey"`
	AccountID     int64
	ThreadID      string
	Kind          string
	CustomerID    *int64
	AssigneeID    *int64
	Department    string
	LastMessageAt time.Time
	CreatedAt     time.Time
}

// ConversationByID returns one conversation.
func (s *Store) ConversationByID(ctx context.Context, id int64) (Conversation, error) {
	return find[Conversation](s.read(ctx), fmt.Sprintf("conversation %d", id), id)
}

// Assign gives a conversation to a member of staff and/or a department.
func (s *Store) Assign(ctx context.Context, actor string, id int64, assignee *int64, department string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Conversation{}).Where("id = ?", id).Updates(map[string]any{"assignee_id": assignee, "department": department})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("conversation %d: %w", id, ErrNotFound)
		}
		return appendAudit(tx, s.Now(), actor, "conversation.assign", subject("conversation", id),
			map[string]any{"assignee": assignee, "department": department})
	})
}
