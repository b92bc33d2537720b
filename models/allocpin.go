package models

import (
	"runtime"
	"sync"

	"modernc.org/libc"
)

// SQLite (modernc.org/sqlite) allocates through modernc.org/libc, whose
// allocator (modernc.org/memory) hands out blocks of each power-of-two
// size class from pages mapped for that class (1 MiB; 64 KiB on Windows),
// and unmaps a page as soon as its last block is freed. A short-lived allocation of a class no
// other live block uses (a B-tree balance's scratch space, 48 KiB with 8
// KiB pages, is one on every page split) therefore maps a page, faults it
// in and unmaps it again each time: on a virtual machine, where munmap
// stops every CPU to flush its TLB, that was up to a quarter of an
// import's time, depending only on which other blocks happened to be live
// (BenchmarkImport: 45,000 munmap calls per 100,000 messages in one build,
// 3,500 in another).
//
// keepAllocatorPages keeps one block of every size class allocated for the
// life of the process, so that each class always has a mapped page to
// reuse. It costs one page per class (15 MiB of address space in all),
// resident only as far as SQLite's own use of the class reaches.
func keepAllocatorPages() { keepPagesOnce.Do(keepPages) }

var keepPagesOnce sync.Once

func keepPages() {
	// The size classes go from 16 bytes to the largest block the allocator
	// does not map on its own, a quarter of its page.
	maxClassLog := 18
	if runtime.GOOS == "windows" {
		maxClassLog = 14
	}
	tls := libc.NewTLS()
	defer tls.Close()
	for log := 4; log <= maxClassLog; log++ {
		// Never freed. A failed allocation only leaves that class as it was.
		libc.Xmalloc(tls, uint64(1)<<log)
	}
}
