#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <set>

#include "base/metrics.hpp"
#include "base/worker_pool.hpp"
#include "engine/directory.hpp"
#include "engine/intake.hpp"
#include "engine/package_cache.hpp"
#include "engine/ports.hpp"
#include "engine/store.hpp"

namespace lienthong {

// When to try a failed delivery again, and when to give up on it.
struct RetryPolicy {
  Timestamp first_delay = 2;     // seconds after the first failure
  double factor = 2.0;           // each further failure multiplies the delay
  Timestamp max_delay = 600;     // the delay never grows beyond this
  Timestamp dead_after = 86400;  // an item this old (since enqueued) goes to dead-letter
};

// The delay before attempt `attempts` + 1, after `attempts` failures: exponential, capped, then
// "equal jitter" (half fixed, half drawn uniformly) so that peers coming back are not hit by every
// sender at the same second. At least one second.
Timestamp retry_delay(const RetryPolicy& policy, int attempts, std::mt19937_64& random);

// Delivers outbox items addressed to agencies hosted on peer nodes, through the transport, each
// with its own attempt count and schedule: documents (the signed original, as received) and, with
// a StatusPackager, the status packets agencies hosted here send back. Local recipients are
// LocalDelivery's.
// The transport is called outside any store transaction; the outcome is written afterwards, so a
// crash between the two delivers again, which the receiver deduplicates by message id.
class PeerDelivery {
 public:
  PeerDelivery(Store& store, const Directory& directory, const Codec& codec,
               PeerTransport& transport, const Clock& clock, RetryPolicy policy = {},
               std::uint64_t seed = 0)
      : store_(store),
        directory_(directory),
        codec_(codec),
        transport_(transport),
        clock_(clock),
        policy_(policy),
        random_(seed) {}

  struct Round {
    std::size_t delivered = 0;
    std::size_t retrying = 0;  // failed, scheduled again
    std::size_t dead_lettered = 0;
    std::size_t statuses = 0;  // carried back in acknowledgements and stored
  };
  // One pass over the due items (at most `batch` of each kind); returns once their outcomes are
  // durable.
  Expected<Round> run_once(std::size_t batch = 64);
  // The same pass, but it returns (with the number of items it took) as soon as the deliveries are
  // done: `recorded` gets the round once its outcomes are durable, on the store's writer thread.
  // The next pass can run meanwhile; items still being recorded are not taken again.
  Expected<std::size_t> run_pipelined(std::size_t batch,
                                      std::function<void(Expected<Round>)> recorded);
  // Waits until every pass's outcomes are recorded (before what `recorded` touches goes away).
  void drain();
  ~PeerDelivery() { drain(); }

  void set_status_packager(const StatusPackager* packager) { packager_ = packager; }
  // Packages remembered at intake, read before the store (see PackageCache).
  void set_package_cache(const PackageCache* cache) { cache_ = cache; }
  // With an intake, peers are asked to carry the statuses their recipients emit on arrival back
  // in the acknowledgement (PeerAck::statuses): each is checked by it as if the peer had sent it,
  // and stored in the same transaction that records the document delivered.
  void set_intake(Intake* intake) { intake_ = intake; }

  // Calls to peers since the node started: for /metrics.
  struct Metrics {
    LabeledHistogram seconds{{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}};
    LabeledCounter failed;  // by peer: not answered, or refused
  };
  const Metrics& metrics() const { return metrics_; }

 private:
  // What goes to the peer for one item, and what the sender's records need once it is taken.
  struct Payload {
    std::string bytes;
    std::string from;                   // the sending agency
    std::optional<HandOver> hand_over;  // documents only; none for a recall
  };
  // `large` is taken (and kept by the caller until the package is sent) for a package over
  // kLargePayload: one such package in memory at a time, whatever the parallelism.
  Expected<Payload> payload(const OutboxItem& item, std::unique_lock<std::mutex>& large);
  struct Outcome {
    bool ok = false;
    std::string peer;
    Payload payload;  // without its bytes, once delivered
    std::string remote_id;
    Error error;
    std::vector<CheckedPackage> statuses;  // carried back, checked, to store with the outcome
    std::vector<std::string> refused;      // carried back but refused: why
  };
  struct Pass {
    std::vector<OutboxItem> items;
    std::vector<Outcome> outcomes;
  };
  // Takes the due items not in flight (claims them) and delivers them.
  Expected<std::shared_ptr<Pass>> deliver_due(std::size_t batch);
  Expected<void> record(StoreTx& tx, Pass& pass, Round& round);
  static std::string carried(const Outcome& outcome);
  // Once the outcomes are durable (or failed to be): the items may be taken again.
  void release(Pass& pass, const Expected<void>& recorded);
  static constexpr std::size_t kParallel = 24;  // calls to peers in flight at once
  // Packages to one peer in one call (PeerTransport::deliver_batch), when each is this small.
  static constexpr std::size_t kBatch = 8;
  static constexpr std::size_t kBatchBytes = 256 << 10;

  Store& store_;
  const Directory& directory_;
  const Codec& codec_;
  PeerTransport& transport_;
  const Clock& clock_;
  RetryPolicy policy_;
  std::mt19937_64 random_;
  const StatusPackager* packager_ = nullptr;
  const PackageCache* cache_ = nullptr;
  Intake* intake_ = nullptr;
  std::mutex mutex_;
  std::mutex large_payload_;
  std::set<std::int64_t> claimed_;    // items taken by a pass whose outcome is not yet durable
  std::set<std::string> healthy_;     // peers whose last call was answered
  std::set<std::string> no_batches_;  // peers that answered a batch with 404 or 405 (older)
  std::size_t recording_ = 0;         // passes whose outcomes are not yet durable
  std::condition_variable recorded_;
  Metrics metrics_;
  WorkerPool pool_{kParallel - 1, "lt-deliver"};
};

// Administrators, inside a write: a dead-lettered item goes back to pending, due now, with its
// attempts reset. `outbox.not_found` or `outbox.not_dead` otherwise.
Expected<void> retry_dead_letter(StoreTx& tx, std::int64_t outbox_id, const std::string& actor,
                                 Timestamp now);

}  // namespace lienthong
