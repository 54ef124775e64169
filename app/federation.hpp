#pragma once

#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

namespace lienthong {

// One node of a federation on this machine and the agencies it hosts.
struct LoopbackNode {
  std::string id;
  std::vector<std::string> agencies;
  unsigned short peering_port = 0;  // chosen by LoopbackFederation
};

// Everything a federation of nodes on loopback needs, for `lienthong demo`, the tests and the
// benchmark: under `dir`, a demo PKI (pki/: the demo agencies' signer and organisation keys, the
// CA's revocation list that every node loads),
// each node's TLS certificate issued by the demo CA (tls/<id>.pem, .key), a peering port for each
// node, and each node's configuration naming the others as its peers. Users: a clerk per hosted
// agency (token "clerk-<agency code>") and an administrator (token "admin-<node id>").
// Throws std::runtime_error when the files cannot be written (setup).
class LoopbackFederation {
 public:
  LoopbackFederation(std::filesystem::path dir, std::vector<LoopbackNode> nodes, std::time_t now);

  const std::filesystem::path& dir() const { return dir_; }
  const std::vector<LoopbackNode>& nodes() const { return nodes_; }
  // The configuration of node `i`. `peering_attributes` are added to its <peering> element
  // (e.g. retry-first="PT1S"), `extra` elements to <node> (e.g. <folders>).
  std::string config_xml(std::size_t i, const std::string& workflows_dir,
                         const std::string& peering_attributes = "",
                         const std::string& extra = "") const;
  // Where node `i`'s configuration file would be: relative paths in it resolve against dir().
  std::string config_path(std::size_t i) const;

  // A TLS certificate and key for a node `id` issued by the demo CA (tls/<id>.pem, .key): the
  // constructor writes one for each node; tests write one for a node nobody configured.
  void write_node_certificate(const std::string& id, std::time_t now, long serial) const;

  static std::string clerk_token(const std::string& agency) { return "clerk-" + agency; }
  static std::string admin_token(const std::string& node) { return "admin-" + node; }

 private:
  std::filesystem::path dir_;
  std::vector<LoopbackNode> nodes_;
};

// A TCP port free on 127.0.0.1 when asked, taken at random below the kernel's ephemeral range
// (ip_local_port_range), where neither port 0 nor an outgoing connection can take it later.
unsigned short free_loopback_port();
// The first port of the kernel's ephemeral range; 32768 when it cannot be read.
int ephemeral_ports_start();

}  // namespace lienthong
