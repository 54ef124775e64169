#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/http_api/server.hpp"
#include "engine/intake.hpp"
#include "signing/crypto.hpp"

namespace lienthong {

// Which peer node a TLS client certificate belongs to: the peer whose configured certificate it
// is (pinned), or, for a peer configured with a CA, a certificate that CA issued to the peer's id
// (as its common name).
class PeerIdentities {
 public:
  // `trust_pem`: the peer's configured TLS certificate or CA. Error when it holds none.
  Expected<void> add(const std::string& peer, std::string_view trust_pem);
  std::optional<std::string> identify(std::string_view certificate_der) const;

 private:
  std::map<std::string, std::string> pinned_;        // SHA-256 of the certificate -> peer
  std::vector<std::pair<Cert, std::string>> by_ca_;  // CA -> peer
  static constexpr std::size_t kMaxIssued = 1024;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::string> issued_;  // CA-issued certificates seen -> peer
};

struct PeerApiContext {
  std::string node_id;
  Intake& intake;
  const PeerIdentities& peers;
  std::function<void()> changed;                // wakes the node's background work after a write
  std::function<void(const std::string&)> log;  // one JSON object per line; empty: no log
  // Signs the statuses that go back in acknowledgements; none: they go through the outbox.
  const StatusPackager* packager = nullptr;
};

// The peering listener's endpoints (behind HttpServer with mutual TLS):
//   POST /peer/v1/packages  a signed package from the node that hosts its From agency: 202 with
//                           this node's id for it once durable, 200 for one already held, or the
//                           intake's refusal (4xx: final; 5xx: try again later). With the header
//                           `X-Lienthong-Ack: statuses`, the answer carries in "statuses" the
//                           signed status packets its recipients here emitted on arrival (see
//                           Submitter::statuses_in_ack).
//   POST /peer/v1/batches   several packages at once (content type application/vnd.lienthong.batch;
//                           each "<size in bytes>\n<package>\n", at most kMaxBatch): 200 with
//                           {"results":[...]}, one object per package in order, each what the
//                           endpoint above answers plus its "status"; 400 `peer.bad_batch` for a
//                           body that is not such a list.
//   GET  /peer/v1/healthz   which node this is
// A client certificate that belongs to no configured peer gets 403 `peer.unknown_node`.
class PeerApi {
 public:
  static constexpr std::size_t kMaxBatch = 64;
  explicit PeerApi(PeerApiContext ctx) : ctx_(std::move(ctx)) {}
  void handle(HttpRequest&& request, Responder respond);

 private:
  PeerApiContext ctx_;
  std::atomic<std::uint64_t> next_request_{1};
};

// The packages of a batch body (see PeerApi), or `peer.bad_batch` saying what is wrong with it.
Expected<std::vector<std::string>> split_batch(std::string_view body, std::size_t max_parts);

}  // namespace lienthong
