#include "engine/peer_delivery.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <mutex>

#include "adapters/edxml/codec.hpp"
#include "adapters/edxml/edxml_codec.hpp"
#include "base/encoding.hpp"
#include "signing/crypto.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr Timestamp kStart = 1795395600;
constexpr const char* kLocal = "000.00.11.H53";
constexpr const char* kRemote = "000.00.01.H41";   // hosted on node "nghe-an"
constexpr const char* kNowhere = "000.00.02.H41";  // known, but no node hosts it
constexpr const char* kOther = "000.00.01.H45";    // hosted on node "quang-tri"

// The peer node as the delivery sees it: answers scripted one per call; no answer left means an
// acknowledgement. Unit-test stand-in for adapters/peer.
class ScriptedPeer final : public PeerTransport {
 public:
  Expected<PeerAck> deliver(const std::string& peer, std::string_view package,
                            bool with_statuses) override {
    std::lock_guard lock(mutex);  // PeerDelivery calls from several threads
    calls.push_back({peer, std::string(package), with_statuses});
    if (answers.empty()) return PeerAck{"remote-" + std::to_string(calls.size()), statuses};
    Error e = answers.front();
    answers.pop_front();
    return e;
  }
  struct Call {
    std::string peer;
    std::string package;
    bool with_statuses = false;
  };
  std::mutex mutex;
  std::vector<Call> calls;
  std::deque<Error> answers;
  std::vector<std::string> statuses;  // carried back in every acknowledgement
  bool batches = true;                // false: answers batches as an older peer (no_batches)
  std::vector<std::size_t> batch_sizes;

  Expected<std::vector<Expected<PeerAck>>> deliver_batch(
      const std::string& peer, const std::vector<std::string_view>& packages,
      bool with_statuses) override {
    {
      std::lock_guard lock(mutex);
      if (!batches) return Error{"peer.no_batches", "no batches here"};
      batch_sizes.push_back(packages.size());
    }
    return PeerTransport::deliver_batch(peer, packages, with_statuses);
  }
};

class PeerDeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-peer-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = open_sqlite_store((dir_ / "node.db").string());
    directory_.add({kLocal, "Sở Tài chính", "", true, "", {}, {}});
    directory_.add({kRemote, "UBND Tỉnh Nghệ An", "", false, "nghe-an", {}, {}});
    directory_.add({kNowhere, "Nowhere", "", false, "", {}, {}});
    directory_.add({kOther, "UBND Tỉnh Quảng Trị", "", false, "quang-tri", {}, {}});
    auto original = read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml");
    ASSERT_TRUE(original);
    original_ = *original;
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  // A stored document with one outbox item to `to`; returns the item's id.
  std::int64_t queue(const std::string& to, const std::string& kind = "document") {
    std::int64_t id = 0;
    auto r = store_->write_sync([&](StoreTx& tx) -> Expected<void> {
      NewDocument d{"msg-" + std::to_string(++documents_),
                    "document",
                    kLocal,
                    {to},
                    "1/STC",
                    "subject",
                    clock_.now(),
                    original_,
                    ""};
      auto doc = tx.insert_document(d);
      if (!doc) return doc.error();
      auto item = tx.enqueue(OutboxItem{0, kind, 0, 0, *doc, to, "", clock_.now(), "pending"});
      if (!item) return item.error();
      id = *item;
      return {};
    });
    EXPECT_TRUE(r) << r.error().message;
    return id;
  }
  OutboxItem item(std::int64_t id) {
    std::optional<OutboxItem> out;
    auto r = store_->write_sync([&](StoreTx& tx) -> Expected<void> {
      auto i = tx.outbox_item(id);
      if (!i) return i.error();
      out = *i;
      return {};
    });
    EXPECT_TRUE(r && out);
    return out.value_or(OutboxItem{});
  }
  PeerDelivery::Round run(PeerDelivery& delivery) {
    auto r = delivery.run_once();
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : PeerDelivery::Round{};
  }
  std::vector<std::string> actions() {
    auto events = store_->audit_events(1, 1000);
    std::vector<std::string> out;
    for (const auto& e : *events) out.push_back(e.action);
    return out;
  }

  fs::path dir_;
  std::unique_ptr<Store> store_;
  Directory directory_;
  EdxmlCodec codec_;
  ManualClock clock_{kStart};
  ScriptedPeer peer_;
  std::string original_;
  int documents_ = 0;
  RetryPolicy policy_{.first_delay = 2, .factor = 2.0, .max_delay = 60, .dead_after = 3600};
};

