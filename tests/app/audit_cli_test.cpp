// `lienthong audit`: verify, prove and export a node's audit log, and check proofs and bundles
// without the database, as an auditor on another machine would.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <fstream>

#include "base/encoding.hpp"
#include "engine/audit_log.hpp"
#include "engine/sqlite.hpp"
#include "signing/crypto.hpp"
#include "tests/app/test_cli.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;
using testing::run_cli;
namespace fs = std::filesystem;
namespace json = boost::json;

// A node's store of 600 events (Vietnam days 2026-11-30 and 2026-12-01, 300 each), with signed
// checkpoints of 300 and 600 events, and the node's key beside it.
class AuditCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-audit-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    db_ = (dir_ / "node.db").string();
    auto signer = generate_note_signer("lienthong/test/audit");
    ASSERT_TRUE(signer);
    ASSERT_TRUE(write_file(audit_key_path_for(db_), note_signer_text(*signer), true));
    ASSERT_TRUE(write_file(audit_key_path_for(db_) + ".pub", note_verifier_text(*signer) + "\n"));
    auto store = open_sqlite_store(db_);
    AuditLog log(db_);
    const Timestamp day1 = 1795971600;  // 2026-11-30 00:00 +07:00
    for (int half = 0; half < 2; ++half) {
      ASSERT_TRUE(store->write_sync([&](StoreTx& tx) -> Expected<void> {
        for (int i = 0; i < 300; ++i) {
          AuditEvent e;
          e.at = day1 + half * 86400 + i * 60;
          e.actor = "clerk";
          e.agency = "000.00.11.H53";
          e.action = "document.received";
          e.document = half * 300 + i + 1;
          e.detail = "{}";
          if (auto a = tx.append_audit(e); !a) return a.error();
        }
        return {};
      }));
      ASSERT_TRUE(log.checkpoint(*signer, "lienthong/test/audit", day1 + half * 86400 + 86000));
    }
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  json::object read_json(const std::string& file) {
    std::ifstream in(file);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return json::parse(text).as_object();
  }
  void write_json(const std::string& file, const json::object& o) {
    std::ofstream(file) << json::serialize(o);
  }

  fs::path dir_;
  std::string db_;
};

TEST_F(AuditCli, VerifyChecksTheWholeLogAndNamesTheFirstBadEvent) {
  auto ok = run_cli("audit verify --db " + db_);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("600 events, hash chain whole, 2 signed checkpoints"));

  auto db = sqlite::Db::open(db_);
  ASSERT_TRUE(db->exec("UPDATE audit_events SET actor = 'forger' WHERE seq = 77"));
  auto bad = run_cli("audit verify --db " + db_);
  EXPECT_EQ(bad.exit_code, 1) << bad.out;
  EXPECT_THAT(bad.out, HasSubstr("BROKEN at event 77"));

  auto no_db = run_cli("audit verify --db " + path("none.db"));
  EXPECT_EQ(no_db.exit_code, 2);
  EXPECT_THAT(no_db.out, HasSubstr("no store at"));
}

TEST_F(AuditCli, AnInclusionProofVerifiesWithoutTheDatabaseAndAWrongOneIsRefused) {
  auto proved =
      run_cli("audit prove 123 --db " + db_ + " --checkpoint 300 --out " + path("p.json"));
  ASSERT_EQ(proved.exit_code, 0) << proved.out;
  fs::copy_file(audit_key_path_for(db_) + ".pub", path("node.vkey"));
  fs::remove(db_);  // the auditor has the proof and the key, not the database
  auto ok = run_cli("audit verify --bundle " + path("p.json") + " --key " + path("node.vkey"));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("event 123 is in the signed checkpoint of 300 events"));

  auto proof = read_json(path("p.json"));
  auto wrong = proof;
  wrong["proof"].as_array()[2] = wrong["proof"].as_array()[3];
  write_json(path("wrong.json"), wrong);
  auto refused =
      run_cli("audit verify --bundle " + path("wrong.json") + " --key " + path("node.vkey"));
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_THAT(refused.out, HasSubstr("event 123 is not in the checkpoint of 300 events"));

  auto other = proof;
  other["event"].as_object()["actor"] = "someone else";
  write_json(path("other.json"), other);
  auto changed =
      run_cli("audit verify --bundle " + path("other.json") + " --key " + path("node.vkey"));
  EXPECT_EQ(changed.exit_code, 1) << changed.out;
  EXPECT_THAT(changed.out, HasSubstr("NOT VERIFIED at event 123"));
}

