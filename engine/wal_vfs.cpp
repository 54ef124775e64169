#include "engine/wal_vfs.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <new>
#include <string>

namespace lienthong::sqlite {
namespace {

constexpr std::size_t kFlushAt = 1 << 20;
// The unix VFS writes at most 128 KB - 1 per call (it masks the length with 0x1ffff).
constexpr std::size_t kWriteMost = 120 << 10;
constexpr int kFrameHeader = 24;

std::atomic<std::uint64_t> g_writes_in{0};
std::atomic<std::uint64_t> g_writes_out{0};
std::atomic<std::uint64_t> g_db_writes_in{0};
std::atomic<std::uint64_t> g_db_writes_out{0};

// Our part of the sqlite3_file SQLite allocates (szOsFile); the file underneath follows it.
struct File {
  sqlite3_file base;  // first: SQLite sees this
  sqlite3_file* real = nullptr;
  bool wal = false;
  bool main_db = false;
  std::string pending;  // bytes to write at pending_at, contiguous
  sqlite3_int64 pending_at = 0;
  bool commit_header = false;  // the last write was the header of a transaction's last frame
};

constexpr std::size_t kFileSize = (sizeof(File) + 7) & ~std::size_t{7};

File* of(sqlite3_file* p) {
  return reinterpret_cast<File*>(p);
}
sqlite3_file* real(sqlite3_file* p) {
  return of(p)->real;
}
sqlite3_vfs* root(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

int flush(File* f) {
  int rc = SQLITE_OK;
  for (std::size_t at = 0; at < f->pending.size() && rc == SQLITE_OK; at += kWriteMost) {
    (f->wal ? g_writes_out : g_db_writes_out).fetch_add(1, std::memory_order_relaxed);
    const std::size_t n = std::min(kWriteMost, f->pending.size() - at);
    rc = f->real->pMethods->xWrite(f->real, f->pending.data() + at, static_cast<int>(n),
                                   f->pending_at + static_cast<sqlite3_int64>(at));
  }
  f->pending.clear();
  return rc;
}

int x_close(sqlite3_file* p) {
  File* f = of(p);
  const int flushed = flush(f);
  const int rc = f->real->pMethods->xClose(f->real);
  f->~File();
  return flushed != SQLITE_OK ? flushed : rc;
}

int x_read(sqlite3_file* p, void* out, int amount, sqlite3_int64 offset) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xRead(real(p), out, amount, offset);
}

int x_write(sqlite3_file* p, const void* data, int amount, sqlite3_int64 offset) {
  File* f = of(p);
  if (!f->wal && !f->main_db) return f->real->pMethods->xWrite(f->real, data, amount, offset);
  (f->wal ? g_writes_in : g_db_writes_in).fetch_add(1, std::memory_order_relaxed);
  // A write elsewhere (SQLite rewriting a frame of the same transaction, or a checkpoint skipping
  // pages) ends the run.
  if (!f->pending.empty() &&
      offset != f->pending_at + static_cast<sqlite3_int64>(f->pending.size())) {
    if (int rc = flush(f); rc != SQLITE_OK) return rc;
  }
  if (f->pending.empty()) f->pending_at = offset;
  f->pending.append(static_cast<const char*>(data), static_cast<std::size_t>(amount));
  if (!f->wal) return f->pending.size() >= kFlushAt ? flush(f) : SQLITE_OK;
  // A commit frame's header holds the database size after the commit (0 in the others). Its
  // page written, the transaction goes to the file even if SQLite will not sync it
  // (synchronous=NORMAL): it becomes visible to other connections right after.
  const bool was_commit_header = f->commit_header;
  const auto* bytes = static_cast<const unsigned char*>(data);
  f->commit_header = amount == kFrameHeader && (bytes[4] | bytes[5] | bytes[6] | bytes[7]) != 0;
  return was_commit_header || f->pending.size() >= kFlushAt ? flush(f) : SQLITE_OK;
}

int x_truncate(sqlite3_file* p, sqlite3_int64 size) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xTruncate(real(p), size);
}

int x_sync(sqlite3_file* p, int flags) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xSync(real(p), flags);
}

int x_file_size(sqlite3_file* p, sqlite3_int64* size) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xFileSize(real(p), size);
}

// The database file's pages are held only while its lock and the WAL index stay as they are: a
// rollback journal's commit ends with an unlock, a checkpoint with the WAL index's update.
int x_lock(sqlite3_file* p, int level) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xLock(real(p), level);
}
int x_unlock(sqlite3_file* p, int level) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xUnlock(real(p), level);
}
int x_check_reserved_lock(sqlite3_file* p, int* out) {
  return real(p)->pMethods->xCheckReservedLock(real(p), out);
}

int x_file_control(sqlite3_file* p, int op, void* arg) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xFileControl(real(p), op, arg);
}

int x_sector_size(sqlite3_file* p) {
  return real(p)->pMethods->xSectorSize(real(p));
}
int x_device_characteristics(sqlite3_file* p) {
  return real(p)->pMethods->xDeviceCharacteristics(real(p));
}

