#include "engine/audit_log.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "engine/sqlite.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

// A store of 1,000 audit events: three tiles of 256 and 232 leaves after them.
class AuditLogTest : public ::testing::Test {
 protected:
  static constexpr int kEvents = 1000;

  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-audit-log-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "node.db").string();
    store_ = open_sqlite_store(path_);
    append(kEvents);
    auto signer = generate_note_signer("lienthong/test-node/audit");
    ASSERT_TRUE(signer);
    signer_ = std::move(*signer);
    vk_ = note_verifier_of(signer_);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  void append(int n) {
    ASSERT_TRUE(store_->write_sync([&](StoreTx& tx) -> Expected<void> {
      for (int i = 0; i < n; ++i) {
        AuditEvent e;
        e.at = 1795395600 + appended_;
        e.actor = "clerk-stc";
        e.agency = "000.00.11.H53";
        e.action = "step." + std::to_string(++appended_);
        e.detail = "{\"n\":" + std::to_string(appended_) + "}";
        e.request_id = "req-" + std::to_string(appended_);
        if (auto a = tx.append_audit(e); !a) return a.error();
      }
      return {};
    }));
  }

  // The leaves computed here from the events as read through the store, independently of
  // AuditLog, and the roots of every prefix through the frontier (no decomposition involved).
  std::vector<MerkleHash> leaves() {
    auto events = store_->audit_events(1, 1'000'000);
    EXPECT_TRUE(events);
    std::vector<MerkleHash> out;
    for (const auto& e : *events) out.push_back(merkle_leaf_hash(audit_entry(e)));
    return out;
  }
  std::vector<MerkleHash> roots(const std::vector<MerkleHash>& leaves) {
    std::vector<MerkleHash> out{merkle_empty_root()};
    MerkleFrontier frontier;
    for (const auto& l : leaves) {
      frontier.append(l);
      out.push_back(frontier.root());
    }
    return out;
  }

  // Changes event `seq` as someone with the file would, and recomputes the chain from there on so
  // that the chain alone no longer shows it.
  void rewrite_and_rechain(std::int64_t seq) {
    auto events = store_->audit_events(seq, 1'000'000);
    ASSERT_TRUE(events);
    store_.reset();
    auto db = sqlite::Db::open(path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec("BEGIN"));
    auto before = (*events)[0].prev_hash;
    for (auto& e : *events) {
      if (e.seq == seq) e.actor = "forger";
      e.prev_hash = before;
      e.hash = audit_hash(e);
      before = e.hash;
      auto st =
          db->prepare("UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?");
      ASSERT_TRUE(st);
      st->bind(1, e.actor).bind_blob(2, e.prev_hash).bind_blob(3, e.hash).bind(4, e.seq);
      ASSERT_TRUE(st->run());
    }
    ASSERT_TRUE(db->exec("COMMIT"));
    store_ = open_sqlite_store(path_);
    auto chain = verify_audit_chain(*store_);
    ASSERT_TRUE(chain && chain->ok) << "the chain alone should not show a recomputed chain";
  }
  void sql(const std::string& statement) {
    auto db = sqlite::Db::open(path_);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->exec(statement)) << statement;
  }

  fs::path dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
  int appended_ = 0;
  NoteSigner signer_;
  NoteVerifier vk_;
};

TEST_F(AuditLogTest, RootsAndProofsMatchAnIndependentComputationBeforeAndAfterTilesAreStored) {
  const auto l = leaves();
  const auto r = roots(l);
  AuditLog log(path_);
  ASSERT_EQ(*log.size(), 1000u);
  auto check = [&](const char* when) {
    for (std::uint64_t n : {1u, 255u, 256u, 257u, 512u, 700u, 768u, 999u, 1000u}) {
      auto root = log.root(n);
      ASSERT_TRUE(root) << root.error().message;
      EXPECT_EQ(*root, r[n]) << n << " " << when;
    }
    for (std::uint64_t i : {0u, 1u, 255u, 256u, 600u, 767u, 768u, 999u}) {
      auto proof = log.inclusion_proof(i, 1000);
      ASSERT_TRUE(proof);
      EXPECT_EQ(*proof, merkle_inclusion_proof(l, i));
      EXPECT_TRUE(merkle_verify_inclusion(i, 1000, l[i], *proof, r[1000])) << i << " " << when;
    }
    for (std::uint64_t m : {1u, 256u, 300u, 512u, 900u}) {
      auto proof = log.consistency_proof(m, 1000);
      ASSERT_TRUE(proof);
      EXPECT_TRUE(merkle_verify_consistency(m, 1000, *proof, r[m], r[1000])) << m << " " << when;
    }
    auto range = log.range_proof(200, 800, 1000);
    ASSERT_TRUE(range);
    EXPECT_TRUE(merkle_verify_range(1000, 200, std::span(l).subspan(200, 600), *range, r[1000]));
  };
  check("from the events alone");
  auto covered = log.extend();
  ASSERT_TRUE(covered);
  EXPECT_EQ(*covered, 768u);
  check("with stored tiles");

  EXPECT_EQ(log.root(1001).error().code, "audit.out_of_range");
  EXPECT_EQ(log.inclusion_proof(1000, 1000).error().code, "audit.out_of_range");
  EXPECT_EQ(log.consistency_proof(10, 5).error().code, "audit.out_of_range");
}

