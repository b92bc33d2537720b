// Package models holds Branchline's data: the GORM entities of a node and
// the Store that reads and writes them in the node's own SQLite database.
//
// The database runs in WAL mode with foreign keys on and a busy timeout.
// All writes go through one connection, because SQLite allows one writer at
// a time; reads use a small pool of their own, which WAL lets run beside the
// writer. The schema is created and upgraded by numbered migrations
// (migrate.go), so a database made by an earlier version opens without loss.
package models

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Store is a node's database.
type Store struct {
	w  *gorm.DB // the one writer connection
	ck *gorm.DB // the checkpointer's connection
	// stop ends the checkpointer; stopped is closed when it has.
	stop, stopped chan struct{}
	r             *gorm.DB // readers
	path          string
	now           func() time.Time
	log           *slog.Logger
	// noHandleOnce warns once that bulk inserts cannot have the
	// connection's own handle; driverStaging makes them not use it (tests).
	noHandleOnce  sync.Once
	driverStaging bool
	// The IDs of customers and conversations bulk inserts met.
	customerIDs     idCache[customerKey]
	conversationIDs idCache[convKey]
}

// Option configures Open.
type Option func(*Store)

// WithClock sets the clock the store stamps rows with; tests pass a fake.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger sets the logger for slow or failed queries.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// BusyTimeout is how long a write waits for another process's write (the
// desktop app and a CLI command can share one database).
const BusyTimeout = 10 * time.Second

// Open opens (creating if needed) the database at path and brings its
// schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	keepAllocatorPages()
	s := &Store{path: path, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	var err error
	if s.w, err = s.open(path, 1, true); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := migrate(ctx, s.w, 0); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if s.r, err = s.open(path, 4, false); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if s.ck, err = s.open(path, 1, true); err != nil {
		s.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s.stop = make(chan struct{})
	s.stopped = make(chan struct{})
	go s.checkpointer()
	return s, nil
}

func (s *Store) open(path string, conns int, writer bool) (*gorm.DB, error) {
	q := url.Values{}
	q.Add("_pragma", "page_size(8192)") // bigger pages: fewer splits on bulk inserts
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "synchronous(FULL)")
	// No connection checkpoints on its own: checkpointer does, on a
	// connection of its own, so a bulk import never stops to copy pages.
	q.Add("_pragma", "wal_autocheckpoint(0)")
	if writer {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -64<<10)) // KiB
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -16<<10))
		q.Add("_pragma", "query_only(1)")
	}
	dsn := "file:" + path + "?" + q.Encode()
	db, err := gorm.Open(sqlite.Open(dsn), &gorm.Config{
		TranslateError:         true,
		NowFunc:                func() time.Time { return s.now().UTC() },
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
	})
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(conns)
	sqlDB.SetMaxIdleConns(conns)
	sqlDB.SetConnMaxIdleTime(0)
	return db, nil
}

// CheckpointInterval is how often the write-ahead log is folded back into
// the database file.
const CheckpointInterval = time.Second

// checkpointer folds the write-ahead log into the database file in the
// background (a PASSIVE checkpoint never blocks readers or the writer).
func (s *Store) checkpointer() {
	defer close(s.stopped)
	t := time.NewTicker(CheckpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.ck.Exec("PRAGMA wal_checkpoint(PASSIVE)").Error; err != nil {
				s.log.Warn("checkpoint", "err", err)
			}
		}
	}
}

