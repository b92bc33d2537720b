package models

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// The SQLite driver (glebarez/go-sqlite) prepares a statement on every
// execution and copies each text argument into memory of its own, which
// costs more than the insert itself when a bulk insert stages its rows. A
// rawConn reaches the driver connection's SQLite handle so that a bulk
// insert can prepare its staging statement once and bind each row
// straight into it.
//
// The driver does not export the handle; rawConnOf reads it from the
// connection's fields (db, tls) by reflection. go.mod requires the driver
// version this was written against (v1.21.2, over modernc.org/sqlite
// v1.23.1); TestDriverHandle fails if a version that the build picks
// moves them, and a bulk insert that cannot have the handle stages its
// rows through the driver instead, more slowly, and logs a warning once.
//
// A rawConn may be used only inside database/sql's Conn.Raw on its
// connection (handleFunc): there nothing else can use the connection, not
// even a rollback started by a cancelled context, nor close it.
type rawConn struct {
	tls *libc.TLS
	db  uintptr // *sqlite3
}

// handleFunc runs f with the SQLite handle of the connection a bulk
// insert holds, inside Conn.Raw; it returns an error wrapping errNoHandle,
// without calling f, when the handle cannot be had.
type handleFunc func(f func(rawConn) error) error

// errNoHandle: the driver connection's SQLite handle cannot be had.
var errNoHandle = errors.New("no SQLite handle")

// rawConnOf returns the SQLite handle of a glebarez/go-sqlite driver
// connection, as database/sql's Conn.Raw hands it over.
func rawConnOf(driverConn any) (rawConn, error) {
	v := reflect.ValueOf(driverConn)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct ||
		v.Elem().Type().PkgPath() != "github.com/glebarez/go-sqlite" {
		return rawConn{}, fmt.Errorf("driver connection %T is not the SQLite driver's", driverConn)
	}
	e := v.Elem()
	db, tls := e.FieldByName("db"), e.FieldByName("tls")
	if !db.IsValid() || db.Kind() != reflect.Uintptr || !tls.IsValid() || tls.Type() != reflect.TypeFor[*libc.TLS]() {
		return rawConn{}, fmt.Errorf("driver connection %T has no SQLite handle where this version expects it", driverConn)
	}
	c := rawConn{tls: (*libc.TLS)(tls.UnsafePointer()), db: uintptr(db.Uint())}
	if c.tls == nil || c.db == 0 {
		return rawConn{}, errors.New("driver connection is closed")
	}
	return c, nil
}

func (c rawConn) err(rc int32) error {
	return fmt.Errorf("%s (%d)", libc.GoString(sqlite3.Xsqlite3_errmsg(c.tls, c.db)), rc)
}

// rawStmt is a statement prepared once and run many times, each time with
// its text arguments copied into one buffer of its own.
type rawStmt struct {
	c      rawConn
	p      uintptr // *sqlite3_stmt
	params int
	buf    uintptr // the current row's text
	bufLen int
	rowLen int // the text the current row announced
	used   int
}

// prepare prepares one SQL statement.
func (c rawConn) prepare(query string) (*rawStmt, error) {
	z, err := libc.CString(query)
	if err != nil {
		return nil, err
	}
	defer libc.Xfree(c.tls, z)
	pp := libc.Xmalloc(c.tls, uint64(unsafe.Sizeof(uintptr(0))))
	if pp == 0 {
		return nil, errors.New("prepare: out of memory")
	}
	defer libc.Xfree(c.tls, pp)
	if rc := sqlite3.Xsqlite3_prepare_v2(c.tls, c.db, z, -1, pp, 0); rc != sqlite3.SQLITE_OK {
		return nil, fmt.Errorf("prepare: %w", c.err(rc))
	}
	p := *(*uintptr)(cmem(pp))
	if p == 0 {
		return nil, errors.New("prepare: no statement in the query")
	}
	return &rawStmt{c: c, p: p, params: int(sqlite3.Xsqlite3_bind_parameter_count(c.tls, p))}, nil
}

// close finalizes the statement and frees its buffer.
func (s *rawStmt) close() {
	sqlite3.Xsqlite3_finalize(s.c.tls, s.p)
	s.p = 0
	if s.buf != 0 {
		libc.Xfree(s.c.tls, s.buf)
		s.buf, s.bufLen = 0, 0
	}
}

// row starts a row whose text arguments take n bytes in all. Every
// parameter must then be bound again before exec: the bindings of the
// row before point into the buffer, which this may free.
func (s *rawStmt) row(n int) error {
	s.used, s.rowLen = 0, 0
	if s.buf != 0 && n <= s.bufLen {
		s.rowLen = n
		return nil
	}
	if n > math.MaxInt32 {
		return fmt.Errorf("a row of %d bytes is too long to store", n)
	}
	if s.buf != 0 {
		sqlite3.Xsqlite3_clear_bindings(s.c.tls, s.p)
		libc.Xfree(s.c.tls, s.buf)
	}
	// Never a null buffer: SQLite would store empty text at a null
	// pointer as NULL.
	size := max(n, 2*s.bufLen, 4096)
	if s.buf = libc.Xmalloc(s.c.tls, uint64(size)); s.buf == 0 {
		s.bufLen = 0
		return errors.New("out of memory for a row")
	}
	s.bufLen, s.rowLen = size, n
	return nil
}

// text binds v to parameter i (from 1), copied into the row's buffer: the
// statement reads it there until the next row.
func (s *rawStmt) text(i int, v string) error {
	if s.used+len(v) > s.rowLen {
		return fmt.Errorf("parameter %d: the row's text is longer than announced", i)
	}
	p := s.buf + uintptr(s.used)
	copy(unsafe.Slice((*byte)(cmem(p)), len(v)), v)
	s.used += len(v)
	return s.check(i, sqlite3.Xsqlite3_bind_text(s.c.tls, s.p, int32(i), p, int32(len(v)), 0))
}

// int binds v to parameter i (from 1).
func (s *rawStmt) int(i int, v int64) error {
	return s.check(i, sqlite3.Xsqlite3_bind_int64(s.c.tls, s.p, int32(i), v))
}

// float binds v to parameter i (from 1).
func (s *rawStmt) float(i int, v float64) error {
	return s.check(i, sqlite3.Xsqlite3_bind_double(s.c.tls, s.p, int32(i), v))
}

// null binds NULL to parameter i (from 1).
func (s *rawStmt) null(i int) error {
	return s.check(i, sqlite3.Xsqlite3_bind_null(s.c.tls, s.p, int32(i)))
}

func (s *rawStmt) check(i int, rc int32) error {
	if rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("parameter %d: %w", i, s.c.err(rc))
	}
	return nil
}

// exec runs the statement once with its bound row and resets it.
func (s *rawStmt) exec() error {
	rc := sqlite3.Xsqlite3_step(s.c.tls, s.p)
	if rc != sqlite3.SQLITE_DONE && rc != sqlite3.SQLITE_ROW {
		err := s.c.err(rc)
		sqlite3.Xsqlite3_reset(s.c.tls, s.p)
		return err
	}
	sqlite3.Xsqlite3_reset(s.c.tls, s.p)
	return nil
}

// cmem is the C memory (allocated by libc, never by Go) at address p.
func cmem(p uintptr) unsafe.Pointer { return unsafe.Add(nil, p) }
