#pragma once

#include <libxml/tree.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/expected.hpp"
#include "engine/package.hpp"

namespace lienthong {

// Reads a parsed package into the model, and writes the model back. adapters/edxml implements it
// (QCVN 102:2016).
class Codec {
 public:
  virtual ~Codec() = default;
  // Attachments come back with their SHA-256 but without their bytes: the node routes and
  // stores the signed original, never the decoded content.
  virtual Expected<Package> decode(xmlDoc* doc) const = 0;
  virtual Expected<Package> decode(std::string_view bytes) const = 0;
  // The package as the codec writes it (unsigned); what decode reads back.
  virtual std::string encode(const Package& package) const = 0;
};

// A peer's answer once it holds a package durably.
struct PeerAck {
  std::string id;  // the peer's id for the package
  // Asked for with `with_statuses`: the status packets (signed edXML) its recipients emitted on
  // arrival, carried back in this answer instead of coming through the peer's outbox. The peer
  // counts them as delivered: the caller must store them before it counts the package delivered,
  // and a package delivered again (a copy) brings them back again.
  std::vector<std::string> statuses;
};

// Hands a signed package to the node that hosts the recipient (adapters/peer: HTTPS with mutual
// TLS). Returns once the peer has stored it durably. Errors whose code is `peer.refused` are the
// peer's final answer about this package (retrying cannot change it); any other error
// (unreachable, timeout, overloaded) is worth another attempt.
class PeerTransport {
 public:
  virtual ~PeerTransport() = default;
  virtual Expected<PeerAck> deliver(const std::string& peer, std::string_view package,
                                    bool with_statuses) = 0;
  // Several packages in one call, each answered on its own and in order, as `deliver` would have
  // answered it. An error for the whole call stands for every package; `peer.no_batches` when
  // the peer does not take batches (deliver them one by one). By default, one call each.
  virtual Expected<std::vector<Expected<PeerAck>>> deliver_batch(
      const std::string& peer, const std::vector<std::string_view>& packages, bool with_statuses) {
    std::vector<Expected<PeerAck>> out;
    for (auto p : packages) out.push_back(deliver(peer, p, with_statuses));
    return out;
  }
};

// Writes the status packet that an agency hosted here sends back about a document it received:
// From that agency, answering the document, with the code and the time the status arose (so that
// a packet written again for a retry has the same message id), signed with the agency's
// organisation key. adapters/edxml implements it. `status.unsigned` when no key is held.
class StatusPackager {
 public:
  virtual ~StatusPackager() = default;
  virtual Expected<std::string> status_packet(const std::string& from_agency,
                                              const Package& answered, const std::string& code,
                                              std::int64_t at) const = 0;
  // Whether it holds the key to sign for the agency.
  virtual bool signs_for(const std::string& agency) const = 0;
};

// The time, injectable so that tests drive it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;  // seconds since the epoch, UTC
};

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
};

// Read by a node's threads while a test moves it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t t) : t_(t) {}
  std::int64_t now() const override { return t_.load(); }
  void set(std::int64_t t) { t_.store(t); }
  void advance(std::int64_t seconds) { t_ += seconds; }

 private:
  std::atomic<std::int64_t> t_;
};

}  // namespace lienthong
