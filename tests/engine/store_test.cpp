#include "engine/store.hpp"

#include "config/node_config.hpp"
#include "engine/report.hpp"

#include "base/encoding.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <latch>
#include <thread>

namespace lienthong {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "node.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  static NewDocument doc(const std::string& message_id) {
    NewDocument d;
    d.message_id = message_id;
    d.kind = "document";
    d.sender = "000.00.11.H53";
    d.recipients = {"000.00.01.A53", "000.00.00.G22"};
    d.document_id = "000.00.11.H53,2020/10/30,2491/STC-BCTC";
    d.subject = "Báo cáo tài chính tỉnh";
    d.received_at = 1795395600;
    d.original = std::string("<edXML>\0binary-safe</edXML>", 27);
    return d;
  }
  // `commits` transactions of `per_commit` documents with a 16 KB original each, named
  // m<commit>-<index>.
  static void write_originals(Store& store, int commits, int per_commit) {
    for (int t = 0; t < commits; ++t) {
      ASSERT_TRUE(store.write_sync([&](StoreTx& tx) -> Expected<void> {
        for (int i = 0; i < per_commit; ++i) {
          NewDocument d = doc("m" + std::to_string(t) + "-" + std::to_string(i));
          d.original = std::string(16 << 10, static_cast<char>('a' + i % 26));
          if (auto r = tx.insert_document(d); !r) return r.error();
        }
        return {};
      }));
    }
  }
  static AuditEvent event(const std::string& action, std::int64_t document = 0) {
    AuditEvent e;
    e.at = 1795395600;
    e.actor = "clerk-stc";
    e.agency = "000.00.11.H53";
    e.action = action;
    e.document = document;
    e.detail = "{}";
    e.request_id = "req-1";
    return e;
  }
  // Runs SQL through the sqlite3 command-line tool, as an attacker with file access would.
  void tamper(const std::string& sql) {
    const std::string cmd = "sqlite3 '" + path_ + "' \"" + sql + "\"";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }

  fs::path dir_;
  std::string path_;
};

TEST(ReportMonths, NumberMonthsAndKnowTheirDays) {
  auto day = [](int y, int m, int d) { return ConfigDate{y, m, d}.day_number(); };
  const std::int64_t feb_2024 = month_number(2024, 2);
  EXPECT_EQ(feb_2024, 2024 * 12 + 1);
  EXPECT_EQ(first_day_of_month(feb_2024), day(2024, 2, 1));
  EXPECT_EQ(last_day_of_month(feb_2024), day(2024, 2, 29));  // leap year
  const std::int64_t dec_2025 = month_number(2025, 12);
  EXPECT_EQ(last_day_of_month(dec_2025), day(2025, 12, 31));
  EXPECT_EQ(first_day_of_month(dec_2025 + 1), day(2026, 1, 1));
  for (std::int64_t d = day(2025, 12, 30); d <= day(2026, 3, 2); ++d) {
    const std::int64_t m = month_of_day(d);
    EXPECT_LE(first_day_of_month(m), d);
    EXPECT_GE(last_day_of_month(m), d);
  }
  EXPECT_EQ(month_of_day(day(2026, 1, 1)), month_number(2026, 1));
  EXPECT_EQ(month_of_day(day(2025, 12, 31)), month_number(2025, 12));
}

// The checkpointer thread copies the WAL back beside the writer, and the writer finishes the copy
// when the WAL grows past 48 MB; without either the WAL would hold every write (96 MB here).
TEST_F(StoreTest, CheckpointerKeepsTheWalBounded) {
  constexpr int kTransactions = 12, kPerTransaction = 500;  // 96 MB of originals in all
  {
    auto store = open_sqlite_store(path_);
    ASSERT_NO_FATAL_FAILURE(write_originals(*store, kTransactions, kPerTransaction));
    const auto wal = fs::file_size(path_ + "-wal");
    EXPECT_LT(wal, 64u << 20) << "the WAL was never checkpointed";
    EXPECT_GT(fs::file_size(path_), 32u << 20) << "nothing reached the database file";
    auto last = store->document(kTransactions * kPerTransaction);
    ASSERT_TRUE(last && *last);
    EXPECT_EQ((*last)->message_id,
              "m" + std::to_string(kTransactions - 1) + "-" + std::to_string(kPerTransaction - 1));
  }
}