int x_shm_map(sqlite3_file* p, int region, int size, int extend, void volatile** out) {
  return real(p)->pMethods->xShmMap(real(p), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* p, int offset, int n, int flags) {
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xShmLock(real(p), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* p) {
  real(p)->pMethods->xShmBarrier(real(p));
}
int x_shm_unmap(sqlite3_file* p, int delete_flag) {
  return real(p)->pMethods->xShmUnmap(real(p), delete_flag);
}

int x_fetch(sqlite3_file* p, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;
  if (int rc = flush(of(p)); rc != SQLITE_OK) return rc;
  return real(p)->pMethods->xFetch(real(p), offset, amount, out);
}
int x_unfetch(sqlite3_file* p, sqlite3_int64 offset, void* page) {
  return real(p)->pMethods->xUnfetch(real(p), offset, page);
}

// For each version of the file underneath (the unix VFS's files are version 3): a file gets only
// the methods its own version has.
sqlite3_io_methods methods(int version) {
  sqlite3_io_methods m{};
  m.iVersion = version;
  m.xClose = x_close;
  m.xRead = x_read;
  m.xWrite = x_write;
  m.xTruncate = x_truncate;
  m.xSync = x_sync;
  m.xFileSize = x_file_size;
  m.xLock = x_lock;
  m.xUnlock = x_unlock;
  m.xCheckReservedLock = x_check_reserved_lock;
  m.xFileControl = x_file_control;
  m.xSectorSize = x_sector_size;
  m.xDeviceCharacteristics = x_device_characteristics;
  if (version >= 2) {
    m.xShmMap = x_shm_map;
    m.xShmLock = x_shm_lock;
    m.xShmBarrier = x_shm_barrier;
    m.xShmUnmap = x_shm_unmap;
  }
  if (version >= 3) {
    m.xFetch = x_fetch;
    m.xUnfetch = x_unfetch;
  }
  return m;
}

const sqlite3_io_methods kMethods[3] = {methods(1), methods(2), methods(3)};

int x_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* p, int flags, int* out_flags) {
  File* f = new (p) File{};
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(p) + kFileSize);
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  f->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  const int rc = root(vfs)->xOpen(root(vfs), name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || !f->real->pMethods) {
    // SQLite closes a file whose pMethods is set, even when the open failed.
    if (f->real->pMethods) f->real->pMethods->xClose(f->real);
    f->~File();
    p->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  const int version = f->real->pMethods->iVersion;
  p->pMethods = &kMethods[(version < 1 ? 1 : version > 3 ? 3 : version) - 1];
  return SQLITE_OK;
}

int x_delete(sqlite3_vfs* v, const char* name, int sync_dir) {
  return root(v)->xDelete(root(v), name, sync_dir);
}
int x_access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return root(v)->xAccess(root(v), name, flags, out);
}
int x_full_pathname(sqlite3_vfs* v, const char* name, int size, char* out) {
  return root(v)->xFullPathname(root(v), name, size, out);
}
void* x_dl_open(sqlite3_vfs* v, const char* name) {
  return root(v)->xDlOpen(root(v), name);
}
void x_dl_error(sqlite3_vfs* v, int size, char* out) {
  root(v)->xDlError(root(v), size, out);
}
void (*x_dl_sym(sqlite3_vfs* v, void* lib, const char* symbol))() {
  return root(v)->xDlSym(root(v), lib, symbol);
}
void x_dl_close(sqlite3_vfs* v, void* lib) {
  root(v)->xDlClose(root(v), lib);
}
int x_randomness(sqlite3_vfs* v, int size, char* out) {
  return root(v)->xRandomness(root(v), size, out);
}
int x_sleep(sqlite3_vfs* v, int micros) {
  return root(v)->xSleep(root(v), micros);
}
int x_current_time(sqlite3_vfs* v, double* out) {
  return root(v)->xCurrentTime(root(v), out);
}
int x_get_last_error(sqlite3_vfs* v, int size, char* out) {
  return root(v)->xGetLastError(root(v), size, out);
}
int x_current_time_int64(sqlite3_vfs* v, sqlite3_int64* out) {
  return root(v)->xCurrentTimeInt64(root(v), out);
}

sqlite3_vfs* make_vfs() {
  sqlite3_initialize();
  sqlite3_vfs* base = sqlite3_vfs_find(nullptr);
  static sqlite3_vfs vfs{};
  vfs.iVersion = base->iVersion < 2 ? base->iVersion : 2;
  vfs.szOsFile = static_cast<int>(kFileSize) + base->szOsFile;
  vfs.mxPathname = base->mxPathname;
  vfs.zName = "lienthong-wal";
  vfs.pAppData = base;
  vfs.xOpen = x_open;
  vfs.xDelete = x_delete;
  vfs.xAccess = x_access;
  vfs.xFullPathname = x_full_pathname;
  vfs.xDlOpen = x_dl_open;
  vfs.xDlError = x_dl_error;
  vfs.xDlSym = x_dl_sym;
  vfs.xDlClose = x_dl_close;
  vfs.xRandomness = x_randomness;
  vfs.xSleep = x_sleep;
  vfs.xCurrentTime = x_current_time;
  vfs.xGetLastError = x_get_last_error;
  if (vfs.iVersion >= 2) vfs.xCurrentTimeInt64 = x_current_time_int64;
  if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK) return nullptr;
  return &vfs;
}

}  // namespace

const char* wal_coalescing_vfs() {
  static sqlite3_vfs* vfs = make_vfs();
  return vfs ? vfs->zName : nullptr;
}

WalVfsStats wal_vfs_stats() {
  return {g_writes_in.load(std::memory_order_relaxed), g_writes_out.load(std::memory_order_relaxed),
          g_db_writes_in.load(std::memory_order_relaxed),
          g_db_writes_out.load(std::memory_order_relaxed)};
}

}  // namespace lienthong::sqlite
