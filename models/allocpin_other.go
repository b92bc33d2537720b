//go:build !windows

package models

// maxClassLog: modernc.org/memory's pages are 1 MiB outside Windows.
const maxClassLog = 18