// Past 16 MB of WAL the checkpointer is asked again only once the WAL has grown by another 8 MB,
// not after every commit (each of its runs syncs the database file).
TEST_F(StoreTest, TheCheckpointerIsAskedOncePerFewMegabytesOfWal) {
  // 100 commits of 12 originals of 16 KB, three pages each: about 3,600 pages of WAL (28 MB).
  constexpr int kCommits = 100, kPerCommit = 12;
  auto store = open_sqlite_store(path_);
  ASSERT_NO_FATAL_FAILURE(write_originals(*store, kCommits, kPerCommit));
  const StoreStats stats = store->stats();
  EXPECT_GE(stats.checkpoints_asked, 1u);
  // At 2,000 pages and at 3,000 (fewer if the WAL started over meanwhile).
  EXPECT_LE(stats.checkpoints_asked, 3u);
}

// A large package reaches the store in a spool file: it is copied in a piece at a time and comes
// back byte for byte, and a reader that needs only the header does not read it.
TEST_F(StoreTest, StoresASpooledOriginalAndReadsTheHeaderAlone) {
  auto spool = Spool::create(dir_.string());
  ASSERT_TRUE(spool) << spool.error().message;
  std::string bytes;
  for (int i = 0; bytes.size() < (5u << 20) + 7; ++i) bytes += std::to_string(i) + '\0';
  ASSERT_TRUE((*spool)->append(bytes.substr(0, 1000)));
  ASSERT_TRUE((*spool)->append(bytes.substr(1000)));
  ASSERT_EQ((*spool)->size(), bytes.size());
  auto store = open_sqlite_store(path_);
  std::int64_t id = 0;
  ASSERT_TRUE(store->write_sync([&](StoreTx& tx) -> Expected<void> {
    NewDocument d = doc("spooled");
    d.original.clear();
    d.original_file = *spool;
    d.header = "<edXML/>";
    auto r = tx.insert_document(d);
    if (!r) return r.error();
    id = *r;
    return {};
  }));
  auto whole = store->document(id);
  ASSERT_TRUE(whole && *whole);
  EXPECT_TRUE((*whole)->original == bytes);
  EXPECT_EQ((*whole)->original_size, bytes.size());
  EXPECT_EQ((*whole)->sha256_hex, sha256_hex(bytes));  // computed from the spool
  EXPECT_EQ((*whole)->header, "<edXML/>");
  auto head = store->document(id, false);
  ASSERT_TRUE(head && *head);
  EXPECT_TRUE((*head)->original.empty());
  EXPECT_EQ((*head)->original_size, bytes.size());
  EXPECT_EQ((*head)->header, "<edXML/>");
}

TEST_F(StoreTest, StoresDocumentsExactlyAndSurvivesReopening) {
  std::int64_t id = 0;
  {
    auto store = open_sqlite_store(path_);
    EXPECT_EQ(store->schema_version(), 14);
    ASSERT_TRUE(store->write_sync([&](StoreTx& tx) -> Expected<void> {
      auto r = tx.insert_document(doc("m1"));
      if (!r) return r.error();
      id = *r;
      auto a = tx.append_audit(event("document.received", id));
      if (!a) return a.error();
      return {};
    }));
  }
  auto store = open_sqlite_store(path_);
  auto d = store->document(id);
  ASSERT_TRUE(d && *d);
  EXPECT_EQ((*d)->original, doc("m1").original);  // byte for byte, NUL included
  EXPECT_EQ((*d)->subject, "Báo cáo tài chính tỉnh");
  EXPECT_EQ((*d)->recipients, (std::vector<std::string>{"000.00.00.G22", "000.00.01.A53"}));
  EXPECT_EQ((*d)->sha256_hex.size(), 64u);
  auto missing = store->document(id + 1);
  ASSERT_TRUE(missing);
  EXPECT_FALSE(*missing);
  auto events = store->audit_events(1, 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].seq, 1);
  EXPECT_EQ((*events)[0].document, id);
}

