#pragma once

#include <cstdint>

namespace lienthong::sqlite {

// The name of a VFS over SQLite's default one that gathers the writes to a WAL file and issues
// them together, in writes of 120 KB at most, once a transaction's last frame is written (before
// the WAL index makes it visible to other connections), or when SQLite reads, syncs, sizes or
// truncates that file, or after 1 MB. SQLite writes each frame as two calls (its 24-byte header,
// then the page), so a commit of n frames of 8 KB took 2n system calls; it now takes about
// n / 15. Writes to the database file (a checkpoint's pages, in ascending order) are gathered
// the same way while they are contiguous, and issued before SQLite reads, syncs, sizes, locks or
// unlocks that file, sends it a file control, or locks its WAL index: before a checkpoint counts
// them copied, and before a rollback-journal commit returns. Every other file, and every other
// call, goes straight through. Registered on first use; never the default VFS.
const char* wal_coalescing_vfs();

struct WalVfsStats {
  std::uint64_t writes_in = 0;     // WAL writes SQLite asked for
  std::uint64_t writes_out = 0;    // writes issued to the file underneath
  std::uint64_t db_writes_in = 0;  // the same for database files
  std::uint64_t db_writes_out = 0;
};
// Counted over all connections of the process, for tests and benchmarks.
WalVfsStats wal_vfs_stats();

}  // namespace lienthong::sqlite
