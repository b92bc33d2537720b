// Package wire is the small binary encoding of federation messages:
// varint-prefixed fields, read back with bounds checks so that nothing a
// peer sends can make a reader allocate without limit or panic.
package wire

import (
	"bytes"
	"encoding/binary"
	"errors"
)

// ErrMalformed means the bytes do not decode.
var ErrMalformed = errors.New("malformed")

// MaxField bounds one length-prefixed field.
const MaxField = 16 << 20

// Writer appends fields.
type Writer struct{ bytes.Buffer }

// PutInt appends a signed varint.
func (w *Writer) PutInt(v int64) {
	var tmp [binary.MaxVarintLen64]byte
	w.Write(tmp[:binary.PutVarint(tmp[:], v)])
}

// PutUint appends an unsigned varint.
func (w *Writer) PutUint(v uint64) {
	var tmp [binary.MaxVarintLen64]byte
	w.Write(tmp[:binary.PutUvarint(tmp[:], v)])
}

// PutBytes appends a length-prefixed byte string.
func (w *Writer) PutBytes(p []byte) {
	w.PutUint(uint64(len(p)))
	w.Write(p)
}

// PutString appends a length-prefixed string.
func (w *Writer) PutString(s string) {
	w.PutUint(uint64(len(s)))
	w.WriteString(s)
}

// Reader reads fields; after the first error every read returns zero
// values and Err reports it.
type Reader struct {
	b   []byte
	err error
}

// NewReader reads from b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err is the first error.
func (r *Reader) Err() error { return r.err }

// Done reports whether everything was read without error.
func (r *Reader) Done() bool { return r.err == nil && len(r.b) == 0 }

// Rest returns what is left unread.
func (r *Reader) Rest() []byte { return r.b }

func (r *Reader) fail() { r.err = ErrMalformed }

// Int reads a signed varint.
func (r *Reader) Int() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Uint reads an unsigned varint.
func (r *Reader) Uint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

// Byte reads one byte.
func (r *Reader) Byte() byte {
	if r.err != nil || len(r.b) == 0 {
		r.fail()
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

// Fixed reads n bytes (a copy).
func (r *Reader) Fixed(n int) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.fail()
		return make([]byte, max(n, 0))
	}
	v := bytes.Clone(r.b[:n])
	r.b = r.b[n:]
	return v
}

// Bytes reads a length-prefixed byte string of at most MaxField bytes.
func (r *Reader) Bytes() []byte {
	n := r.Uint()
	if r.err != nil || n > MaxField || n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	return r.Fixed(int(n))
}

// String reads a length-prefixed string.
func (r *Reader) String() string { return string(r.Bytes()) }
