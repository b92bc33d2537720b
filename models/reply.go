package models

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
)

var onConflictDoNothing = clause.OnConflict{DoNothing: true}

// Reply states. A reply is written to the database before any network
// call and moves draft → pending_approval → queued → sending → sent, with
// failed when the platform refuses it for good.
const (
	ReplyDraft           = "draft"
	ReplyPendingApproval = "pending_approval"
	ReplyQueued          = "queued"
	ReplySending         = "sending"
	ReplySent            = "sent"
	ReplyFailed          = "failed"
)

// Reply is the store's answer to an inbound message.
type Reply struct {
	ID             int64 `gorm:"primaryKey"`
	MessageID      int64
	ConversationID int64
	AccountID      int64
	AuthorID       int64
	Text           string
	Template       string
	Private        bool
	State          string
	IdempotencyKey string
	Attempts       int
	NextAttemptAt  *time.Time
	LastError      string
	RemoteID       string
	Findings       string // JSON: the brand findings when it was written
	ApprovedByID   *int64
	ReviewNote     string // a manager's feedback on approval or rejection
	OverrideReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	SentAt         *time.Time
}

// ReplyByID returns one reply.
func (s *Store) ReplyByID(ctx context.Context, id int64) (Reply, error) {
	return find[Reply](s.read(ctx), fmt.Sprintf("reply %d", id), id)
}

// replyTx reads a reply inside a write transaction.
func (s *Store) replyTx(tx *gorm.DB, id int64) (Reply, error) {
	return find[Reply](tx, fmt.Sprintf("reply %d", id), id)
}

// RepliesQuery selects replies.
type RepliesQuery struct {
	States    []string
	MessageID int64
	AuthorID  int64
	Limit     int
}

// Replies lists replies, newest first.
func (s *Store) Replies(ctx context.Context, q RepliesQuery) ([]Reply, error) {
	db := s.read(ctx).Order("id DESC").Limit(clampLimit(q.Limit, 100, 5000))
	if len(q.States) > 0 {
		db = db.Where("state IN ?", q.States)
	}
	if q.MessageID > 0 {
		db = db.Where("message_id = ?", q.MessageID)
	}
	if q.AuthorID > 0 {
		db = db.Where("author_id = ?", q.AuthorID)
	}
	var rs []Reply
	return rs, db.Find(&rs).Error
}

// NewReply is what CreateReply needs.
type NewReply struct {
	Reply
	Actor string // audit actor (staff handle)
	// AuditAction is the audit event written with it: reply.queue,
	// reply.submit (for approval), reply.override.
	AuditAction string
	AuditDetail map[string]any
}

// CreateReply stores a new reply and marks its message as being replied
// to, in one transaction, with its audit event. The message must still be
// open (or dismissed): a second reply to a message that already has one
// under way is refused with ErrConflict.
func (s *Store) CreateReply(ctx context.Context, nr NewReply) (Reply, error) {
	r := nr.Reply
	now := s.Now()
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Message{}).Where("id = ? AND direction = 'in' AND status IN ('open', 'dismissed', 'answered')", r.MessageID).
			Update("status", StatusReplying)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("message %d already has a reply under way: %w", r.MessageID, ErrConflict)
		}
		r.CreatedAt, r.UpdatedAt = now, now
		if r.State == ReplyQueued && r.NextAttemptAt == nil {
			r.NextAttemptAt = &now
		}
		if err := tx.Create(&r).Error; err != nil {
			return fmt.Errorf("create reply to message %d: %w", r.MessageID, err)
		}
		detail := map[string]any{"message": r.MessageID, "state": r.State, "key": r.IdempotencyKey}
		for k, v := range nr.AuditDetail {
			detail[k] = v
		}
		return appendAudit(tx, now, nr.Actor, nr.AuditAction, subject("reply", r.ID), detail)
	})
	return r, err
}

// ReviewReply records a manager's decision on a reply pending approval:
// approved (queued, optionally with edited text) or rejected (back to draft
// with the feedback note for the trainee).
type ReviewReply struct {
	ReplyID   int64
	Approve   bool
	ManagerID int64
	Actor     string
	Note      string
	Text      string // edited text; "" keeps the trainee's
	Findings  string // findings of the text that goes out, JSON
	Override  string // the manager's override reason when findings block
}

