// Full hand-overs between two nodes on this machine: a clerk's signed 10 KB package accepted by A,
// delivered over mutual TLS to node B (verified, stored, handed over to its recipient, whose
// workflow starts) and the recipient's status 01 back at A, signed, verified and stored.
#include <benchmark/benchmark.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "adapters/edxml/codec.hpp"
#include "app/node.hpp"
#include "base/encoding.hpp"
#include "bench_http.hpp"
#include "signing/crypto.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kH53 = "000.00.11.H53";  // on node A
constexpr const char* kA53 = "000.00.01.A53";  // on node B

unsigned short free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

struct Federation {
  fs::path dir = fs::temp_directory_path() / ("lt-bench-federation-" + std::to_string(::getpid()));
  std::optional<NodeConfig> config_a, config_b;
  std::unique_ptr<Node> a, b;
  std::vector<std::string> packages;

  Federation() {
    fs::remove_all(dir);
    const std::time_t now = std::time(nullptr);
    if (!write_demo_pki(dir / "pki", now)) throw std::runtime_error("pki");
    auto ca = load_certificates_pem(*read_file(dir / "pki" / "ca.pem"));
    auto ca_key = load_private_key_pem(*read_file(dir / "pki" / "ca.key"));
    long serial = 9000;
    for (const char* node : {"node-a", "node-b"}) {
      Pkey key = generate_key(KeyType::ec_p256);
      CertSpec spec;
      spec.common_name = node;
      spec.not_before = now - 86400;
      spec.not_after = now + 86400 * 30;
      spec.serial = ++serial;
      spec.subject_alt_names = {"IP:127.0.0.1"};
      spec.extended_key_usage = "serverAuth,clientAuth";
      Cert cert = issue_certificate(spec, key.get(), ca->front().get(), ca_key->get());
      (void)write_file(dir / "tls" / (std::string(node) + ".pem"), to_pem(cert.get()));
      (void)write_file(dir / "tls" / (std::string(node) + ".key"), to_pem(key.get()));
    }
    const unsigned short pa = free_port(), pb = free_port();
    a = start("node-a", kH53, pa, "node-b", kA53, pb, config_a);
    b = start("node-b", kA53, pb, "node-a", kH53, pa, config_b);

    // The production sample with its attachment cut to 6 KB: a 10 KB package, as in bench_node.
    auto sample = decode_edxml(
        *read_file(std::string(LIENTHONG_SOURCE_DIR) + "/tests/data/edxml/edoc_new.edxml"));
    Package base = std::move(*sample);
    base.extra_header.clear();
    base.attachments.front().data = std::string(6000, 'x');
    base.attachments.front().sha256_hex = sha256_hex(base.attachments.front().data);
    const fs::path p = dir / "pki" / kH53;
    auto signer = load_signing_key(p / "signer.key", p / "signer.pem");
    auto organisation = load_signing_key(p / "organisation.key", p / "organisation.pem");
    const char* wanted = std::getenv("LIENTHONG_BENCH_HANDOVERS");
    const int count = wanted ? std::atoi(wanted) : 5000;
    packages.resize(static_cast<std::size_t>(count));
    std::vector<std::thread> signers;
    for (int t = 0; t < 2; ++t) {
      signers.emplace_back([&, t] {
        Package one = base;
        SignOptions o;
        for (int i = t; i < count; i += 2) {
          one.document.code_number = std::to_string(i);
          one.document.document_id =
              std::string(kH53) + ",2026/11/23," + std::to_string(i) + "/STC-BCTC";
          o.role = SignatureRole::signer;
          auto signed_once = sign_package(encode_edxml(one), *signer, o);
          o.role = SignatureRole::organisation;
          packages[static_cast<std::size_t>(i)] = *sign_package(*signed_once, *organisation, o);
        }
      });
    }
    for (auto& t : signers) t.join();
  }
  ~Federation() {
    a.reset();
    b.reset();
    fs::remove_all(dir);
  }

  std::unique_ptr<Node> start(const std::string& id, const std::string& agency, unsigned short port,
                              const std::string& peer, const std::string& peer_agency,
                              unsigned short peer_port, std::optional<NodeConfig>& config) {
    auto agency_xml = [](const std::string& code, bool local) {
      const std::string p = "pki/" + code + "/";
      return "<agency code=\"" + code + "\" name=\"" + code + "\"><signer cert=\"" + p +
             "signer.pem\"/><organisation cert=\"" + p + "organisation.pem\"" +
             (local ? " key=\"" + p + "organisation.key\"" : std::string()) + "/></agency>";
    };
    const std::string xml =
        "<node xmlns=\"urn:lienthong:config:1\" id=\"" + id +
        "\"><listen address=\"127.0.0.1\" port=\"0\"/><peering address=\"127.0.0.1\" port=\"" +
        std::to_string(port) + "\" cert=\"tls/" + id + ".pem\" key=\"tls/" + id +
        ".key\" client-ca=\"pki/ca.pem\"/><store path=\"" + id +
        ".db\"/><trust><anchor file=\"pki/ca.pem\"/></trust><workflows dir=\"" +
        std::string(LIENTHONG_SOURCE_DIR) + "/workflows/definitions\"/><agencies>" +
        agency_xml(agency, true) + "</agencies><peers><peer id=\"" + peer +
        "\" endpoint=\"https://127.0.0.1:" + std::to_string(peer_port) + "\" tls-cert=\"tls/" +
        peer + ".pem\">" + agency_xml(peer_agency, false) +
        "</peer></peers><users><user name=\"clerk\" role=\"clerk\" agency=\"" + agency +
        "\" token-sha256=\"" + sha256_hex("bench-" + id) + "\"/></users></node>";
    ConfigResult r = load_node_config(xml, (dir / (id + ".xml")).string());
    if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
    config = std::move(*r.config);
    auto node = std::make_unique<Node>(*config);
    node->start();
    return node;
  }
};

std::int64_t count(Store& store, const char* state, const char* kind) {
  auto items = store.outbox(state, 10'000'000);
  if (!items) return -1;
  return std::count_if(items->begin(), items->end(),
                       [&](const OutboxItem& i) { return i.kind == kind; });
}

// All prepared packages submitted by 16 clerks' connections at once; the clock stops when the
// last status 01 is stored at node A (node B's outbox shows it acknowledged).
void BM_HandOvers(benchmark::State& state) {
  Federation f;
  const auto n = static_cast<std::int64_t>(f.packages.size());
  for (auto _ : state) {
    const auto t0 = Clock::now();
    std::atomic<std::size_t> next{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 16; ++c) {
      clients.emplace_back([&] {
        Connection conn(f.a->port());
        for (std::size_t i; (i = next++) < f.packages.size();) {
          if (conn.post("/api/v1/documents", "bench-node-a", f.packages[i]) != 202) ++refused;
        }
      });
    }
    for (auto& t : clients) t.join();
    const double accepted_s = std::chrono::duration<double>(Clock::now() - t0).count();
    while (count(f.b->store(), "delivered", "status") < n &&
           Clock::now() - t0 < std::chrono::minutes(10)) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (refused > 0 || count(f.a->store(), "delivered", "document") != n ||
        count(f.b->store(), "delivered", "status") != n) {
      state.SkipWithError("not every hand-over completed");
      break;
    }
    state.counters["handovers"] = static_cast<double>(n);
    state.counters["accepted_per_s"] = static_cast<double>(n) / accepted_s;
    state.counters["handovers_per_s"] = static_cast<double>(n) / total_s;
  }
}
BENCHMARK(BM_HandOvers)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace lienthong