TEST_F(StoreTest, DuplicateMessageIdsAreFoundAndRefused) {
  auto store = open_sqlite_store(path_);
  ASSERT_TRUE(store->write_sync([](StoreTx& tx) -> Expected<void> {
    auto r = tx.insert_document(doc("same"));
    return r ? Expected<void>() : Expected<void>(r.error());
  }));
  std::optional<std::int64_t> found;
  ASSERT_TRUE(store->write_sync([&](StoreTx& tx) -> Expected<void> {
    auto r = tx.document_by_message_id("same");
    if (!r) return r.error();
    found = *r;
    return {};
  }));
  EXPECT_TRUE(found);
  auto again = store->write_sync([](StoreTx& tx) -> Expected<void> {
    auto r = tx.insert_document(doc("same"));
    return r ? Expected<void>() : Expected<void>(r.error());
  });
  ASSERT_FALSE(again);
  EXPECT_THAT(again.error().message, HasSubstr("UNIQUE"));
}

TEST_F(StoreTest, ConcurrentWritesShareOneTransaction) {
  auto store = open_sqlite_store(path_);
  constexpr int kWriters = 200;
  std::latch started(1);
  std::latch queued(kWriters);
  std::latch all_done(kWriters + 1);
  std::atomic<int> ok{0};
  // The first write holds the writer until every other write is queued, so they form one group.
  store->write(
      [&](StoreTx&) -> Expected<void> {
        started.count_down();
        queued.wait();
        return {};
      },
      [&](Expected<void> r) {
        ok += r ? 1 : 0;
        all_done.count_down();
      });
  started.wait();
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      store->write(
          [i](StoreTx& tx) -> Expected<void> {
            auto r = tx.insert_document(doc("m" + std::to_string(i)));
            if (!r) return r.error();
            auto a = tx.append_audit(event("document.received", *r));
            return a ? Expected<void>() : Expected<void>(a.error());
          },
          [&](Expected<void> r) {
            ok += r ? 1 : 0;
            all_done.count_down();
          });
      queued.count_down();
    });
  }
  all_done.wait();
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kWriters + 1);
  StoreStats s = store->stats();
  EXPECT_EQ(s.writes, static_cast<std::uint64_t>(kWriters + 1));
  EXPECT_EQ(s.groups, 2u);
  EXPECT_EQ(s.largest_group, static_cast<std::uint64_t>(kWriters));
  auto check = verify_audit_chain(*store);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->ok) << check->problem;
  EXPECT_EQ(check->events, kWriters);
}

TEST_F(StoreTest, AFailingRequestRollsBackAloneAndTheChainStaysWhole) {
  auto store = open_sqlite_store(path_);
  std::latch started(1);
  std::latch release(1);
  std::vector<Expected<void>> results(4, Expected<void>());
  std::latch done(4);
  auto finish = [&](int i) {
    return [&, i](Expected<void> r) {
      results[i] = std::move(r);
      done.count_down();
    };
  };
  store->write(
      [&](StoreTx&) -> Expected<void> {
        started.count_down();
        release.wait();
        return {};
      },
      finish(0));
  started.wait();
  store->write(
      [](StoreTx& tx) -> Expected<void> {
        (void)tx.insert_document(doc("a"));
        (void)tx.append_audit(event("a"));
        return {};
      },
      finish(1));
  store->write(
      [](StoreTx& tx) -> Expected<void> {
        (void)tx.insert_document(doc("b"));
        (void)tx.append_audit(event("b"));
        return Error{"test.refused", "the request changed its mind"};
      },
      finish(2));
  store->write(
      [](StoreTx& tx) -> Expected<void> {
        (void)tx.insert_document(doc("c"));
        (void)tx.append_audit(event("c"));
        return {};
      },
      finish(3));
  release.count_down();
  done.wait();
  EXPECT_TRUE(results[1]);
  ASSERT_FALSE(results[2]);
  EXPECT_EQ(results[2].error().code, "test.refused");
  EXPECT_TRUE(results[3]);
  auto events = store->audit_events(1, 10);
  ASSERT_TRUE(events);
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].action, "a");
  EXPECT_EQ((*events)[1].action, "c");
  EXPECT_EQ((*events)[1].seq, 2);
  auto check = verify_audit_chain(*store);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->ok) << check->problem;
}

