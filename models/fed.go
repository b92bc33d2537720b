package models

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"
)

// Federation storage: the log of signed changes a node holds, the
// high-water mark per author, and the current value of each
// last-writer-wins record. The sync packages decide what changes mean;
// this file only keeps them, in one transaction per batch.

// FedRecord is a verified change on its way into the store.
type FedRecord struct {
	Origin string
	Seq    uint64
	Kind   uint8
	Key    string
	At     time.Time
	Body   []byte
	Raw    []byte // the signed change as received
	// Rank orders versions of one last-writer-wins record; "" for kinds
	// that accumulate (comments, acknowledgements, status changes).
	Rank           string
	AuthorRole     string
	AuthorLocation string
	AuthorRegion   string
	// Revokes is set on a revocation: the node, and its last change that
	// still counts.
	Revokes *Revoke
	// Revoked keeps a change whose author is revoked, never to be
	// applied, so that every node holds the same log.
	Revoked bool
}

// Revoke is a revocation's effect.
type Revoke struct {
	NodeID string
	UpTo   uint64
}

// FedChange is a stored change.
type FedChange struct {
	Origin         string
	Seq            uint64
	Kind           uint8
	Key            string
	At             time.Time
	Body           []byte
	Raw            []byte
	Rank           string
	AuthorRole     string
	AuthorLocation string
	AuthorRegion   string
	Revoked        bool
	ReceivedAt     time.Time
}

// TableName is fed_changes.
func (FedChange) TableName() string { return "fed_changes" }

// FedState is the current value of a last-writer-wins record.
type FedState struct {
	Kind   uint8
	Key    string
	Origin string
	Seq    uint64
	Rank   string
	At     time.Time
	Body   []byte
}

// TableName is fed_state.
func (FedState) TableName() string { return "fed_state" }

// FedHeads returns, per author, the highest sequence number held with no
// gap below it.
func (s *Store) FedHeads(ctx context.Context) (map[string]uint64, error) {
	rows, err := s.r.WithContext(ctx).Raw(`SELECT origin, head FROM fed_heads`).Rows()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	heads := map[string]uint64{}
	for rows.Next() {
		var o string
		var h uint64
		if err := rows.Scan(&o, &h); err != nil {
			return nil, err
		}
		heads[o] = h
	}
	return heads, rows.Err()
}

// FedHeld returns the raw bytes of the listed changes this node already
// holds, by sequence number.
func (s *Store) FedHeld(ctx context.Context, origin string, seqs []uint64) (map[uint64][]byte, error) {
	out := map[uint64][]byte{}
	for lo := 0; lo < len(seqs); lo += 500 {
		var rows []struct {
			Seq uint64
			Raw []byte
		}
		if err := s.r.WithContext(ctx).Raw(`SELECT seq, raw FROM fed_changes WHERE origin = ? AND seq IN ?`,
			origin, seqs[lo:min(lo+500, len(seqs))]).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.Seq] = r.Raw
		}
	}
	return out, nil
}

// FedApply stores records that are new to this node, and returns them.
// Records it already holds are skipped. Heads, last-writer-wins values and
// revocations are brought up to date in the same transaction.
func (s *Store) FedApply(ctx context.Context, recs []FedRecord) ([]FedRecord, error) {
	var added []FedRecord
	ctx = context.WithoutCancel(ctx) // see InsertInbound
	err := s.write(ctx, func(tx *gorm.DB) error {
		var err error
		added, err = s.fedApplyTx(ctx, tx, recs)
		return err
	})
	return added, err
}

// FedAuthor allocates this node's next sequence number inside a write
// transaction (so two processes writing for one node never reuse one),
// asks build for the signed record, and stores it.
func (s *Store) FedAuthor(ctx context.Context, origin string, build func(seq uint64) (FedRecord, error)) (FedRecord, error) {
	var rec FedRecord
	err := s.write(ctx, func(tx *gorm.DB) error {
		var last uint64
		if err := tx.Raw(`SELECT coalesce(max(seq), 0) FROM fed_changes WHERE origin = ?`, origin).Scan(&last).Error; err != nil {
			return err
		}
		var err error
		if rec, err = build(last + 1); err != nil {
			return err
		}
		added, err := s.fedApplyTx(ctx, tx, []FedRecord{rec})
		if err != nil {
			return err
		}
		if len(added) != 1 {
			return fmt.Errorf("change %s/%d was not stored", origin, last+1)
		}
		return nil
	})
	return rec, err
}