TEST(RetryDelay, GrowsExponentiallyWithJitterUpToTheCap) {
  RetryPolicy p{.first_delay = 2, .factor = 2.0, .max_delay = 60, .dead_after = 3600};
  std::mt19937_64 random(7);
  for (int attempts = 1; attempts <= 12; ++attempts) {
    const Timestamp full = std::min<Timestamp>(60, Timestamp{2} << (attempts - 1));
    Timestamp lowest = full, highest = 0;
    for (int i = 0; i < 200; ++i) {
      const Timestamp d = retry_delay(p, attempts, random);
      lowest = std::min(lowest, d);
      highest = std::max(highest, d);
    }
    EXPECT_GE(lowest, std::max<Timestamp>(1, full / 2)) << attempts;
    EXPECT_LE(highest, full) << attempts;
    if (full >= 8) {
      EXPECT_LT(lowest, highest) << "jitter at attempt " << attempts;
    }
  }
}

TEST_F(PeerDeliveryTest, DeliversTheSignedOriginalToTheHostingNodeAndRecordsTheHandOver) {
  const auto id = queue(kRemote);
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  auto round = run(delivery);
  EXPECT_EQ(round.delivered, 1u);
  ASSERT_EQ(peer_.calls.size(), 1u);
  EXPECT_EQ(peer_.calls[0].peer, "nghe-an");
  EXPECT_EQ(peer_.calls[0].package, original_);  // byte for byte, signatures intact
  EXPECT_FALSE(peer_.calls[0].with_statuses);    // no intake to store them with
  const OutboxItem done = item(id);
  EXPECT_EQ(done.state, "delivered");
  EXPECT_EQ(done.attempts, 1);
  EXPECT_EQ(actions().back(), "delivery.delivered");
  auto events = store_->audit_events(1, 100);
  EXPECT_THAT(events->back().detail, HasSubstr("\"remote_id\":\"remote-1\""));
  EXPECT_THAT(events->back().detail, HasSubstr("\"channel\":\"peer\""));
  EXPECT_EQ(run(delivery).delivered, 0u);  // nothing twice
  EXPECT_EQ(peer_.calls.size(), 1u);
}

// Statuses carried back in an acknowledgement go through intake's checks; one refused there is
// recorded with the delivery, which stands (the peer holds the document), and stores nothing.
TEST_F(PeerDeliveryTest, StatusesCarriedBackAreCheckedAndARefusedOneLeavesTheDeliveryStanding) {
  const auto id = queue(kRemote);
  TrustStore trust;
  Intake intake(*store_, codec_, trust, directory_, clock_, IntakePolicy{});
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  delivery.set_intake(&intake);
  peer_.statuses = {"<not-closed>", original_};
  auto round = run(delivery);
  EXPECT_EQ(round.delivered, 1u);
  EXPECT_EQ(round.statuses, 0u);
  ASSERT_EQ(peer_.calls.size(), 1u);
  EXPECT_TRUE(peer_.calls[0].with_statuses);
  EXPECT_EQ(item(id).state, "delivered");
  EXPECT_EQ(actions(), (std::vector<std::string>{"handover.recorded", "delivery.delivered"}));
  auto events = store_->audit_events(1, 100);
  EXPECT_THAT(events->back().detail, HasSubstr("\"statuses\":0,\"statuses_refused\":["));
  EXPECT_THAT(events->back().detail, HasSubstr("intake.malformed"));
  // The sample is a document from an agency hosted here: no peer may carry it in its name.
  EXPECT_THAT(events->back().detail, HasSubstr("intake.not_your_agency"));
  EXPECT_EQ(intake.counters().refused.snapshot().size(), 2u);
}

// Items due to the same peer go in batches of at most kBatch; a peer that does not take batches
// gets them one by one, in the same round and afterwards.
TEST_F(PeerDeliveryTest, ItemsToOnePeerGoInBatchesUnlessThePeerTakesNone) {
  const std::string large = original_;  // 367 KB: goes alone
  auto small = decode_edxml(original_);
  ASSERT_TRUE(small);
  small->attachments.front().data = "a small attachment";
  small->attachments.front().sha256_hex = sha256_hex(small->attachments.front().data);
  original_ = encode_edxml(*small);
  for (int i = 0; i < 11; ++i) queue(kRemote);
  queue(kOther);
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  EXPECT_EQ(run(delivery).delivered, 12u);
  // One probe per peer first (neither is known to answer yet), then the other 10 for nghe-an.
  std::sort(peer_.batch_sizes.begin(), peer_.batch_sizes.end());  // sent in parallel
  EXPECT_EQ(peer_.batch_sizes, (std::vector<std::size_t>{2, 8}));
  EXPECT_EQ(peer_.calls.size(), 12u);

  peer_.batches = false;
  peer_.batch_sizes.clear();
  for (int i = 0; i < 5; ++i) queue(kRemote);
  EXPECT_EQ(run(delivery).delivered, 5u);
  EXPECT_EQ(peer_.calls.size(), 17u);
  peer_.batches = true;
  for (int i = 0; i < 5; ++i) queue(kRemote);
  EXPECT_EQ(run(delivery).delivered, 5u);
  EXPECT_TRUE(peer_.batch_sizes.empty());  // remembered: not asked again
  EXPECT_EQ(peer_.calls.size(), 22u);

  PeerDelivery fresh(*store_, directory_, codec_, peer_, clock_, policy_);
  original_ = large;
  for (int i = 0; i < 4; ++i) queue(kRemote);
  EXPECT_EQ(run(fresh).delivered, 4u);
  EXPECT_TRUE(peer_.batch_sizes.empty());  // each too large for a batch
  EXPECT_EQ(peer_.calls.size(), 26u);
}

