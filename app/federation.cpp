#include "app/federation.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <random>
#include <stdexcept>

#include "base/encoding.hpp"
#include "signing/crypto.hpp"
#include "signing/pki.hpp"

namespace lienthong {

namespace fs = std::filesystem;

int ephemeral_ports_start() {
  int low = 0, high = 0;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d %d", &low, &high) != 2) low = 0;
    std::fclose(f);
  }
  return low >= 2048 && low <= 65535 ? low : 32768;
}

namespace {

bool bindable_on_loopback(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("cannot open a socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

unsigned short free_loopback_port() {
  // Below the kernel's ephemeral range: a port from port 0 or a connection's local port can
  // come from anywhere in that range, and take the port of a node stopped for a moment before
  // it binds it again.
  const int end = ephemeral_ports_start();
  thread_local std::mt19937 random(std::random_device{}());
  std::uniform_int_distribution<int> pick(end / 2, end - 1);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const auto port = static_cast<unsigned short>(pick(random));
    if (bindable_on_loopback(port)) return port;
  }
  throw std::runtime_error("cannot find a free port on 127.0.0.1 below " + std::to_string(end));
}

LoopbackFederation::LoopbackFederation(fs::path dir, std::vector<LoopbackNode> nodes,
                                       std::time_t now)
    : dir_(std::move(dir)), nodes_(std::move(nodes)) {
  if (auto r = write_demo_pki(dir_ / "pki", now); !r) throw std::runtime_error(r.error().message);
  long serial = 9000;
  for (LoopbackNode& node : nodes_) {
    write_node_certificate(node.id, now, ++serial);
    node.peering_port = free_loopback_port();
  }
}

void LoopbackFederation::write_node_certificate(const std::string& id, std::time_t now,
                                                long serial) const {
  auto ca_pem = read_file(dir_ / "pki" / "ca.pem");
  auto ca_key_pem = read_file(dir_ / "pki" / "ca.key");
  if (!ca_pem || !ca_key_pem) throw std::runtime_error("the demo CA cannot be read back");
  auto ca = load_certificates_pem(*ca_pem);
  auto ca_key = load_private_key_pem(*ca_key_pem);
  if (!ca || !ca_key) throw std::runtime_error("the demo CA cannot be read back");
  Pkey key = generate_key(KeyType::ec_p256);
  CertSpec spec;
  spec.common_name = id;
  spec.not_before = now - 86400;
  spec.not_after = now + 86400 * 30;
  spec.serial = serial;
  spec.subject_alt_names = {"IP:127.0.0.1"};
  spec.extended_key_usage = "serverAuth,clientAuth";
  Cert cert = issue_certificate(spec, key.get(), ca->front().get(), ca_key->get());
  for (auto r : {write_file(dir_ / "tls" / (id + ".pem"), to_pem(cert.get())),
                 write_file(dir_ / "tls" / (id + ".key"), to_pem(key.get()), true)}) {
    if (!r) throw std::runtime_error(r.error().message);
  }
}

std::string LoopbackFederation::config_path(std::size_t i) const {
  return (dir_ / (nodes_.at(i).id + ".xml")).string();
}

std::string LoopbackFederation::config_xml(std::size_t i, const std::string& workflows_dir,
                                           const std::string& peering_attributes,
                                           const std::string& extra) const {
  auto agency_xml = [](const std::string& code, bool local) {
    const std::string p = "pki/" + code + "/";
    return "<agency code=\"" + code + "\" name=\"" + code + "\"><signer cert=\"" + p +
           "signer.pem\"/><organisation cert=\"" + p + "organisation.pem\"" +
           (local ? " key=\"" + p + "organisation.key\"" : std::string()) + "/></agency>";
  };
  const LoopbackNode& self = nodes_.at(i);
  std::string xml = "<node xmlns=\"urn:lienthong:config:1\" id=\"" + self.id +
                    "\"><listen address=\"127.0.0.1\" port=\"0\"/><peering address=\"127.0.0.1\" "
                    "port=\"" +
                    std::to_string(self.peering_port) + "\" cert=\"tls/" + self.id +
                    ".pem\" key=\"tls/" + self.id + ".key\" client-ca=\"pki/ca.pem\" " +
                    peering_attributes + "/><store path=\"" + self.id +
                    ".db\"/><trust><anchor file=\"pki/ca.pem\"/><crl "
                    "file=\"pki/crl.pem\"/></trust><workflows dir=\"" +
                    workflows_dir + "\"/><agencies>";
  for (const auto& a : self.agencies) xml += agency_xml(a, true);
  xml += "</agencies><peers>";
  for (const LoopbackNode& peer : nodes_) {
    if (peer.id == self.id) continue;
    xml += "<peer id=\"" + peer.id +
           "\" endpoint=\"https://127.0.0.1:" + std::to_string(peer.peering_port) +
           "\" tls-cert=\"tls/" + peer.id + ".pem\">";
    for (const auto& a : peer.agencies) xml += agency_xml(a, false);
    xml += "</peer>";
  }
  xml += "</peers><users>";
  for (const auto& a : self.agencies) {
    xml += "<user name=\"clerk-" + a + "\" role=\"clerk\" agency=\"" + a + "\" token-sha256=\"" +
           sha256_hex(clerk_token(a)) + "\"/>";
  }
  xml += "<user name=\"admin\" role=\"administrator\" token-sha256=\"" +
         sha256_hex(admin_token(self.id)) + "\"/></users>" + extra + "</node>";
  return xml;
}

}  // namespace lienthong