// fedApplyTx stores records in multi-row statements (the SQLite driver
// compiles every statement it runs, so one statement for many rows is
// what makes receiving fast): the changes, then the current values they
// win, then revocations, then heads.
func (s *Store) fedApplyTx(ctx context.Context, tx *gorm.DB, recs []FedRecord) ([]FedRecord, error) {
	pool := tx.Statement.ConnPool
	now := s.Now()
	revoked, err := fedRevocations(tx)
	if err != nil {
		return nil, err
	}
	isRevoked := func(r FedRecord) bool {
		up, ok := revoked[r.Origin]
		return r.Revoked || ok && r.Seq > up
	}
	var added []FedRecord
	for lo := 0; lo < len(recs); lo += fedRowsPerStatement {
		part := recs[lo:min(lo+fedRowsPerStatement, len(recs))]
		var q strings.Builder
		q.WriteString(`INSERT INTO fed_changes (origin, seq, kind, key, at, body, raw, rank,
			author_role, author_location, author_region, revoked, received_at) VALUES `)
		args := make([]any, 0, 13*len(part))
		for i, r := range part {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
			args = append(args, r.Origin, r.Seq, r.Kind, r.Key, r.At.UTC(), r.Body, r.Raw, r.Rank,
				r.AuthorRole, r.AuthorLocation, r.AuthorRegion, isRevoked(r), now)
		}
		q.WriteString(" ON CONFLICT (origin, seq) DO NOTHING RETURNING origin, seq")
		rows, err := pool.QueryContext(ctx, q.String(), args...)
		if err != nil {
			return nil, fmt.Errorf("store changes %s/%d and on: %w", part[0].Origin, part[0].Seq, err)
		}
		stored := map[string]bool{}
		for rows.Next() {
			var origin string
			var seq uint64
			if err := rows.Scan(&origin, &seq); err != nil {
				rows.Close()
				return nil, err
			}
			stored[origin+"/"+strconv.FormatUint(seq, 10)] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, r := range part {
			if stored[r.Origin+"/"+strconv.FormatUint(r.Seq, 10)] {
				added = append(added, r)
			}
		}
	}
	// Current values: within one statement SQLite applies the rows in
	// order, each against the value the one before left.
	var wins []FedRecord
	for _, r := range added {
		if r.Rank != "" && !isRevoked(r) {
			wins = append(wins, r)
		}
	}
	for lo := 0; lo < len(wins); lo += fedRowsPerStatement {
		part := wins[lo:min(lo+fedRowsPerStatement, len(wins))]
		var q strings.Builder
		q.WriteString(`INSERT INTO fed_state (kind, key, origin, seq, rank, at, body) VALUES `)
		args := make([]any, 0, 7*len(part))
		for i, r := range part {
			if i > 0 {
				q.WriteString(",")
			}
			q.WriteString("(?,?,?,?,?,?,?)")
			args = append(args, r.Kind, r.Key, r.Origin, r.Seq, r.Rank, r.At.UTC(), r.Body)
		}
		q.WriteString(` ON CONFLICT (kind, key) DO UPDATE SET origin = excluded.origin, seq = excluded.seq,
			rank = excluded.rank, at = excluded.at, body = excluded.body WHERE excluded.rank > fed_state.rank`)
		if _, err := pool.ExecContext(ctx, q.String(), args...); err != nil {
			return nil, fmt.Errorf("current values: %w", err)
		}
	}
	// Revocations last: each marks the revoked node's later changes,
	// those just stored included, and recomputes what they had won.
	touched := map[string]bool{}
	for _, r := range added {
		touched[r.Origin] = true
		if r.Revokes != nil && !isRevoked(r) {
			if err := s.fedRevoke(tx, *r.Revokes, r.Origin, r.Seq); err != nil {
				return nil, err
			}
			if old, ok := revoked[r.Revokes.NodeID]; !ok || r.Revokes.UpTo < old {
				revoked[r.Revokes.NodeID] = r.Revokes.UpTo
			}
		}
	}
	for origin := range touched {
		if err := fedAdvanceHead(tx, origin); err != nil {
			return nil, err
		}
	}
	return added, nil
}

// fedRowsPerStatement bounds a multi-row statement (13 values a row;
// well under SQLite's limit of 32,766 variables).
const fedRowsPerStatement = 50

// fedRevoke records a revocation (the lowest cut-off wins, so revocations
// merge in any order), marks the node's later changes and recomputes the
// records they had won.
func (s *Store) fedRevoke(tx *gorm.DB, rv Revoke, origin string, seq uint64) error {
	if err := tx.Exec(`INSERT INTO fed_revocations (node_id, up_to, origin, seq) VALUES (?, ?, ?, ?)
		ON CONFLICT (node_id) DO UPDATE SET up_to = min(fed_revocations.up_to, excluded.up_to)`,
		rv.NodeID, rv.UpTo, origin, seq).Error; err != nil {
		return err
	}
	if err := tx.Exec(`UPDATE fed_changes SET revoked = 1 WHERE origin = ? AND seq > ?`, rv.NodeID, rv.UpTo).Error; err != nil {
		return err
	}
	var keys []struct {
		Kind uint8
		Key  string
	}
	if err := tx.Raw(`SELECT kind, key FROM fed_state WHERE origin = ? AND seq > ?`, rv.NodeID, rv.UpTo).Scan(&keys).Error; err != nil {
		return err
	}
	for _, k := range keys {
		if err := tx.Exec(`DELETE FROM fed_state WHERE kind = ? AND key = ?`, k.Kind, k.Key).Error; err != nil {
			return err
		}
		if err := tx.Exec(`INSERT INTO fed_state (kind, key, origin, seq, rank, at, body)
			SELECT kind, key, origin, seq, rank, at, body FROM fed_changes
			WHERE kind = ? AND key = ? AND revoked = 0 AND rank <> '' ORDER BY rank DESC LIMIT 1`, k.Kind, k.Key).Error; err != nil {
			return err
		}
	}
	return nil
}

func fedRevocations(tx *gorm.DB) (map[string]uint64, error) {
	var rows []struct {
		NodeID string
		UpTo   uint64
	}
	if err := tx.Raw(`SELECT node_id, up_to FROM fed_revocations`).Scan(&rows).Error; err != nil {
		return nil, err
	}
	m := make(map[string]uint64, len(rows))
	for _, r := range rows {
		m[r.NodeID] = r.UpTo
	}
	return m, nil
}

// fedAdvanceHead moves an origin's head over every sequence number now
// held without a gap.
func fedAdvanceHead(tx *gorm.DB, origin string) error {
	var head uint64
	err := tx.Raw(`SELECT head FROM fed_heads WHERE origin = ?`, origin).Scan(&head).Error
	if err != nil && !errors.Is(err, gorm.ErrRecordNotFound) {
		return err
	}
	for {
		var seqs []uint64
		if err := tx.Raw(`SELECT seq FROM fed_changes WHERE origin = ? AND seq > ? ORDER BY seq LIMIT 5000`, origin, head).Scan(&seqs).Error; err != nil {
			return err
		}
		moved := false
		for _, s := range seqs {
			if s != head+1 {
				break
			}
			head, moved = s, true
		}
		if !moved || len(seqs) < 5000 {
			break
		}
	}
	return tx.Exec(`INSERT INTO fed_heads (origin, head) VALUES (?, ?) ON CONFLICT (origin) DO UPDATE SET head = excluded.head`, origin, head).Error
}

// FedRange returns the raw changes of origin with sequence numbers from
// from to to, at most limit of them, in order.
func (s *Store) FedRange(ctx context.Context, origin string, from, to uint64, limit int) ([][]byte, error) {
	var raws [][]byte
	err := s.r.WithContext(ctx).Raw(`SELECT raw FROM fed_changes WHERE origin = ? AND seq BETWEEN ? AND ? ORDER BY seq LIMIT ?`,
		origin, from, to, clampLimit(limit, 500, 5000)).Scan(&raws).Error
	return raws, err
}

// FedRefuse logs a change that was refused, and why.
func (s *Store) FedRefuse(ctx context.Context, origin string, seq uint64, kind uint8, key, from, reason string) error {
	return s.write(ctx, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO fed_refusals (origin, seq, kind, key, reason, from_node, at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			origin, seq, kind, key, reason, from, s.Now()).Error
	})
}

