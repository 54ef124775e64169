#include "engine/wal_vfs.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "engine/sqlite.hpp"

namespace lienthong::sqlite {
namespace {

namespace fs = std::filesystem;

class WalVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-walvfs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "t.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // What another process would see: a connection through SQLite's own VFS, opened now.
  std::string plain(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, "unix"), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::string out;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  }

  fs::path dir_;
  std::string path_;
};

TEST_F(WalVfsTest, ACommitIsOneWriteAndIsOnDiskWhenItReturns) {
  auto db = Db::open(path_);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"));
  const WalVfsStats before = wal_vfs_stats();
  auto filled = db->exec(
      "BEGIN; WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
      "INSERT INTO t(v) SELECT randomblob(3000) FROM n; COMMIT");
  ASSERT_TRUE(filled) << filled.error().message;
  const WalVfsStats after = wal_vfs_stats();
  // About 50 pages of 8 KB, each written by SQLite as a frame header and then the page; they
  // reach the file together, in writes of 120 KB.
  const std::uint64_t frames = (after.writes_in - before.writes_in) / 2;
  EXPECT_GE(frames, 50u);
  EXPECT_EQ(after.writes_out - before.writes_out, (frames * (8192 + 24) + 122879) / 122880);
  EXPECT_EQ(plain("SELECT count(*) || ':' || sum(length(v)) FROM t"), "100:300000");
  EXPECT_EQ(plain("PRAGMA integrity_check"), "ok");
}

// With a cache of a few pages, SQLite spills frames of an open transaction to the WAL, reads them
// back and rewrites them in place: every such read and out-of-order write must see the bytes held.
TEST_F(WalVfsTest, FramesSpilledReadAndRewrittenInATransactionStayConsistent) {
  auto db = Db::open(path_);
  ASSERT_TRUE(db) << db.error().message;
  ASSERT_TRUE(
      db->exec("PRAGMA cache_size=4; CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v "
               "BLOB); CREATE INDEX t_k ON t(k)"));
  ASSERT_TRUE(db->exec("BEGIN"));
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(
        db->exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE "
                 "i < 300) INSERT INTO t(k, v) SELECT hex(randomblob(8)), "
                 "randomblob(500) FROM n"));
    auto updated =
        db->exec("UPDATE t SET v = zeroblob(400) WHERE id % 7 = " + std::to_string(round));
    ASSERT_TRUE(updated) << updated.error().message;
  }
  ASSERT_TRUE(db->exec("COMMIT"));
  EXPECT_EQ(plain("SELECT count(*) FROM t"), "900");
  EXPECT_EQ(plain("PRAGMA integrity_check"), "ok");
  auto own = db->prepare("SELECT count(*) FROM t WHERE length(v) = 400");
  ASSERT_TRUE(own);
  ASSERT_TRUE(*own->step());
  EXPECT_EQ(own->int64(0), std::stoll(plain("SELECT count(*) FROM t WHERE length(v) = 400")));
}

// Without a sync at commit, the frames must still be in the file before they become visible.
TEST_F(WalVfsTest, ACommitNotSyncedIsInTheFileWhenItReturns) {
  auto db = Db::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(db->exec("PRAGMA synchronous=NORMAL; CREATE TABLE t(v TEXT)"));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(db->exec("INSERT INTO t VALUES(" + std::to_string(i) + ")"));
    EXPECT_EQ(plain("SELECT count(*) FROM t"), std::to_string(i));
  }
}

TEST_F(WalVfsTest, WhatWasCommittedSurvivesClosingAndCheckpointing) {
  {
    auto db = Db::open(path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("CREATE TABLE t(v TEXT); INSERT INTO t VALUES('one')"));
    ASSERT_TRUE(
        db->exec("INSERT INTO t VALUES('two'); PRAGMA wal_checkpoint(TRUNCATE); "
                 "INSERT INTO t VALUES('three')"));
  }
  EXPECT_EQ(plain("SELECT group_concat(v, ',') FROM t"), "one,two,three");
  auto again = Db::open(path_);
  ASSERT_TRUE(again);
  auto st = again->prepare("SELECT count(*) FROM t");
  ASSERT_TRUE(st);
  ASSERT_TRUE(*st->step());
  EXPECT_EQ(st->int64(0), 3);
}

// A checkpoint writes the pages in ascending order: consecutive ones reach the database file in
// one write, and another connection reading the file alone (the WAL emptied) sees them all.
TEST_F(WalVfsTest, ACheckpointWritesConsecutivePagesTogether) {
  auto db = Db::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(
      db->exec("PRAGMA wal_autocheckpoint=0; CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)"));
  ASSERT_TRUE(
      db->exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100) "
               "INSERT INTO t(v) SELECT randomblob(3000) FROM n"));
  const WalVfsStats before = wal_vfs_stats();
  ASSERT_TRUE(db->exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  const WalVfsStats after = wal_vfs_stats();
  // About 50 pages of 8 KB, in one run from the second page on: one write of 120 KB at most
  // each, and a few more where the run breaks.
  EXPECT_GE(after.db_writes_in - before.db_writes_in, 50u);
  EXPECT_LE(after.db_writes_out - before.db_writes_out, 6u);
  EXPECT_EQ(fs::file_size(path_ + "-wal"), 0u);
  EXPECT_EQ(plain("SELECT count(*) || ':' || sum(length(v)) FROM t"), "100:300000");
  EXPECT_EQ(plain("PRAGMA integrity_check"), "ok");
}

// In rollback-journal mode, without syncs, the pages are in the file once the commit has
// unlocked it.
TEST_F(WalVfsTest, ARollbackJournalCommitIsInTheFileWhenItReturns) {
  auto db = Db::open(path_);
  ASSERT_TRUE(db);
  ASSERT_TRUE(
      db->exec("PRAGMA journal_mode=DELETE; PRAGMA synchronous=OFF; CREATE TABLE t(v BLOB)"));
  for (int i = 1; i <= 3; ++i) {
    ASSERT_TRUE(db->exec("INSERT INTO t SELECT randomblob(20000)"));
    EXPECT_EQ(plain("SELECT count(*) FROM t"), std::to_string(i));
  }
  EXPECT_EQ(plain("PRAGMA integrity_check"), "ok");
}

}  // namespace
}  // namespace lienthong::sqlite
