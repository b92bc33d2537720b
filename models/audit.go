package models

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
)

// AuditEvent is one entry of the append-only audit log. Triggers in the
// schema refuse updates and deletes, and each entry carries the hash of the
// one before it, so a row changed behind the app's back (with the triggers
// dropped) breaks the chain that VerifyAudit checks.
type AuditEvent struct {
	ID       int64 `gorm:"primaryKey"`
	At       time.Time
	Actor    string // a staff handle, or "system"
	Action   string // e.g. reply.approve
	Subject  string // e.g. reply:12
	Detail   string // JSON
	PrevHash string
	Hash     string
}

func subject(kind string, id int64) string { return kind + ":" + strconv.FormatInt(id, 10) }

// Subject names a row in audit events: kind:id.
func Subject(kind string, id int64) string { return subject(kind, id) }

// appendAudit writes an audit event inside tx.
func appendAudit(tx *gorm.DB, at time.Time, actor, action, subj string, detail any) error {
	d, err := json.Marshal(detail)
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	var prev string
	if err := tx.Raw("SELECT hash FROM audit_events ORDER BY id DESC LIMIT 1").Scan(&prev).Error; err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	if prev == "" {
		prev = "genesis"
	}
	e := AuditEvent{At: at.UTC(), Actor: actor, Action: action, Subject: subj, Detail: string(d), PrevHash: prev}
	e.Hash = e.computeHash()
	if err := tx.Create(&e).Error; err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func (e AuditEvent) computeHash() string {
	h := sha256.New()
	for _, f := range []string{e.PrevHash, e.At.UTC().Format(time.RFC3339Nano), e.Actor, e.Action, e.Subject, e.Detail} {
		fmt.Fprintf(h, "%d:%s|", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Audit appends an event on its own, for actions that change nothing else
// in the database (an export, a login).
func (s *Store) Audit(ctx context.Context, actor, action, subj string, detail any) error {
	return s.write(ctx, func(tx *gorm.DB) error { return appendAudit(tx, s.Now(), actor, action, subj, detail) })
}

// AuditQuery selects audit events.
type AuditQuery struct {
	Subject string // "" for all
	AfterID int64  // for paging: events with a larger ID
	Limit   int
}

// AuditEvents lists events oldest first.
func (s *Store) AuditEvents(ctx context.Context, q AuditQuery) ([]AuditEvent, error) {
	db := s.read(ctx).Where("id > ?", q.AfterID).Order("id").Limit(clampLimit(q.Limit, 100, 10000))
	if q.Subject != "" {
		db = db.Where("subject = ?", q.Subject)
	}
	var es []AuditEvent
	return es, db.Find(&es).Error
}

// ErrAuditTampered means the audit chain does not verify.
var ErrAuditTampered = errors.New("audit log does not verify")

// VerifyAudit walks the whole chain and reports the first broken entry.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	prev := "genesis"
	n := 0
	var after int64
	for {
		es, err := s.AuditEvents(ctx, AuditQuery{AfterID: after, Limit: 5000})
		if err != nil {
			return n, err
		}
		if len(es) == 0 {
			return n, nil
		}
		for _, e := range es {
			if e.PrevHash != prev || e.computeHash() != e.Hash {
				return n, fmt.Errorf("%w at entry %d (%s %s)", ErrAuditTampered, e.ID, e.Action, e.Subject)
			}
			prev = e.Hash
			n++
		}
		after = es[len(es)-1].ID
	}
}

func clampLimit(n, def, max int) int {
	switch {
	case n <= 0:
		return def
	case n > max:
		return max
	}
	return n
}
