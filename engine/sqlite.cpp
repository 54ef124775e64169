#include "engine/sqlite.hpp"

#include <mutex>

#include "engine/wal_vfs.hpp"

namespace lienthong::sqlite {

Expected<bool> Stmt::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error{"store.sql", std::string("SQLite: ") + sqlite3_errmsg(db_)};
}

Expected<void> Stmt::run() {
  for (;;) {
    auto r = step();
    if (!r) return r.error();
    if (!*r) break;
  }
  return {};
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(stmt_, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

std::string Stmt::blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  return p ? std::string(static_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
           : std::string();
}

Expected<Db> Db::open(const std::string& path, bool read_only) {
  // Without memory statistics (which nothing reads) SQLite takes no global mutex around each of
  // its allocations.
  static std::once_flag configured;
  std::call_once(configured, [] {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
  });
  sqlite3* raw = nullptr;
  const int flags =
      (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
      SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, wal_coalescing_vfs());
  Db db;
  db.db_.reset(raw);
  if (rc != SQLITE_OK) {
    return Error{"store.open",
                 "cannot open " + path + ": " + (raw ? sqlite3_errmsg(raw) : "out of memory")};
  }
  sqlite3_busy_timeout(raw, 5000);
  sqlite3_extended_result_codes(raw, 1);
  if (!read_only) {
    // 8 KB pages (for new databases only) hold a signed 10 KB package in two pages instead of
    // three: fewer WAL frames, so fewer writes per commit.
    if (auto r = db.exec("PRAGMA page_size=8192; PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "PRAGMA foreign_keys=ON;");
        !r) {
      return r.error();
    }
  }
  return db;
}

Expected<void> Db::exec(std::string_view sql) {
  char* err = nullptr;
  std::string s(sql);
  if (sqlite3_exec(db_.get(), s.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : error_message();
    sqlite3_free(err);
    return Error{"store.sql", "SQLite: " + msg};
  }
  return {};
}

Expected<Stmt> Db::prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                         SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK) {
    return Error{"store.sql", "SQLite: " + error_message() + " in: " + std::string(sql)};
  }
  return Stmt(db_.get(), stmt);
}

Expected<Stmt*> Db::cached(const std::string& sql) {
  if (auto it = cache_.find(sql); it != cache_.end()) return it->second.get();
  auto st = prepare(sql);
  if (!st) return st.error();
  auto& slot = cache_[sql];
  slot = std::make_unique<Stmt>(std::move(*st));
  return slot.get();
}

}  // namespace lienthong::sqlite