TEST_F(AuditCli, ConsistencyBetweenCheckpointsAndAnInconsistentPairIsRefused) {
  auto proved =
      run_cli("audit prove --consistency 300 600 --db " + db_ + " --out " + path("c.json"));
  ASSERT_EQ(proved.exit_code, 0) << proved.out;
  auto ok = run_cli("audit verify --bundle " + path("c.json"));
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("the log only grew"));
  EXPECT_THAT(ok.out, HasSubstr("checking with the key the file carries"));

  // A second log signed with the same key, forked at event 200: its checkpoint of 600 events
  // is signed and well-formed but does not extend the first log's checkpoint of 300.
  auto fork = read_json(path("c.json"));
  {
    auto db = sqlite::Db::open(db_);
    ASSERT_TRUE(db->exec("UPDATE audit_events SET detail = '{\"forked\":1}' WHERE seq = 200"));
    ASSERT_TRUE(db->exec("DELETE FROM audit_checkpoints WHERE size = 600"));
  }
  auto signer = parse_note_signer(*read_file(audit_key_path_for(db_)));
  ASSERT_TRUE(signer);
  AuditLog log(db_);
  auto events = log.events(1, 600);
  ASSERT_TRUE(events);
  std::vector<MerkleHash> leaves;
  for (const auto& e : *events) leaves.push_back(audit_leaf(e));
  auto forged =
      sign_note(checkpoint_text(Checkpoint{
                    .origin = "lienthong/test/audit", .size = 600, .root = merkle_root(leaves)}),
                *signer);
  fork["new_checkpoint"] = *forged;
  write_json(path("fork.json"), fork);
  auto refused = run_cli("audit verify --bundle " + path("fork.json"));
  EXPECT_EQ(refused.exit_code, 1) << refused.out;
  EXPECT_THAT(refused.out, HasSubstr("does not extend that of 300"));
}

