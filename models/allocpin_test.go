//go:build unix

package models

import (
	"syscall"
	"testing"

	"modernc.org/libc"
)

// TestAllocatorPagesStayMapped allocates, fills and frees a block the size
// of a page split's scratch space again and again: with the allocator's
// pages kept, the memory is reused, so the process takes (almost) no new
// page faults; without, every round maps and faults in fresh memory.
func TestAllocatorPagesStayMapped(t *testing.T) {
	keepAllocatorPages()
	tls := libc.NewTLS()
	defer tls.Close()
	const size, rounds = 48 << 10, 200
	round := func() {
		p := libc.Xmalloc(tls, size)
		if p == 0 {
			t.Fatal("malloc failed")
		}
		libc.Xmemset(tls, p, 1, size)
		libc.Xfree(tls, p)
	}
	// The kept page hands out its unused blocks before it reuses freed
	// ones: the first rounds may fault in fresh memory of that page.
	for range 20 {
		round()
	}
	before := minorFaults(t)
	for range rounds {
		round()
	}
	// Each round on fresh memory would fault in size/4096 = 12 pages.
	if n := minorFaults(t) - before; n > rounds/4 {
		t.Fatalf("%d page faults in %d rounds of malloc, fill and free: the allocator maps fresh memory each time", n, rounds)
	}
}

func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}