// A hand-over writes its audit event and its counts; a request that fails takes both back.
TEST_F(StoreTest, HandOversAreCountedOnceAndAFailedRequestTakesItsCountsBack) {
  auto store = open_sqlite_store(path_);
  const Timestamp at = 1795395600;  // 2026-11-23 08:00 +07:00
  HandOver h{1, "000.00.11.H53", "000.00.01.A53", "electronic", "Công văn", at};
  for (int i = 0; i < 2; ++i) {  // the second time, already recorded: nothing
    ASSERT_TRUE(store->write_sync([&](StoreTx& tx) { return tx.record_hand_over(h); }));
  }
  auto failed = store->write_sync([&](StoreTx& tx) -> Expected<void> {
    HandOver other = h;
    other.to_agency = "000.00.00.G22";
    if (auto r = tx.record_hand_over(other); !r) return r;
    return Error{"test.refused", "changed its mind"};
  });
  ASSERT_FALSE(failed);
  const std::int64_t day = local_day(at, 7 * 3600);
  auto counts = store->tallies(day, day);
  ASSERT_TRUE(counts);
  ASSERT_EQ(counts->size(), 1u);
  EXPECT_EQ((*counts)[0].agency, "000.00.11.H53");
  EXPECT_EQ((*counts)[0].channel, "electronic");
  EXPECT_EQ((*counts)[0].handovers, 1);
  auto month = store->tallies(day - 22, day + 7);  // the whole of November, from the month table
  ASSERT_TRUE(month);
  ASSERT_EQ(month->size(), 1u);
  EXPECT_EQ((*month)[0].handovers, 1);
  auto events = store->audit_events(1, 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].action, "handover.recorded");
}

// A period from one month into the next reads both partial months; agencies whose parents form a
// cycle still count.
TEST_F(StoreTest, ReportsAcrossAMonthBoundaryAndAParentCycleCountEverything) {
  auto store = open_sqlite_store(path_);
  const Timestamp nov28 = 1795827600, dec2 = nov28 + 4 * 86400;  // 08:00 +07:00
  ASSERT_TRUE(store->write_sync([&](StoreTx& tx) -> Expected<void> {
    if (auto r =
            tx.record_hand_over({1, "000.00.11.H53", "000.00.01.A53", "electronic", "1", nov28});
        !r)
      return r;
    return tx.record_hand_over({2, "000.00.01.A53", "000.00.11.H53", "paper", "1", dec2});
  }));
  ReportQuery q;
  q.period = *report_period_between("2026-11-23", "2026-12-05");
  q.now = dec2;
  // H53 under A53 and A53 under H53: no root above either.
  std::vector<ReportAgency> agencies{{"000.00.11.H53", "Sở Tài chính", "000.00.01.A53"},
                                     {"000.00.01.A53", "Văn phòng", "000.00.11.H53"}};
  auto report = make_report(*store, agencies, TargetsConfig{}, q);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_EQ(report->total.figures.handovers, 2);
  EXPECT_EQ(report->total.figures.paper, 1);
  ASSERT_FALSE(report->rows.empty());
  EXPECT_EQ(report->rows[0].figures.handovers, 2);  // the first walked holds the other too
}