TEST_F(AuditCli, AnExportedBundleVerifiesAndEveryTamperingIsCaughtAndLocated) {
  auto exported = run_cli("audit export --db " + db_ + " --from 2026-12-01 --to 2026-12-01 --out " +
                          path("b.json"));
  ASSERT_EQ(exported.exit_code, 0) << exported.out;
  EXPECT_THAT(exported.out, HasSubstr("exported events 301 to 600 with 1 checkpoint(s)"));
  auto all = run_cli("audit export --db " + db_ + " --out " + path("all.json"));
  ASSERT_EQ(all.exit_code, 0) << all.out;
  EXPECT_THAT(all.out, HasSubstr("exported events 1 to 600"));
  fs::copy_file(audit_key_path_for(db_) + ".pub", path("node.vkey"));
  fs::remove(db_);

  const std::string key = " --key " + path("node.vkey");
  auto ok = run_cli("audit verify --bundle " + path("b.json") + key);
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_THAT(ok.out, HasSubstr("events 301 to 600 of lienthong/test/audit verified"));

  const auto bundle = read_json(path("b.json"));
  auto expect_caught = [&](const char* what, json::object changed, const std::string& said) {
    write_json(path("t.json"), changed);
    auto r = run_cli("audit verify --bundle " + path("t.json") + key);
    EXPECT_EQ(r.exit_code, 1) << what << ": " << r.out;
    EXPECT_THAT(r.out, HasSubstr(said)) << what;
  };
  {
    auto b = bundle;
    b["events"].as_array()[9].as_object()["actor"] = "forger";
    expect_caught("changed", b, "NOT VERIFIED at event 310: event 310 was altered");
  }
  {
    auto b = bundle;
    auto& events = b["events"].as_array();
    events.erase(events.begin() + 20);
    expect_caught("deleted", b, "at event 321: event 321 is missing");
  }
  {
    auto b = bundle;
    auto& events = b["events"].as_array();
    std::swap(events[30], events[31]);
    expect_caught("reordered", b, "at event 331");
  }
  {
    auto b = bundle;
    auto& events = b["events"].as_array();
    events.insert(events.begin() + 40, events[40]);
    expect_caught("inserted", b, "at event 342");
  }
  {
    auto b = bundle;
    auto& events = b["events"].as_array();
    events.pop_back();
    expect_caught("cut short", b, "at event 600");
  }
  {
    // Changed, with the chain recomputed from there: only the signed checkpoint shows it.
    auto b = bundle;
    auto& events = b["events"].as_array();
    std::string prev;
    for (auto& v : events) {
      auto& o = v.as_object();
      AuditEvent e;
      e.seq = o["seq"].as_int64();
      e.at = o["at"].as_int64();
      e.actor = std::string(o["actor"].as_string());
      e.agency = std::string(o["agency"].as_string());
      e.action = std::string(o["action"].as_string());
      e.document = o["document"].as_int64();
      e.detail = std::string(o["detail"].as_string());
      e.request_id = std::string(o["request_id"].as_string());
      if (e.seq == 450) e.action = "document.deleted";
      e.prev_hash = prev.empty() ? *from_hex(std::string(o["prev_hash"].as_string())) : prev;
      e.hash = audit_hash(e);
      prev = e.hash;
      o["action"] = e.action;
      o["prev_hash"] = to_hex(e.prev_hash);
      o["hash"] = to_hex(e.hash);
    }
    expect_caught("recomputed", b, "are not the log's events in its signed checkpoint of 600");
  }
  {
    // Events numbered from 0 and the checkpoint's root as the whole range proof: refused.
    auto b = bundle;
    b["first"] = 0;
    b["range_proof"] = json::array{b["range_proof"].as_array().front()};
    expect_caught("numbered from 0", b, "not a range of the log");
  }
  {
    // A checkpoint signed by another key.
    auto b = bundle;
    auto stranger = generate_note_signer("lienthong/test/audit");
    auto forged = sign_note(
        checkpoint_text(Checkpoint{.origin = "lienthong/test/audit", .size = 600, .root = {}}),
        *stranger);
    b["checkpoints"].as_array()[0] = *forged;
    expect_caught("forged checkpoint", b, "checkpoint 1:");
  }
}

TEST_F(AuditCli, UsageAndInputErrorsAreNamed) {
  EXPECT_EQ(run_cli("audit").exit_code, 2);
  auto after = run_cli("audit prove 601 --db " + db_);
  EXPECT_EQ(after.exit_code, 2);
  EXPECT_THAT(after.out, HasSubstr("event 601 is not in the checkpoint of 600 events"));
  auto none = run_cli("audit prove 5 --checkpoint 5 --db " + db_);
  EXPECT_THAT(none.out, HasSubstr("there is no checkpoint of 5 events"));
  auto date = run_cli("audit export --db " + db_ + " --from 2026-02-30 --out " + path("x.json"));
  EXPECT_EQ(date.exit_code, 2);
  EXPECT_THAT(date.out, HasSubstr("--from"));
  auto empty = run_cli("audit export --db " + db_ + " --from 2027-01-01 --out " + path("x.json"));
  EXPECT_THAT(empty.out, HasSubstr("no audit event in that period"));
  std::ofstream(path("junk.json")) << "[1,2]";
  auto junk = run_cli("audit verify --bundle " + path("junk.json"));
  EXPECT_EQ(junk.exit_code, 2);
  EXPECT_THAT(junk.out, HasSubstr("not a JSON object"));
}

}  // namespace
}  // namespace lienthong
