// Full hand-overs between two nodes on this machine: a clerk's signed 10 KB package accepted by A,
// delivered over mutual TLS to node B (verified, stored, handed over to its recipient, whose
// workflow starts) and the recipient's status 01 back at A, signed, verified and stored.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "adapters/edxml/codec.hpp"
#include "app/federation.hpp"
#include "app/loopback_http.hpp"
#include "app/node.hpp"
#include "base/encoding.hpp"
#include "signing/crypto.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kH53 = "000.00.11.H53";  // on node A
constexpr const char* kA53 = "000.00.01.A53";  // on node B

struct Federation {
  fs::path dir = fs::temp_directory_path() / ("lt-bench-federation-" + std::to_string(::getpid()));
  std::optional<LoopbackFederation> federation;
  std::optional<NodeConfig> config_a, config_b;
  std::unique_ptr<Node> a, b;
  std::vector<std::string> packages;

  Federation() {
    fs::remove_all(dir);
    const std::time_t now = std::time(nullptr);
    federation.emplace(dir, std::vector<LoopbackNode>{{"node-a", {kH53}}, {"node-b", {kA53}}}, now);
    a = start(0, config_a);
    b = start(1, config_b);

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

  std::unique_ptr<Node> start(std::size_t i, std::optional<NodeConfig>& config) {
    ConfigResult r = load_node_config(
        federation->config_xml(i, std::string(LIENTHONG_SOURCE_DIR) + "/workflows/definitions"),
        federation->config_path(i));
    if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
    config = std::move(*r.config);
    auto node = std::make_unique<Node>(*config);
    node->start();
    return node;
  }
};

double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto seconds = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return seconds(u.ru_utime) + seconds(u.ru_stime);
}

std::int64_t count(Store& store, const char* state, const char* kind) {
  auto n = store.outbox_count(kind, state);
  return n ? *n : -1;
}

// All prepared packages submitted by 16 clerks' connections at once; the clock stops when the
// last status 01 is stored at node A: node B's outbox shows it delivered, and node A's shows the
// document delivered (a status carried back in the acknowledgement is stored with that record).
void BM_HandOvers(benchmark::State& state) {
  Federation f;
  const auto n = static_cast<std::int64_t>(f.packages.size());
  for (auto _ : state) {
    const double cpu0 = cpu_seconds();
    const auto t0 = Clock::now();
    std::atomic<std::size_t> next{0};
    std::atomic<int> refused{0};
    std::vector<std::thread> clients;
    for (int c = 0; c < 16; ++c) {
      clients.emplace_back([&] {
        LoopbackConnection conn(f.a->port());
        for (std::size_t i; (i = next++) < f.packages.size();) {
          if (conn.post("/api/v1/documents", LoopbackFederation::clerk_token(kH53),
                        f.packages[i]) != 202)
            ++refused;
        }
      });
    }
    for (auto& t : clients) t.join();
    const double accepted_s = std::chrono::duration<double>(Clock::now() - t0).count();
    while ((count(f.b->store(), "delivered", "status") < n ||
            count(f.a->store(), "delivered", "document") < n) &&
           Clock::now() - t0 < std::chrono::minutes(10)) {
      // Each check counts the outbox (a few hundred µs): often enough to stop within 10 ms.
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double cpu_s = cpu_seconds() - cpu0;
    if (refused > 0 || count(f.a->store(), "delivered", "document") != n ||
        count(f.b->store(), "delivered", "status") != n) {
      state.SkipWithError("not every hand-over completed");
      break;
    }
    state.counters["handovers"] = static_cast<double>(n);
    state.counters["accepted_per_s"] = static_cast<double>(n) / accepted_s;
    state.counters["handovers_per_s"] = static_cast<double>(n) / total_s;
    // Both nodes and the clerks' clients: steadier than the rate on a machine shared with others.
    state.counters["cpu_us_per_handover"] = cpu_s * 1e6 / static_cast<double>(n);
    for (auto [name, node] : {std::pair<const char*, Node*>{"a", f.a.get()}, {"b", f.b.get()}}) {
      const StoreStats st = node->store().stats();
      state.counters[std::string(name) + "_commits"] = static_cast<double>(st.groups);
      state.counters[std::string(name) + "_writes_per_commit"] =
          static_cast<double>(st.writes) /
          static_cast<double>(std::max<std::uint64_t>(st.groups, 1));
    }
  }
}
BENCHMARK(BM_HandOvers)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// The latency of one hand-over, from the clerk's POST at A to its status 01 stored back at A,
// with documents arriving at a steady pace (LIENTHONG_BENCH_PACE per second, 300 by default,
// about half the throughput above) rather than all at once. Completion is seen by following A's
// audit log every 2 ms.
void BM_HandOverLatency(benchmark::State& state) {
  Federation f;
  const std::size_t n = f.packages.size();
  const char* wanted = std::getenv("LIENTHONG_BENCH_PACE");
  const double pace = wanted ? std::atof(wanted) : 300.0;
  for (auto _ : state) {
    std::vector<Clock::time_point> sent(n), back(n);
    std::atomic<std::size_t> next{0}, completed{0};
    std::atomic<int> refused{0};
    const auto t0 = Clock::now() + std::chrono::milliseconds(50);
    std::thread watcher([&] {
      std::int64_t seq = 1;
      const auto give_up = Clock::now() + std::chrono::minutes(10);
      while (completed < n && Clock::now() < give_up) {
        auto events = f.a->store().audit_events(seq, 10000);
        const auto now = Clock::now();
        if (events) {
          for (const auto& e : *events) {
            seq = e.seq + 1;
            if (e.action != "status.received") continue;
            // message_id "status|A53|H53,2026/11/23,<i>/STC-BCTC|01|...": <i> is the package.
            const auto from = e.detail.find(",2026/11/23,");
            if (from == std::string::npos) continue;
            const std::size_t i = std::stoul(e.detail.substr(from + 12));
            if (i < n && back[i] == Clock::time_point{}) {
              back[i] = now;
              ++completed;
            }
          }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    std::vector<std::thread> clients;
    for (int c = 0; c < 8; ++c) {
      clients.emplace_back([&] {
        LoopbackConnection conn(f.a->port());
        for (std::size_t i; (i = next++) < n;) {
          std::this_thread::sleep_until(
              t0 + std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(static_cast<double>(i) / pace)));
          sent[i] = Clock::now();
          if (conn.post("/api/v1/documents", LoopbackFederation::clerk_token(kH53),
                        f.packages[i]) != 202) {
            ++refused;
          }
        }
      });
    }
    for (auto& t : clients) t.join();
    watcher.join();
    if (refused > 0 || completed != n) {
      state.SkipWithError("not every hand-over completed");
      break;
    }
    std::vector<double> ms(n);
    for (std::size_t i = 0; i < n; ++i)
      ms[i] = std::chrono::duration<double, std::milli>(back[i] - sent[i]).count();
    std::sort(ms.begin(), ms.end());
    state.counters["pace_per_s"] = pace;
    state.counters["p50_ms"] = ms[n / 2];
    state.counters["p99_ms"] = ms[std::min(n - 1, n * 99 / 100)];
    state.counters["max_ms"] = ms.back();
  }
}
BENCHMARK(BM_HandOverLatency)->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

}  // namespace
}  // namespace lienthong