class AuditTamper : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    auto store = open_sqlite_store(path_);
    for (int i = 1; i <= 10; ++i) {
      ASSERT_TRUE(store->write_sync([i](StoreTx& tx) -> Expected<void> {
        auto a = tx.append_audit(event("step." + std::to_string(i)));
        return a ? Expected<void>() : Expected<void>(a.error());
      }));
    }
    auto check = verify_audit_chain(*store);
    ASSERT_TRUE(check && check->ok);
    EXPECT_EQ(check->events, 10);
  }
  AuditCheck verify() {
    auto store = open_sqlite_store(path_);
    auto check = verify_audit_chain(*store);
    EXPECT_TRUE(check);
    return check ? *check : AuditCheck{};
  }
};

TEST_F(AuditTamper, AnEditedRowIsCaughtAndNamed) {
  tamper("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4");
  AuditCheck c = verify();
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad, 4);
  EXPECT_THAT(c.problem, HasSubstr("event 4 was altered"));
}

TEST_F(AuditTamper, ADeletedRowIsCaught) {
  tamper("DELETE FROM audit_events WHERE seq = 6");
  AuditCheck c = verify();
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad, 6);
  EXPECT_THAT(c.problem, HasSubstr("event 6 is missing"));
}

TEST_F(AuditTamper, ReorderedRowsAreCaught) {
  tamper(
      "UPDATE audit_events SET seq = -1 WHERE seq = 3; UPDATE audit_events SET seq = 3 WHERE seq = "
      "5; UPDATE audit_events SET seq = 5 WHERE seq = -1");
  AuditCheck c = verify();
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad, 3);
}

// The bytes an event's hashes cover, pinned: every stored chain and Merkle tree depends on them.
TEST(AuditEntry, IsEachFieldAfterItsLengthInEightBigEndianBytes) {
  AuditEvent e;
  e.seq = 42;
  e.at = 1795334400;
  e.actor = "clerk-h53";
  e.agency = "000.00.11.H53";
  e.action = "document.received";
  e.document = 7;
  e.detail = std::string(300, 'd');
  e.request_id = "";
  std::string expected;
  for (const std::string& v :
       {std::string("42"), std::string("1795334400"), std::string("clerk-h53"),
        std::string("000.00.11.H53"), std::string("document.received"), std::string("7"),
        std::string(300, 'd'), std::string()}) {
    expected += std::string(6, '\0');
    expected += static_cast<char>(v.size() >> 8);
    expected += static_cast<char>(v.size() & 0xff);
    expected += v;
  }
  EXPECT_EQ(audit_entry(e), expected);
}

TEST_F(AuditTamper, ARecomputedHashStillBreaksTheChain) {
  // Editing a row and fixing its own hash is not enough: the next event points at the old hash.
  auto store = open_sqlite_store(path_);
  auto events = store->audit_events(5, 1);
  ASSERT_TRUE(events && events->size() == 1);
  AuditEvent e = (*events)[0];
  e.actor = "forger";
  std::string hex;
  for (unsigned char c : audit_hash(e)) {
    static const char* digits = "0123456789abcdef";
    hex += digits[c >> 4];
    hex += digits[c & 15];
  }
  store.reset();
  tamper("UPDATE audit_events SET actor = 'forger', hash = X'" + hex + "' WHERE seq = 5");
  AuditCheck c = verify();
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad, 6);
  EXPECT_THAT(c.problem, HasSubstr("does not chain"));
}

