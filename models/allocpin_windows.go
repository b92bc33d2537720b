package models

// maxClassLog: modernc.org/memory's pages are 64 KiB on Windows.
const maxClassLog = 14