TEST_F(AuditLogTest, CheckpointsAreSignedNotesOfTheTreeOnlyWhenItGrew) {
  AuditLog log(path_);
  auto first = log.checkpoint(signer_, "lienthong/test-node/audit", 1800000000);
  ASSERT_TRUE(first && *first);
  EXPECT_EQ((*first)->size, 1000u);
  auto opened = open_checkpoint((*first)->note, note_verifier_of(signer_));
  ASSERT_TRUE(opened) << opened.error().message;
  EXPECT_EQ(opened->origin, "lienthong/test-node/audit");
  EXPECT_EQ(opened->size, 1000u);
  EXPECT_EQ(opened->root, roots(leaves())[1000]);

  auto again = log.checkpoint(signer_, "lienthong/test-node/audit", 1800000060);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again) << "nothing new, no checkpoint";
  append(30);
  auto second = log.checkpoint(signer_, "lienthong/test-node/audit", 1800000120);
  ASSERT_TRUE(second && *second);
  EXPECT_EQ((*second)->size, 1030u);
  EXPECT_EQ(log.checkpoints()->size(), 2u);
  EXPECT_EQ((*log.latest_checkpoint())->size, 1030u);
  EXPECT_EQ((*log.checkpoint_at(1000))->note, (*first)->note);

  auto check = log.verify(&vk_);
  ASSERT_TRUE(check);
  EXPECT_TRUE(check->ok) << check->problem;
  EXPECT_EQ(check->events, 1030u);
  EXPECT_EQ(check->checkpoints, 2u);

  auto stranger = generate_note_signer("lienthong/test-node/audit");
  const NoteVerifier stranger_key = note_verifier_of(*stranger);
  auto foreign = log.verify(&stranger_key);
  ASSERT_TRUE(foreign);
  EXPECT_FALSE(foreign->ok);
  EXPECT_THAT(foreign->problem, HasSubstr("checkpoint of 1000 events"));
}

TEST_F(AuditLogTest, ARecomputedChainIsCaughtByTheStoredTilesAndNamed) {
  {
    AuditLog log(path_);
    ASSERT_TRUE(log.checkpoint(signer_, "o", 1800000000));
  }
  rewrite_and_rechain(300);
  AuditLog log(path_);
  auto check = log.verify(&vk_);
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad, 257);
  EXPECT_THAT(check->problem, HasSubstr("events 257 to 512 are not the events the log held"));
}

TEST_F(AuditLogTest, ARecomputedChainAfterTheTilesIsCaughtByTheSignedCheckpoint) {
  {
    AuditLog log(path_);
    ASSERT_TRUE(log.checkpoint(signer_, "o", 1800000000));
  }
  rewrite_and_rechain(900);
  AuditLog log(path_);
  auto check = log.verify(&vk_);
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad, 769);
  EXPECT_THAT(check->problem, HasSubstr("signed checkpoint of 1000 events does not match"));
}

TEST_F(AuditLogTest, EventsRemovedFromTheEndAreCaughtByTheCheckpoint) {
  {
    AuditLog log(path_);
    ASSERT_TRUE(log.checkpoint(signer_, "o", 1800000000));
  }
  store_.reset();
  sql("DELETE FROM audit_events WHERE seq > 990");
  AuditLog log(path_);
  auto check = log.verify(&vk_);
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  EXPECT_EQ(check->first_bad, 991);
  EXPECT_THAT(check->problem, HasSubstr("removed from its end"));
}

TEST_F(AuditLogTest, AForgedCheckpointOrAlteredSubtreeIsRefused) {
  {
    AuditLog log(path_);
    ASSERT_TRUE(log.checkpoint(signer_, "o", 1800000000));
  }
  store_.reset();
  // The note's size changed by hand: its signature no longer holds.
  sql("UPDATE audit_checkpoints SET note = replace(note, '\n1000\n', '\n999\n')");
  {
    AuditLog log(path_);
    auto check = log.verify(&vk_);
    ASSERT_TRUE(check);
    EXPECT_FALSE(check->ok);
    EXPECT_EQ(check->first_bad, 0);
    EXPECT_THAT(check->problem, HasSubstr("checkpoint of 1000 events"));
  }
  // Without the key, a root changed in the record still disagrees with the note's text.
  sql("UPDATE audit_checkpoints SET note = (SELECT note FROM audit_checkpoints), root = "
      "zeroblob(32)");
  {
    AuditLog log(path_);
    auto check = log.verify(nullptr);
    ASSERT_TRUE(check);
    EXPECT_FALSE(check->ok);
    EXPECT_THAT(check->problem, HasSubstr("another size or root than its record"));
  }
  sql("DELETE FROM audit_checkpoints");
  sql("UPDATE merkle_nodes SET hash = zeroblob(32) WHERE level = 9 AND idx = 0");
  AuditLog log(path_);
  auto check = log.verify(&vk_);
  ASSERT_TRUE(check);
  EXPECT_FALSE(check->ok);
  EXPECT_THAT(check->problem, HasSubstr("stored subtree of events 1 to 512 does not match"));
}

}  // namespace
}  // namespace lienthong