TEST_F(StoreTest, OneRecipientsItemsAboutADocumentComeDueInTheOrderTheyArose) {
  auto store = open_sqlite_store(path_);
  std::vector<std::int64_t> ids;
  ASSERT_TRUE(store->write_sync([&](StoreTx& tx) -> Expected<void> {
    auto d = tx.insert_document(doc("m1"));
    if (!d) return d.error();
    for (const char* code : {"04", "05"}) {  // to H53 about document d, in order
      auto id = tx.enqueue(OutboxItem{0, "status", 1, 0, *d, "000.00.11.H53", code, 10, "pending"});
      if (!id) return id.error();
      ids.push_back(*id);
    }
    // About the same document to another agency: not held back by H53's.
    auto other =
        tx.enqueue(OutboxItem{0, "status", 1, 0, *d, "000.00.00.G22", "04", 10, "pending"});
    if (!other) return other.error();
    ids.push_back(*other);
    return {};
  }));
  auto codes = [&] {
    std::vector<std::string> out;
    for (const auto& i : *store->outbox_due("status", 100, 10)) out.push_back(i.to_agency + i.code);
    return out;
  };
  EXPECT_THAT(codes(), ::testing::ElementsAre("000.00.11.H5304", "000.00.00.G2204"));
  // 04 failed and waits for a retry: 05 still waits behind it.
  ASSERT_TRUE(store->write_sync(
      [&](StoreTx& tx) { return tx.record_attempt(ids[0], "pending", 1, 500, "x"); }));
  EXPECT_THAT(codes(), ::testing::ElementsAre("000.00.00.G2204"));
  ASSERT_TRUE(store->write_sync(
      [&](StoreTx& tx) { return tx.record_attempt(ids[0], "delivered", 2, 60, ""); }));
  EXPECT_THAT(codes(), ::testing::ElementsAre("000.00.11.H5305", "000.00.00.G2204"));
}

TEST_F(StoreTest, StatusesReceivedBeforeTheyHadAnIssuedTimeGetTheirArrivalInLocalTime) {
  std::int64_t doc_id = 0;
  {
    auto store = open_sqlite_store(path_);
    ASSERT_TRUE(store->write_sync([&](StoreTx& tx) -> Expected<void> {
      auto id = tx.insert_document(doc("sent"));
      if (!id) return id.error();
      doc_id = *id;
      if (auto r = tx.record_status(doc_id, "000.00.00.G22", "01", 1000, std::nullopt); !r)
        return r;
      return tx.record_status(doc_id, "000.00.00.G22", "03", 2000, 500);
    }));
    auto statuses = store->statuses(doc_id);
    ASSERT_TRUE(statuses);
    ASSERT_EQ(statuses->size(), 2u);
    EXPECT_EQ((*statuses)[0].issued, 1000 + 7 * 3600);  // none in the packet: its arrival
    EXPECT_EQ((*statuses)[1].issued, 500);
  }
  // As schema 13 left them: no issued time.
  tamper(
      "ALTER TABLE received_statuses DROP COLUMN issued;"
      "UPDATE meta SET value = '13' WHERE key = 'schema_version'");
  auto store = open_sqlite_store(path_, 3600);
  EXPECT_EQ(store->schema_version(), 14);
  auto statuses = store->statuses(doc_id);
  ASSERT_TRUE(statuses);
  ASSERT_EQ(statuses->size(), 2u);
  EXPECT_EQ((*statuses)[0].issued, 1000 + 3600);
  EXPECT_EQ((*statuses)[1].issued, 2000 + 3600);
  EXPECT_EQ(latest_statuses(*statuses).at("000.00.00.G22"), "03");
}

TEST(LatestStatuses, AreTheLastIssuedThenTheHigherCodeThenTheLastArrived) {
  EXPECT_TRUE(latest_statuses({}).empty());
  const std::vector<StatusRecord> statuses = {
      {"A", "04", 10, 100}, {"A", "01", 11, 90},   // arrived late, issued before
      {"B", "05", 10, 100}, {"B", "04", 12, 100},  // one second: the higher code
      {"C", "02", 10, 100}, {"C", "02", 13, 100},  // the same: the later arrival
      {"D", "16", 10, 100}, {"D", "06", 14, 101}};
  auto latest = latest_statuses(statuses);
  EXPECT_EQ(latest, (std::map<std::string, std::string>{
                        {"A", "04"}, {"B", "05"}, {"C", "02"}, {"D", "06"}}));
}

TEST_F(StoreTest, RefusesADatabaseFromTheFuture) {
  { auto store = open_sqlite_store(path_); }
  tamper("UPDATE meta SET value = '99' WHERE key = 'schema_version'");
  try {
    open_sqlite_store(path_);
    FAIL() << "opened a newer schema";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("schema version 99 is newer"));
  }
}

}  // namespace
}  // namespace lienthong
