// Package rotatingfile is a sink that writes one JSON log entry per line to
// files in a directory, rotating them by size or time, whichever comes
// first, and keeping, compressing and deleting old files by policy.
//
// Files are named as fapilog's Python sink names them,
// {prefix}-{YYYYmmdd-HHMMSS}{ext} in UTC, with -1, -2... on collision; or,
// with WithFixedName, the active file is {prefix}{ext} and takes its
// timestamped name when it rotates. WithSymlink keeps a link to the active
// file.
//
// A line is never split across files and never cut short: a write that
// fails half-way (disk full) is truncated back to the last whole line, and
// writing resumes once the fault clears. A line larger than the size limit
// is written whole to a file of its own.
//
// Time rotation happens even when nothing is written, so no file stays open
// for days past its interval because traffic stopped. Rotated files are
// compressed (gzip or zstd) and old ones deleted (WithMaxFiles,
// WithMaxTotalBytes, WithMaxAge) on a goroutine of the sink's own; Stop
// waits for that work, and no goroutine outlives it.
//
// Durability follows WithSync: by default every Flush, and so every
// provider.ForceFlush, fsyncs the active file before it returns nil.
//
// For logrotate, either let the sink rotate (recommended) or, if logrotate
// moves files, use WithFixedName with WithReopenOn(syscall.SIGHUP); a moved
// or deleted active file is also detected on the next write.
package rotatingfile
