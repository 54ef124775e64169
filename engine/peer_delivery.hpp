#pragma once

#include <cstdint>
#include <random>

#include "engine/directory.hpp"
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
  };
  // One pass over the due items (at most `batch` of each kind).
  Expected<Round> run_once(std::size_t batch = 64);

  void set_status_packager(const StatusPackager* packager) { packager_ = packager; }

 private:
  // What goes to the peer for one item, and what the sender's records need once it is taken.
  struct Payload {
    std::string bytes;
    std::string from;    // the sending agency
    std::optional<HandOver> hand_over;  // documents only; none for a recall
  };
  Expected<Payload> payload(const OutboxItem& item);
  struct Outcome {
    bool ok = false;
    std::string peer;
    Payload payload;  // without its bytes, once delivered
    std::string remote_id;
    Error error;
  };
  Expected<Round> record(const std::vector<OutboxItem>& items,
                         const std::vector<Outcome>& outcomes);
  static constexpr std::size_t kParallel = 8;  // deliveries in flight at once

  Store& store_;
  const Directory& directory_;
  const Codec& codec_;
  PeerTransport& transport_;
  const Clock& clock_;
  RetryPolicy policy_;
  std::mt19937_64 random_;
  const StatusPackager* packager_ = nullptr;
};

// Administrators, inside a write: a dead-lettered item goes back to pending, due now, with its
// attempts reset. `outbox.not_found` or `outbox.not_dead` otherwise.
Expected<void> retry_dead_letter(StoreTx& tx, std::int64_t outbox_id, const std::string& actor,
                                 Timestamp now);

}  // namespace lienthong