// A document still in the cache is not parsed again: its hand-over comes from the cached model
// (here marked with another type), while the peer still gets the stored original.
TEST_F(PeerDeliveryTest, ACachedDocumentIsDeliveredWithoutParsingItAgain) {
  const auto id = queue(kRemote);
  auto package = codec_.decode(original_);
  ASSERT_TRUE(package);
  package->document.type = "cached";
  PackageCache cache(4);
  cache.put(item(id).document, std::make_shared<const Package>(std::move(*package)),
            original_.size());
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  delivery.set_package_cache(&cache);
  EXPECT_EQ(run(delivery).delivered, 1u);
  ASSERT_EQ(peer_.calls.size(), 1u);
  EXPECT_EQ(peer_.calls[0].package, original_);
  auto events = store_->audit_events(1, 100);
  bool recorded = false;
  for (const auto& e : *events) {
    if (e.action == "handover.recorded") {
      recorded = true;
      EXPECT_THAT(e.detail, HasSubstr("\"type\":\"cached\""));
    }
  }
  EXPECT_TRUE(recorded);
  // Not in the cache: read and parsed from the store, with the document's own type.
  queue(kRemote);
  EXPECT_EQ(run(delivery).delivered, 1u);
  events = store_->audit_events(1, 100);
  EXPECT_THAT(events->back().action, "delivery.delivered");
  int cached_types = 0;
  for (const auto& e : *events) {
    if (e.action == "handover.recorded" &&
        e.detail.find("\"type\":\"cached\"") != std::string::npos)
      ++cached_types;
  }
  EXPECT_EQ(cached_types, 1);
}

// The original kept with a cached document is what goes to the peer: nothing is read from the
// store (a stored original never changes, so here a marked copy shows which one was sent).
TEST_F(PeerDeliveryTest, ACachedOriginalIsSentWithoutReadingTheStore) {
  const auto id = queue(kRemote);
  auto package = codec_.decode(original_);
  ASSERT_TRUE(package);
  PackageCache cache(4, 4 << 20);
  const std::string marked = original_ + "<!-- from the cache -->";
  cache.put(item(id).document, std::make_shared<const Package>(std::move(*package)),
            original_.size(), std::make_shared<const std::string>(marked));
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  delivery.set_package_cache(&cache);
  EXPECT_EQ(run(delivery).delivered, 1u);
  ASSERT_EQ(peer_.calls.size(), 1u);
  EXPECT_EQ(peer_.calls[0].package, marked);
  EXPECT_EQ(item(id).state, "delivered");
}

TEST_F(PeerDeliveryTest, LeavesLocalRecipientsAndStatusPacketsAlone) {
  const auto local = queue(kLocal);
  const auto status = queue(kRemote, "status");
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  run(delivery);
  EXPECT_TRUE(peer_.calls.empty());
  EXPECT_EQ(item(local).state, "pending");
  EXPECT_EQ(item(status).state, "pending");
}