// Close closes the database.
func (s *Store) Close() error {
	if s.stop != nil {
		close(s.stop)
		<-s.stopped
		s.stop = nil
	}
	var errs []error
	for _, db := range []*gorm.DB{s.ck, s.r, s.w} {
		if db == nil {
			continue
		}
		if sqlDB, err := db.DB(); err == nil {
			errs = append(errs, sqlDB.Close())
		}
	}
	return errors.Join(errs...)
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Now is the store's clock, in UTC.
func (s *Store) Now() time.Time { return s.now().UTC() }

// write runs fn in a write transaction on the writer connection.
func (s *Store) write(ctx context.Context, fn func(tx *gorm.DB) error) error {
	return s.w.WithContext(ctx).Transaction(fn)
}

// writeBulk is write for a bulk insert of inbound messages, with two of
// the connection's settings eased for the one transaction:
//
//   - the foreign-key checks are off: every reference fn stores it has
//     found or made itself, in the same transaction or (customers and
//     conversations, which are never deleted) in one committed before
//     (idcache.go), and checked; with the checks on SQLite must also keep a
//     statement journal; the two cost a sixth of an import;
//   - the commit does not wait for the disk (synchronous NORMAL): the
//     caller's next ordinary commit (the poll's cursor, the import's audit
//     entry) syncs the write-ahead log up to and past these rows, so a
//     power cut can lose only rows whose cursor or report was never stored,
//     and a re-poll or re-import brings them back. A crash of the process
//     loses nothing either way.
//
// The writer connection is held throughout, so no other write runs with
// these settings, and it is dropped rather than handed back if they cannot
// be restored. fn's withHandle runs a function with the connection's own
// SQLite handle (rawConn) inside the transaction.
func (s *Store) writeBulk(ctx context.Context, fn func(tx *gorm.DB, withHandle handleFunc) error) error {
	return s.w.WithContext(ctx).Connection(func(conn *gorm.DB) (err error) {
		sqlConn, _ := conn.Statement.ConnPool.(*sql.Conn)
		committed := false
		defer func() {
			if e := restoreWriterSettings(conn); e != nil {
				if sqlConn != nil {
					_ = sqlConn.Raw(func(any) error { return driver.ErrBadConn })
				}
				if committed {
					// The rows are stored; only the connection is lost.
					s.log.Warn("bulk write: connection dropped", "err", e)
				} else {
					err = errors.Join(err, e)
				}
			}
		}()
		if err := conn.Exec("PRAGMA foreign_keys = OFF; PRAGMA synchronous = NORMAL").Error; err != nil {
			return err
		}
		withHandle := func(func(rawConn) error) error { return errNoHandle }
		if sqlConn != nil {
			// Inside Raw, database/sql lets nothing else use the
			// connection (not even a rollback on cancellation) or close it.
			withHandle = func(f func(rawConn) error) error {
				return sqlConn.Raw(func(dc any) error {
					c, err := rawConnOf(dc)
					if err != nil {
						return fmt.Errorf("%w: %w", errNoHandle, err)
					}
					return f(c)
				})
			}
		}
		err = conn.Transaction(func(tx *gorm.DB) error { return fn(tx, withHandle) })
		committed = err == nil
		return err
	})
}

// restoreWriterSettings turns the foreign-key checks of conn back on and
// its commits back to waiting for the disk, and makes sure they are.
func restoreWriterSettings(conn *gorm.DB) error {
	if err := conn.Exec("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL").Error; err != nil {
		return fmt.Errorf("restore the writer's settings: %w", err)
	}
	var fk, sync int
	if err := conn.Raw("PRAGMA foreign_keys").Scan(&fk).Error; err != nil {
		return fmt.Errorf("restore the writer's settings: %w", err)
	}
	if err := conn.Raw("PRAGMA synchronous").Scan(&sync).Error; err != nil {
		return fmt.Errorf("restore the writer's settings: %w", err)
	}
	if fk != 1 || sync != 2 {
		return fmt.Errorf("restore the writer's settings: foreign_keys %d, synchronous %d", fk, sync)
	}
	return nil
}

// read returns the reader pool bound to ctx.
func (s *Store) read(ctx context.Context) *gorm.DB { return s.r.WithContext(ctx) }

// Checkpoint folds the write-ahead log back into the database file; the
// desktop app calls it when it closes.
func (s *Store) Checkpoint(ctx context.Context) error {
	return s.w.WithContext(ctx).Exec("PRAGMA wal_checkpoint(TRUNCATE)").Error
}