// FedRefusal is a logged refusal.
type FedRefusal struct {
	Origin, Key, Reason, FromNode string
	Seq                           uint64
	Kind                          uint8
	At                            time.Time
}

// FedRefusals lists the latest refusals.
func (s *Store) FedRefusals(ctx context.Context, limit int) ([]FedRefusal, error) {
	var out []FedRefusal
	err := s.r.WithContext(ctx).Raw(`SELECT origin, seq, kind, key, reason, from_node, at FROM fed_refusals ORDER BY id DESC LIMIT ?`,
		clampLimit(limit, 100, 10000)).Scan(&out).Error
	return out, err
}

// FedRevocations returns every revoked node and its cut-off.
func (s *Store) FedRevocations(ctx context.Context) (map[string]uint64, error) {
	return fedRevocations(s.r.WithContext(ctx))
}

// FedStates lists the current values of a kind's records, by key.
func (s *Store) FedStates(ctx context.Context, kind uint8, limit int) ([]FedState, error) {
	var out []FedState
	err := s.r.WithContext(ctx).Where("kind = ?", kind).Order("key").Limit(clampLimit(limit, 1000, 100000)).Find(&out).Error
	return out, err
}

// FedStatesEach calls fn with every current record of a kind, in key
// order, reading a page at a time, so a kind with hundreds of thousands
// of records (a year of every location's daily figures) is never held at
// once. fn's error stops the walk and is returned.
func (s *Store) FedStatesEach(ctx context.Context, kind uint8, fn func(FedState) error) error {
	const page = 5000
	after := ""
	for {
		var batch []FedState
		if err := s.r.WithContext(ctx).Where("kind = ? AND key > ?", kind, after).Order("key").Limit(page).Find(&batch).Error; err != nil {
			return fmt.Errorf("read records of kind %d: %w", kind, err)
		}
		for _, st := range batch {
			if err := fn(st); err != nil {
				return err
			}
		}
		if len(batch) < page {
			return nil
		}
		after = batch[len(batch)-1].Key
	}
}

