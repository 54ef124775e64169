#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/expected.hpp"

namespace lienthong::sqlite {

// A prepared statement. Bind with 1-based indexes; step() returns true while rows come.
class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      sqlite3_finalize(stmt_);
      db_ = o.db_;
      stmt_ = std::exchange(o.stmt_, nullptr);
    }
    return *this;
  }
  ~Stmt() { sqlite3_finalize(stmt_); }

  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // Without a copy: `v` must outlive the statement's next reset.
  Stmt& bind_blob_static(int i, std::string_view v) {
    sqlite3_bind_blob64(stmt_, i, v.data(), v.size(), SQLITE_STATIC);
    return *this;
  }
  // `n` zero bytes, to be written in place afterwards (incremental blob I/O).
  Stmt& bind_zeroblob(int i, std::uint64_t n) {
    sqlite3_bind_zeroblob64(stmt_, i, n);
    return *this;
  }
  Stmt& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // true: a row is ready; false: done. Errors come back as an Error.
  Expected<bool> step();
  // Runs to completion (for statements without rows).
  Expected<void> run();
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  std::string text(int col) const;
  std::string blob(int col) const;
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// One connection. Opened in WAL mode with synchronous=FULL: a commit is on disk when it returns.
class Db {
 public:
  static Expected<Db> open(const std::string& path, bool read_only = false);
  Db() = default;
  Db(Db&&) noexcept = default;
  Db& operator=(Db&&) noexcept = default;

  Expected<void> exec(std::string_view sql);
  Expected<Stmt> prepare(std::string_view sql);
  // The statement for `sql`, prepared once per connection and kept. It must be reset after use
  // (rows() and one() do), and used by one thread at a time.
  Expected<Stmt*> cached(const std::string& sql);
  std::int64_t last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
  sqlite3* handle() const { return db_.get(); }
  std::string error_message() const { return sqlite3_errmsg(db_.get()); }

 private:
  struct Close {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
  };
  std::unique_ptr<sqlite3, Close> db_;
  std::unordered_map<std::string, std::unique_ptr<Stmt>> cache_;  // finalized before db_ closes
};

// Every row of a prepared statement, read by `read`; the statement is reset either way.
template <class T, class Read>
Expected<std::vector<T>> rows(Stmt& st, Read read) {
  std::vector<T> out;
  for (;;) {
    auto row = st.step();
    if (!row) {
      st.reset();
      return row.error();
    }
    if (!*row) break;
    out.push_back(read(st));
  }
  st.reset();
  return out;
}

// The first row, if any.
template <class T, class Read>
Expected<std::optional<T>> one(Stmt& st, Read read) {
  auto all = rows<T>(st, read);
  if (!all) return all.error();
  if (all->empty()) return std::optional<T>();
  return std::optional<T>(std::move(all->front()));
}

}  // namespace lienthong::sqlite