TEST_F(PeerDeliveryTest, RetriesWithGrowingDelaysAndNotBeforeTheyAreDue) {
  const auto id = queue(kRemote);
  for (int i = 0; i < 3; ++i) peer_.answers.push_back({"peer.unreachable", "connection refused"});
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_, 42);
  Timestamp previous_delay = 0;
  for (int attempt = 1; attempt <= 3; ++attempt) {
    auto round = run(delivery);
    EXPECT_EQ(round.retrying, 1u);
    const OutboxItem o = item(id);
    EXPECT_EQ(o.state, "pending");
    EXPECT_EQ(o.attempts, attempt);
    EXPECT_EQ(o.last_error, "peer.unreachable: connection refused");
    const Timestamp delay = o.next_attempt_at - clock_.now();
    EXPECT_GE(delay, previous_delay / 2 + 1) << attempt;
    EXPECT_LE(delay, Timestamp{2} << (attempt - 1));
    previous_delay = delay;
    clock_.set(o.next_attempt_at - 1);
    EXPECT_EQ(run(delivery).retrying, 0u);  // not yet due
    EXPECT_EQ(peer_.calls.size(), static_cast<std::size_t>(attempt));
    clock_.set(o.next_attempt_at);
  }
  EXPECT_EQ(run(delivery).delivered, 1u);
  EXPECT_EQ(item(id).state, "delivered");
  EXPECT_EQ(item(id).attempts, 4);
}

TEST_F(PeerDeliveryTest, DeadLettersWhenTooOldOrRefusedAndAnAdministratorRetries) {
  const auto old = queue(kRemote);
  const auto orphan = queue(kNowhere);
  clock_.advance(3600);                // `old` reaches dead_after with this failure
  const auto refused = queue(kOther);  // new, but refused: no retry can change that
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_, 1);
  peer_.answers.push_back({"peer.timeout", "no answer in 30 s"});
  peer_.answers.push_back({"peer.refused", "signature_invalid: the signed content was altered"});
  auto round = run(delivery);
  EXPECT_EQ(round.dead_lettered, 3u);
  EXPECT_EQ(item(old).state, "dead");
  EXPECT_THAT(item(refused).last_error, HasSubstr("peer.refused"));
  EXPECT_THAT(item(orphan).last_error, HasSubstr("no peer node is known"));
  EXPECT_EQ(peer_.calls.size(), 2u);  // the orphan never reached a transport
  auto dead = store_->outbox("dead", 10);
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->size(), 3u);

  EXPECT_EQ(run(delivery).dead_lettered, 0u);  // dead stays dead
  auto retry = [&](std::int64_t id) {
    return store_->write_sync(
        [&](StoreTx& tx) { return retry_dead_letter(tx, id, "admin", clock_.now()); });
  };
  auto not_dead = retry(999);
  ASSERT_FALSE(not_dead);
  EXPECT_EQ(not_dead.error().code, "outbox.not_found");
  ASSERT_TRUE(retry(old));
  auto again = retry(old);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "outbox.not_dead");
  EXPECT_EQ(item(old).attempts, 0);
  EXPECT_EQ(run(delivery).delivered, 1u);
  EXPECT_EQ(item(old).state, "delivered");
  auto a = actions();
  EXPECT_EQ(std::count(a.begin(), a.end(), "delivery.dead_lettered"), 3);
  EXPECT_EQ(std::count(a.begin(), a.end(), "delivery.retried"), 1);
}

TEST_F(PeerDeliveryTest, APeerThatCannotBeReachedIsCalledOncePerRound) {
  const auto first = queue(kRemote);
  const auto second = queue(kRemote);
  const auto elsewhere = queue(kOther);
  peer_.answers.push_back({"peer.unreachable", "connection refused"});
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  auto round = run(delivery);
  EXPECT_EQ(round.retrying, 2u);
  EXPECT_EQ(round.delivered, 1u);
  ASSERT_EQ(peer_.calls.size(), 2u);  // nghe-an once, quang-tri once
  EXPECT_EQ(peer_.calls[1].peer, "quang-tri");
  EXPECT_EQ(item(first).attempts, 1);
  EXPECT_EQ(item(second).attempts, 1);
  EXPECT_EQ(item(second).last_error, "peer.unreachable: connection refused");
  EXPECT_EQ(item(elsewhere).state, "delivered");
  auto next = store_->next_outbox_attempt("document");
  ASSERT_TRUE(next && *next);
  EXPECT_EQ(**next, std::min(item(first).next_attempt_at, item(second).next_attempt_at));
}

TEST_F(PeerDeliveryTest, TheScheduleSurvivesARestart) {
  const auto id = queue(kRemote);
  peer_.answers.push_back({"peer.unreachable", "connection refused"});
  {
    PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
    run(delivery);
  }
  const Timestamp due = item(id).next_attempt_at;
  store_.reset();
  store_ = open_sqlite_store((dir_ / "node.db").string());
  PeerDelivery delivery(*store_, directory_, codec_, peer_, clock_, policy_);
  EXPECT_EQ(run(delivery).delivered, 0u);
  clock_.set(due);
  EXPECT_EQ(run(delivery).delivered, 1u);
  EXPECT_EQ(item(id).attempts, 2);
}

}  // namespace
}  // namespace lienthong