// Review applies a manager's review.
func (s *Store) Review(ctx context.Context, rv ReviewReply) (Reply, error) {
	var out Reply
	now := s.Now()
	err := s.write(ctx, func(tx *gorm.DB) error {
		r, err := s.replyTx(tx, rv.ReplyID)
		if err != nil {
			return err
		}
		if r.State != ReplyPendingApproval {
			return fmt.Errorf("reply %d is %s, not pending approval: %w", r.ID, r.State, ErrConflict)
		}
		upd := map[string]any{"review_note": rv.Note, "updated_at": now, "approved_by_id": rv.ManagerID}
		detail := map[string]any{"note": rv.Note}
		if rv.Text != "" && rv.Text != r.Text {
			upd["text"] = rv.Text
			detail["edited"] = true
			detail["original"] = r.Text
		}
		if rv.Findings != "" {
			upd["findings"] = rv.Findings
		}
		action := "reply.reject"
		if rv.Approve {
			action = "reply.approve"
			upd["state"] = ReplyQueued
			upd["next_attempt_at"] = now
			if rv.Override != "" {
				upd["override_reason"] = rv.Override
				detail["override"] = rv.Override
			}
		} else {
			upd["state"] = ReplyDraft
			upd["approved_by_id"] = nil
			if err := tx.Model(&Message{}).Where("id = ? AND status = ?", r.MessageID, StatusReplying).
				Update("status", StatusOpen).Error; err != nil {
				return err
			}
		}
		res := tx.Model(&Reply{}).Where("id = ? AND state = ?", r.ID, ReplyPendingApproval).Updates(upd)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("reply %d changed during review: %w", r.ID, ErrConflict)
		}
		if err := appendAudit(tx, now, rv.Actor, action, subject("reply", r.ID), detail); err != nil {
			return err
		}
		outcome := ReviewRejected
		if rv.Approve {
			outcome = ReviewApproved
			if detail["edited"] == true {
				outcome = ReviewEdited
			}
		}
		var manager *int64
		if rv.ManagerID != 0 {
			manager = &rv.ManagerID
		}
		if err := tx.Exec(`INSERT INTO reviews (reply_id, author_id, manager_id, outcome, note, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			r.ID, r.AuthorID, manager, outcome, rv.Note, now).Error; err != nil {
			return fmt.Errorf("record the review of reply %d: %w", r.ID, err)
		}
		if rv.Override != "" && rv.Approve {
			if err := appendAudit(tx, now, rv.Actor, "reply.override", subject("reply", r.ID), map[string]any{"reason": rv.Override}); err != nil {
				return err
			}
		}
		out, err = s.replyTx(tx, r.ID)
		return err
	})
	return out, err
}

// ResubmitDraft puts a rejected draft, edited by its author, back in the
// approval queue (or straight to the queue when the author may now send).
func (s *Store) ResubmitDraft(ctx context.Context, id int64, actor, text, findings, state string) (Reply, error) {
	var out Reply
	now := s.Now()
	err := s.write(ctx, func(tx *gorm.DB) error {
		r, err := s.replyTx(tx, id)
		if err != nil {
			return err
		}
		if r.State != ReplyDraft {
			return fmt.Errorf("reply %d is %s, not a draft: %w", id, r.State, ErrConflict)
		}
		res := tx.Model(&Message{}).Where("id = ? AND status IN ('open', 'dismissed', 'answered')", r.MessageID).Update("status", StatusReplying)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("message %d already has a reply under way: %w", r.MessageID, ErrConflict)
		}
		upd := map[string]any{"text": text, "findings": findings, "state": state, "updated_at": now}
		if state == ReplyQueued {
			upd["next_attempt_at"] = now
		}
		if err := tx.Model(&Reply{}).Where("id = ? AND state = ?", id, ReplyDraft).Updates(upd).Error; err != nil {
			return err
		}
		if err := appendAudit(tx, now, actor, "reply.edit", subject("reply", id), map[string]any{"state": state, "previous": r.Text}); err != nil {
			return err
		}
		out, err = s.replyTx(tx, id)
		return err
	})
	return out, err
}

// DueReplies lists queued replies whose next attempt is due.
func (s *Store) DueReplies(ctx context.Context, now time.Time, limit int) ([]Reply, error) {
	var rs []Reply
	err := s.w.WithContext(ctx).Where("state = ? AND next_attempt_at <= ?", ReplyQueued, now.UTC()).
		Order("next_attempt_at, id").Limit(clampLimit(limit, 20, 500)).Find(&rs).Error
	return rs, err
}

// SendingReplies lists replies left in "sending": after a crash, each must
// be checked with the platform before it is sent again.
func (s *Store) SendingReplies(ctx context.Context) ([]Reply, error) {
	var rs []Reply
	err := s.w.WithContext(ctx).Where("state = ?", ReplySending).Order("id").Limit(10000).Find(&rs).Error
	return rs, err
}

// NextDue is when the next queued reply is due, or nil.
func (s *Store) NextDue(ctx context.Context) (*time.Time, error) {
	var r Reply
	err := s.w.WithContext(ctx).Where("state = ?", ReplyQueued).Order("next_attempt_at").Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, nil
	}
	return r.NextAttemptAt, err
}

// ClaimReply moves a queued reply to sending. It returns ErrConflict when
// someone else claimed it first. The write is committed before the caller
// talks to the platform: if the process dies during the call, the reply is
// found in "sending" at the next start and checked, never blindly resent.
func (s *Store) ClaimReply(ctx context.Context, id int64) (Reply, error) {
	var out Reply
	now := s.Now()
	err := s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Reply{}).Where("id = ? AND state = ?", id, ReplyQueued).
			Updates(map[string]any{"state": ReplySending, "attempts": gorm.Expr("attempts + 1"), "updated_at": now})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("reply %d is no longer queued: %w", id, ErrConflict)
		}
		var err error
		out, err = s.replyTx(tx, id)
		return err
	})
	return out, err
}

// MarkSent records that the platform has the reply: the reply is sent, its
// message answered, and the reply joins the conversation as an outbound
// message.
func (s *Store) MarkSent(ctx context.Context, id int64, remoteID, how string) error {
	now := s.Now()
	return s.write(ctx, func(tx *gorm.DB) error {
		r, err := s.replyTx(tx, id)
		if err != nil {
			return err
		}
		if r.State != ReplySending {
			return fmt.Errorf("reply %d is %s, not sending: %w", id, r.State, ErrConflict)
		}
		if err := tx.Model(&Reply{}).Where("id = ?", id).Updates(map[string]any{
			"state": ReplySent, "remote_id": remoteID, "sent_at": now, "updated_at": now, "last_error": "", "next_attempt_at": nil,
		}).Error; err != nil {
			return err
		}
		if err := tx.Model(&Message{}).Where("id = ?", r.MessageID).
			Updates(map[string]any{"status": StatusAnswered, "answered_at": now}).Error; err != nil {
			return err
		}
		// A reply in a direct-message conversation answers the customer's
		// earlier messages in it too, unless they have replies of their own.
		if err := tx.Exec(`UPDATE messages SET status = ?, answered_at = ?
			WHERE conversation_id = ? AND kind = 'dm' AND direction = 'in' AND status = 'open' AND id < ?
			AND EXISTS (SELECT 1 FROM messages r WHERE r.id = ? AND r.kind = 'dm')
			AND NOT EXISTS (SELECT 1 FROM replies x WHERE x.message_id = messages.id AND x.state IN ('pending_approval', 'queued', 'sending'))`,
			StatusAnswered, now, r.ConversationID, r.MessageID, r.MessageID).Error; err != nil {
			return fmt.Errorf("answer the earlier messages of conversation %d: %w", r.ConversationID, err)
		}
		var st Staff
		if err := tx.First(&st, r.AuthorID).Error; err != nil {
			return err
		}
		kind := "comment"
		if r.Private {
			kind = "dm"
		}
		pid := remoteID
		if pid == "" {
			pid = "local:" + r.IdempotencyKey
		}
		out := Message{ConversationID: r.ConversationID, AccountID: r.AccountID, Direction: "out", PlatformID: pid,
			Kind: kind, AuthorName: st.Name, AuthorID: st.Handle, Text: r.Text, CreatedAt: now, ReceivedAt: now,
			Source: "reply", Stage: "none", Department: "none", Listening: "[]", Reasons: "[]", Status: StatusAnswered}
		if err := tx.Clauses(onConflictDoNothing).Create(&out).Error; err != nil {
			return fmt.Errorf("record sent reply %d: %w", id, err)
		}
		if out.ID != 0 {
			if err := tx.Exec(`INSERT INTO messages_fts (rowid, text, author_name) VALUES (?, ?, ?)`, out.ID, out.Text, out.AuthorName).Error; err != nil {
				return err
			}
		}
		if err := tx.Model(&Conversation{}).Where("id = ? AND last_message_at < ?", r.ConversationID, now).
			Update("last_message_at", now).Error; err != nil {
			return err
		}
		return appendAudit(tx, now, "system", "reply.sent", subject("reply", id), map[string]any{"remote_id": remoteID, "how": how, "attempts": r.Attempts})
	})
}

// MarkRetry puts a reply that could not be sent back in the queue for a
// later attempt. An attempt not counted (the platform asked to wait, and
// nothing was posted) does not use up the reply's attempts.
func (s *Store) MarkRetry(ctx context.Context, id int64, lastErr string, next time.Time, counted bool) error {
	now := s.Now()
	set := map[string]any{"state": ReplyQueued, "last_error": lastErr, "next_attempt_at": next.UTC(), "updated_at": now}
	if !counted {
		set["attempts"] = gorm.Expr("max(attempts - 1, 0)")
	}
	return s.write(ctx, func(tx *gorm.DB) error {
		res := tx.Model(&Reply{}).Where("id = ? AND state = ?", id, ReplySending).Updates(set)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("reply %d is not sending: %w", id, ErrConflict)
		}
		return appendAudit(tx, now, "system", "reply.retry", subject("reply", id), map[string]any{"error": lastErr, "next": next.UTC()})
	})
}

// MarkFailed records that a reply cannot be sent (the platform refused it
// for good, or it ran out of attempts). Its message is open again.
func (s *Store) MarkFailed(ctx context.Context, id int64, lastErr string) error {
	now := s.Now()
	return s.write(ctx, func(tx *gorm.DB) error {
		r, err := s.replyTx(tx, id)
		if err != nil {
			return err
		}
		res := tx.Model(&Reply{}).Where("id = ? AND state = ?", id, ReplySending).Updates(map[string]any{
			"state": ReplyFailed, "last_error": lastErr, "next_attempt_at": nil, "updated_at": now,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("reply %d is not sending: %w", id, ErrConflict)
		}
		if err := tx.Model(&Message{}).Where("id = ? AND status = ?", r.MessageID, StatusReplying).
			Update("status", StatusOpen).Error; err != nil {
			return err
		}
		return appendAudit(tx, now, "system", "reply.fail", subject("reply", id), map[string]any{"error": lastErr})
	})
}

// RetryFailed queues a failed reply again, at a person's request.
func (s *Store) RetryFailed(ctx context.Context, actor string, id int64) error {
	now := s.Now()
	return s.write(ctx, func(tx *gorm.DB) error {
		r, err := s.replyTx(tx, id)
		if err != nil {
			return err
		}
		if r.State != ReplyFailed {
			return fmt.Errorf("reply %d is %s, not failed: %w", id, r.State, ErrConflict)
		}
		res := tx.Model(&Message{}).Where("id = ? AND status IN ('open', 'dismissed')", r.MessageID).Update("status", StatusReplying)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return fmt.Errorf("message %d already has another reply under way: %w", r.MessageID, ErrConflict)
		}
		if err := tx.Model(&Reply{}).Where("id = ?", id).Updates(map[string]any{
			"state": ReplyQueued, "attempts": 0, "next_attempt_at": now, "updated_at": now,
		}).Error; err != nil {
			return err
		}
		return appendAudit(tx, now, actor, "reply.retry", subject("reply", id), map[string]any{"manual": true})
	})
}
