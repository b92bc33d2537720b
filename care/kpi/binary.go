package kpi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// binaryVersion is the first byte of Counts' binary form.
const binaryVersion = 1

// binarySize is the length of Counts' binary form: the version, the
// counts as little-endian uint32s and the two sums as float64s.
const binarySize = 1 + 4*(9+len(Channels)+len(Stages)+len(Departments)+len(Buckets)+1) + 2*8

// ErrBinary means bytes are not Counts' binary form.
var ErrBinary = errors.New("not kpi counts")

// AppendBinary appends the counts' compact binary form to b: what a node
// keeps of a summary it has parsed, to read back without parsing again.
func (c Counts) AppendBinary(b []byte) []byte {
	b = append(b, binaryVersion)
	for _, v := range [...]uint32{c.Received, c.NeedsResponse, c.Answered, c.Decided, c.WithinTarget, c.Unanswered72h, c.Positive, c.Neutral, c.Negative} {
		b = binary.LittleEndian.AppendUint32(b, v)
	}
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.SentimentSum))
	for _, list := range [][]uint32{c.Channel[:], c.Stage[:], c.Department[:], c.FRT[:]} {
		for _, v := range list {
			b = binary.LittleEndian.AppendUint32(b, v)
		}
	}
	return binary.LittleEndian.AppendUint64(b, math.Float64bits(c.FRTSum))
}

// ParseBinary reads counts written by AppendBinary.
func ParseBinary(b []byte) (Counts, error) {
	var c Counts
	if len(b) != binarySize || b[0] != binaryVersion {
		if len(b) == 0 {
			return c, fmt.Errorf("%w: empty", ErrBinary)
		}
		return c, fmt.Errorf("%w: version %d, %d bytes", ErrBinary, b[0], len(b))
	}
	b = b[1:]
	u32 := func() uint32 {
		v := binary.LittleEndian.Uint32(b)
		b = b[4:]
		return v
	}
	f64 := func() float64 {
		v := math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
		return v
	}
	for _, p := range [...]*uint32{&c.Received, &c.NeedsResponse, &c.Answered, &c.Decided, &c.WithinTarget, &c.Unanswered72h, &c.Positive, &c.Neutral, &c.Negative} {
		*p = u32()
	}
	c.SentimentSum = f64()
	for _, list := range [][]uint32{c.Channel[:], c.Stage[:], c.Department[:], c.FRT[:]} {
		for i := range list {
			list[i] = u32()
		}
	}
	c.FRTSum = f64()
	return c, nil
}