// FedStateOf returns one record's current value.
func (s *Store) FedStateOf(ctx context.Context, kind uint8, key string) (FedState, error) {
	return find[FedState](s.r.WithContext(ctx).Where("kind = ? AND key = ?", kind, key), fmt.Sprintf("record %d/%s", kind, key))
}

// FedChanges lists the changes to one record (every version, every
// comment), oldest first; revoked ones are left out.
func (s *Store) FedChanges(ctx context.Context, kind uint8, key string) ([]FedChange, error) {
	var out []FedChange
	err := s.r.WithContext(ctx).Where("kind = ? AND key = ? AND revoked = 0", kind, key).Order("at, origin, seq").
		Limit(10000).Find(&out).Error
	return out, err
}

// FedChangesOfKind lists a kind's changes, newest first.
func (s *Store) FedChangesOfKind(ctx context.Context, kind uint8, limit int) ([]FedChange, error) {
	var out []FedChange
	err := s.r.WithContext(ctx).Where("kind = ? AND revoked = 0", kind).Order("at DESC, origin, seq").
		Limit(clampLimit(limit, 1000, 100000)).Find(&out).Error
	return out, err
}

// FedChangesSince lists origin's changes after seq, in order (a node sends
// what it wrote since it last looked).
func (s *Store) FedChangesSince(ctx context.Context, origin string, after uint64, limit int) ([]FedChange, error) {
	var out []FedChange
	err := s.r.WithContext(ctx).Where("origin = ? AND seq > ?", origin, after).Order("seq").
		Limit(clampLimit(limit, 500, 10000)).Find(&out).Error
	return out, err
}

// FedCounts counts the records of each kind: last-writer-wins records by
// key, the others by change.
func (s *Store) FedCounts(ctx context.Context) (map[uint8]int, error) {
	out := map[uint8]int{}
	for _, q := range []string{
		`SELECT kind, count(*) AS n FROM fed_state GROUP BY kind`,
		`SELECT kind, count(*) AS n FROM fed_changes WHERE rank = '' AND revoked = 0 GROUP BY kind`,
	} {
		var rows []struct {
			Kind uint8
			N    int
		}
		if err := s.r.WithContext(ctx).Raw(q).Scan(&rows).Error; err != nil {
			return nil, err
		}
		for _, r := range rows {
			out[r.Kind] += r.N
		}
	}
	return out, nil
}

// FedChangesEach calls fn with every change of a kind that is not revoked,
// oldest first, without its raw signed form: a streaming read for views
// that fold many changes (the escalation board).
func (s *Store) FedChangesEach(ctx context.Context, kind uint8, fn func(FedChange) error) error {
	rows, err := s.r.WithContext(ctx).Model(&FedChange{}).
		Select("origin, seq, kind, key, at, body, rank, author_role, author_location, author_region").
		Where("kind = ? AND revoked = 0", kind).Order("at, origin, seq").Rows()
	if err != nil {
		return fmt.Errorf("read changes of kind %d: %w", kind, err)
	}
	defer rows.Close()
	for rows.Next() {
		var c FedChange
		if err := rows.Scan(&c.Origin, &c.Seq, &c.Kind, &c.Key, &c.At, &c.Body, &c.Rank, &c.AuthorRole, &c.AuthorLocation, &c.AuthorRegion); err != nil {
			return fmt.Errorf("read changes of kind %d: %w", kind, err)
		}
		if err := fn(c); err != nil {
			return err
		}
	}
	return rows.Err()
}

// FedLastChange is, for each origin, when this node received its newest
// change: when that node was last heard from through its own writing.
func (s *Store) FedLastChange(ctx context.Context) (map[string]time.Time, error) {
	var rows []struct {
		Origin string
		Last   string
	}
	if err := s.r.WithContext(ctx).Raw(`SELECT origin, max(received_at) AS last FROM fed_changes GROUP BY origin`).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("last changes: %w", err)
	}
	out := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		if t, err := parseSQLTime(r.Last); err == nil {
			out[r.Origin] = t
		}
	}
	return out, nil
}
