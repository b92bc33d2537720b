package models

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Note is an internal note on a conversation: the team sees it, the
// customer never does.
type Note struct {
	ID             int64 `gorm:"primaryKey"`
	ConversationID int64
	StaffID        int64
	Text           string
	CreatedAt      time.Time
	// AuthorName is the staff member's name (read only).
	AuthorName string `gorm:"->;-:migration"`
}

// AddNote adds a note to a conversation; actor is the author's handle.
func (s *Store) AddNote(ctx context.Context, actor string, conversationID, staffID int64, text string) (Note, error) {
	n := Note{ConversationID: conversationID, StaffID: staffID, Text: text, CreatedAt: s.Now()}
	err := s.write(ctx, func(tx *gorm.DB) error {
		var found int64
		if err := tx.Model(&Conversation{}).Where("id = ?", conversationID).Count(&found).Error; err != nil {
			return err
		}
		if found == 0 {
			return fmt.Errorf("conversation %d: %w", conversationID, ErrNotFound)
		}
		if err := tx.Omit("AuthorName").Create(&n).Error; err != nil {
			return fmt.Errorf("add a note to conversation %d: %w", conversationID, err)
		}
		return appendAudit(tx, n.CreatedAt, actor, "conversation.note", subject("conversation", conversationID),
			map[string]any{"note": n.ID})
	})
	return n, err
}

// Notes lists a conversation's notes, oldest first, with their authors.
func (s *Store) Notes(ctx context.Context, conversationID int64) ([]Note, error) {
	var ns []Note
	err := s.read(ctx).Raw(`SELECT n.*, st.name AS author_name FROM notes n JOIN staff st ON st.id = n.staff_id
		WHERE n.conversation_id = ? ORDER BY n.id LIMIT 500`, conversationID).Scan(&ns).Error
	return ns, err
}
