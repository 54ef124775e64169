#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/ports.hpp"

// The sending side of node-to-node exchange: HTTPS with mutual TLS to the node that hosts the
// recipient. Free of Asio and Beast on purpose; only peer_client.cpp includes them.

namespace lienthong {

// A peer node as this node calls it.
struct PeerEndpoint {
  std::string id;
  std::string url;         // https://host:port[/prefix]; packages go to {prefix}/peer/v1/packages
  std::string trust_file;  // PEM: the peer's own TLS certificate (pinned), or the CA that issues it
};

struct PeerClientOptions {
  std::string cert_file;  // this node's TLS certificate (PEM, chain allowed) and key, presented
  std::string key_file;   // to every peer as the client certificate
  std::chrono::milliseconds connect_timeout{5'000};
  // Each write and each read; plus a second for every MiB of the package, so that a large one may
  // go at 1 MiB/s and the peer may take its time to check and store it.
  std::chrono::milliseconds io_timeout{30'000};
  std::vector<std::string> crl_files;  // revocation lists for peers' certificates (PEM)
};

// PeerTransport over HTTPS: TLS 1.2 or later; the server must present the pinned certificate, or
// one issued by the configured CA for the endpoint's host name or address. Connections are kept
// alive and reused (one per concurrent call, opened again when one breaks), so calls to the same
// or different peers may run in parallel from several threads. Answers: 200/202 are the peer's
// durable acknowledgement (its id for the package, and with `with_statuses` the status packets it
// carries, sent for with the header `X-Lienthong-Ack: statuses`); any other 4xx is `peer.refused`
// (the peer's final answer, with its code and message); 5xx `peer.unavailable`; no connection, TLS
// failure or timeout `peer.unreachable`/`peer.tls`/`peer.timeout`.
class PeerClient final : public PeerTransport {
 public:
  // Throws std::runtime_error naming the file or URL it cannot use (startup).
  PeerClient(PeerClientOptions options, const std::vector<PeerEndpoint>& peers);
  ~PeerClient() override;

  Expected<PeerAck> deliver(const std::string& peer, std::string_view package,
                            bool with_statuses) override;
  // POST {prefix}/peer/v1/batches (see PeerApi); 404 or 405 is `peer.no_batches`.
  Expected<std::vector<Expected<PeerAck>>> deliver_batch(
      const std::string& peer, const std::vector<std::string_view>& packages,
      bool with_statuses) override;

  class Peer;

 private:
  // The configured peer of that id, or `peer.unknown`.
  Expected<Peer*> find(const std::string& peer) const;

  std::map<std::string, std::unique_ptr<Peer>> peers_;
};

}  // namespace lienthong
