// Signed 10 KB packages accepted durably over HTTP by one node, at several concurrency levels,
// with latency percentiles, next to the cost of verifying one package in process (the bound).
#include <arpa/inet.h>
#include <benchmark/benchmark.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "adapters/edxml/codec.hpp"
#include "app/loopback_http.hpp"
#include "app/node.hpp"
#include "base/encoding.hpp"
#include "base/xml.hpp"
#include "engine/sqlite.hpp"
#include "signing/crypto.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr const char* kH53 = "000.00.11.H53";
constexpr const char* kA53 = "000.00.01.A53";

struct Fixture {
  fs::path dir = fs::temp_directory_path() / ("lt-bench-node-" + std::to_string(::getpid()));
  std::optional<NodeConfig> config;
  std::unique_ptr<Node> node;
  std::vector<std::string> packages;  // unique signed 10 KB packages
  std::atomic<std::size_t> next{0};
  TrustStore trust;

  Fixture() {
    fs::remove_all(dir);
    if (!write_demo_pki(dir / "pki", std::time(nullptr))) throw std::runtime_error("pki");
    std::string agencies;
    for (const char* code : {kH53, kA53}) {
      const std::string p = "pki/" + std::string(code) + "/";
      agencies += std::string("<agency code=\"") + code + "\" name=\"" + code +
                  "\"><signer cert=\"" + p + "signer.pem\"/><organisation cert=\"" + p +
                  "organisation.pem\" key=\"" + p + "organisation.key\"/></agency>";
    }
    const std::string xml = std::string("<node xmlns=\"urn:lienthong:config:1\" id=\"bench\">") +
                            "<listen address=\"127.0.0.1\" port=\"0\"/><store path=\"node.db\"/>" +
                            "<trust><anchor file=\"pki/ca.pem\"/></trust><workflows dir=\"" +
                            LIENTHONG_SOURCE_DIR + "/workflows/definitions\"/><agencies>" +
                            agencies +
                            "</agencies><users><user name=\"clerk\" role=\"clerk\" agency=\"" +
                            kH53 + "\" token-sha256=\"" + sha256_hex("bench-token") +
                            "\"/><user name=\"clerk-a53\" role=\"clerk\" agency=\"" + kA53 +
                            "\" token-sha256=\"" + sha256_hex("bench-a53") + "\"/></users></node>";
    ConfigResult r = load_node_config(xml, (dir / "node.xml").string());
    if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
    config = std::move(*r.config);
    node = std::make_unique<Node>(*config);
    node->start();
    if (!trust.add_anchors_pem(*read_file(dir / "pki" / "ca.pem")))
      throw std::runtime_error("anchor");

    auto sample = decode_edxml(
        *read_file(std::string(LIENTHONG_SOURCE_DIR) + "/tests/data/edxml/edoc_new.edxml"));
    Package p = std::move(*sample);
    p.extra_header.clear();
    p.attachments.front().data = std::string(6000, 'x');
    p.attachments.front().sha256_hex = sha256_hex(p.attachments.front().data);
    auto key =
        load_signing_key(dir / "pki" / kH53 / "signer.key", dir / "pki" / kH53 / "signer.pem");
    // Both signatures, as a document system that signs for the organisation sends them (the node
    // would otherwise add the organisation's to each).
    auto organisation = load_signing_key(dir / "pki" / kH53 / "organisation.key",
                                         dir / "pki" / kH53 / "organisation.pem");
    SignOptions as_organisation;
    as_organisation.role = SignatureRole::organisation;
    // LIENTHONG_BENCH_PACKAGES makes fewer, e.g. for a run under valgrind.
    const char* wanted = std::getenv("LIENTHONG_BENCH_PACKAGES");
    const int count = wanted ? std::atoi(wanted) : 60000;
    packages.reserve(count);
    for (int i = 0; i < count; ++i) {
      p.document.code_number = std::to_string(i);
      p.document.document_id = std::string(kH53) + ",2026/11/23," + std::to_string(i) + "/STC-BCTC";
      packages.push_back(
          *sign_package(*sign_package(encode_edxml(p), *key), *organisation, as_organisation));
    }
  }
  ~Fixture() {
    node.reset();
    fs::remove_all(dir);
  }
};

// CPU seconds used so far by the node's threads, by the names the node gives them.
struct NodeCpu {
  double io = 0, writer = 0;
};
NodeCpu node_cpu() {
  NodeCpu cpu;
  const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream comm_in(task.path() / "comm"), stat_in(task.path() / "stat");
    std::string comm, stat;
    std::getline(comm_in, comm);
    std::getline(stat_in, stat);
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    std::string skip;
    for (int i = 0; i < 11; ++i) fields >> skip;  // state .. cmajflt
    double utime = 0, stime = 0;
    fields >> utime >> stime;
    const double seconds = (utime + stime) / tick;
    if (comm == "lt-io") cpu.io += seconds;
    if (comm == "lt-writer") cpu.writer += seconds;
  }
  return cpu;
}

double thread_cpu_seconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

Fixture& fx() {
  static Fixture f;
  return f;
}

// Each benchmark thread keeps one connection and submits packages nobody submitted before.
void BM_SubmitOverHttp(benchmark::State& state) {
  Fixture& f = fx();
  LoopbackConnection conn(f.node->port());
  const StoreStats before = f.node->store().stats();
  const NodeCpu cpu_before = node_cpu();
  const double client_before = thread_cpu_seconds();
  std::vector<double> latencies;
  for (auto _ : state) {
    const std::size_t i = f.next++;
    if (i >= f.packages.size()) {
      state.SkipWithError("out of prepared packages");
      break;
    }
    auto t0 = Clock::now();
    int status = conn.post("/api/v1/documents", "bench-token", f.packages[i]);
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (status != 202) {
      state.SkipWithError(("status " + std::to_string(status)).c_str());
      break;
    }
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) {
    return latencies.empty() ? 0.0
                             : latencies[static_cast<std::size_t>(q * (latencies.size() - 1))];
  };
  state.counters["p50_ms"] = benchmark::Counter(pct(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_ms"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
  state.counters["packages_per_s"] =
      benchmark::Counter(static_cast<double>(latencies.size()), benchmark::Counter::kIsRate);
  // The load generator runs on the same two cores; its CPU (mostly the kernel's TCP work for
  // 10 KB bodies over loopback) is counted apart from the node's.
  state.counters["client_cpu_us"] = benchmark::Counter(
      (thread_cpu_seconds() - client_before) * 1e6 / std::max<double>(1, latencies.size()),
      benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    const StoreStats after = f.node->store().stats();
    const double groups = static_cast<double>(after.groups - before.groups);
    const double writes = static_cast<double>(after.writes - before.writes);
    state.counters["writes_per_commit"] = groups > 0 ? writes / groups : 0.0;
    // CPU the node spent per accepted package, on its I/O threads (HTTP, parse, decode, verify)
    // and on its writer; two cores divided by their sum is the node's capacity on this machine.
    const NodeCpu cpu_after = node_cpu();
    if (writes > 0) {
      const double io_us = (cpu_after.io - cpu_before.io) * 1e6 / writes;
      const double writer_us = (cpu_after.writer - cpu_before.writer) * 1e6 / writes;
      state.counters["io_cpu_us"] = io_us;
      state.counters["writer_cpu_us"] = writer_us;
      if (io_us + writer_us > 0) state.counters["cpu_bound_per_s"] = 2e6 / (io_us + writer_us);
    }
  }
}
BENCHMARK(BM_SubmitOverHttp)
    ->Threads(1)
    ->Threads(8)
    ->Threads(32)
    ->Threads(64)
    ->Threads(128)
    ->UseRealTime()
    ->MinTime(1.0);

// The same load paced at a fixed total rate (e.g. 70% of the measured maximum): latency under a
// load the node keeps up with. The rate comes from the argument, in packages per second.
void BM_SubmitPaced(benchmark::State& state) {
  Fixture& f = fx();
  LoopbackConnection conn(f.node->port());
  const double per_thread = static_cast<double>(state.range(0)) / state.threads();
  const auto interval = std::chrono::duration<double>(1.0 / per_thread);
  auto next =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(interval * state.thread_index());
  std::vector<double> latencies;
  for (auto _ : state) {
    std::this_thread::sleep_until(next);
    next += std::chrono::duration_cast<Clock::duration>(interval);
    const std::size_t i = f.next++;
    if (i >= f.packages.size()) {
      state.SkipWithError("out of prepared packages");
      break;
    }
    auto t0 = Clock::now();
    if (conn.post("/api/v1/documents", "bench-token", f.packages[i]) != 202) {
      state.SkipWithError("not accepted");
      break;
    }
    latencies.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double q) {
    return latencies.empty() ? 0.0
                             : latencies[static_cast<std::size_t>(q * (latencies.size() - 1))];
  };
  state.counters["p50_ms"] = benchmark::Counter(pct(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_ms"] = benchmark::Counter(pct(0.99), benchmark::Counter::kAvgThreads);
  state.counters["packages_per_s"] =
      benchmark::Counter(static_cast<double>(latencies.size()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_SubmitPaced)->Arg(2500)->Threads(32)->UseRealTime()->MinTime(2.0);

// Clerks acting on tasks: each iteration accepts one registered document's first task.
void BM_TaskActions(benchmark::State& state) {
  Fixture& f = fx();
  static std::atomic<std::int64_t> next_task{1};
  LoopbackConnection conn(f.node->port());
  for (auto _ : state) {
    const std::int64_t task = next_task++;
    if (task > static_cast<std::int64_t>(f.next.load())) {
      state.SkipWithError("no open task left; run the submit benchmarks first");
      break;
    }
    const int status =
        conn.post("/api/v1/tasks/" + std::to_string(task), "bench-a53", "{\"outcome\":\"accept\"}");
    if (status != 200) {
      state.SkipWithError(
          ("task " + std::to_string(task) + " refused with " + std::to_string(status)).c_str());
      break;
    }
  }
  state.counters["actions_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TaskActions)->Threads(16)->UseRealTime()->MinTime(0.5);

long rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  }
  return 0;
}

// Resident memory the node adds for 1,000 open keep-alive connections (each served once).
void BM_ThousandConnections(benchmark::State& state) {
  Fixture& f = fx();
  for (auto _ : state) {
    const long before = rss_kb();
    std::vector<std::unique_ptr<LoopbackConnection>> conns;
    for (int i = 0; i < 1000; ++i) {
      conns.push_back(std::make_unique<LoopbackConnection>(f.node->port()));
      conns.back()->post("/api/v1/nothing", "bench-token", "");
    }
    state.counters["rss_added_mb"] = static_cast<double>(rss_kb() - before) / 1024.0;
    state.counters["process_rss_mb"] = static_cast<double>(rss_kb()) / 1024.0;
  }
}
BENCHMARK(BM_ThousandConnections)->Iterations(1)->UseRealTime();

double process_cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// CPU microseconds per call of `f`, over `n` calls on this thread.
template <class F>
double cpu_us(int n, F&& f) {
  const double t0 = thread_cpu_seconds();
  for (int i = 0; i < n; ++i) f(i);
  return (thread_cpu_seconds() - t0) * 1e6 / n;
}

// The primitive limit of DESIGN.md section 8: the CPU cost of the primitives one accepted and
// delivered document needs at the least (ECDSA P-256 verify and sign, SHA-256 and a libxml2
// parse of the package, one 10 KB row inserted durably in batches, one HTTP exchange of the
// package over loopback, client and server), turned into documents per second on two cores.
void BM_PrimitiveLimit(benchmark::State& state) {
  Fixture& f = fx();
  const std::string& package = f.packages.front();
  auto key =
      load_signing_key(f.dir / "pki" / kH53 / "signer.key", f.dir / "pki" / kH53 / "signer.pem");
  if (!key) return state.SkipWithError("signer key");
  const std::string digest = sha256(package);
  const auto* md = reinterpret_cast<const unsigned char*>(digest.data());
  unsigned char sig[128];
  size_t sig_len = sizeof sig;
  EVP_PKEY_CTX* sign_ctx = EVP_PKEY_CTX_new(key->key.get(), nullptr);
  EVP_PKEY_sign_init(sign_ctx);
  EVP_PKEY_CTX* verify_ctx = EVP_PKEY_CTX_new(X509_get0_pubkey(key->cert.get()), nullptr);
  EVP_PKEY_verify_init(verify_ctx);

  const fs::path db_path = f.dir / "limit.db";
  auto db = sqlite::Db::open(db_path.string());
  if (!db || !db->exec("CREATE TABLE t(id INTEGER PRIMARY KEY, body BLOB NOT NULL)"))
    return state.SkipWithError("sqlite");
  auto insert = db->prepare("INSERT INTO t(body) VALUES(?)");
  if (!insert) return state.SkipWithError(insert.error().message.c_str());
  LoopbackConnection conn(f.node->port());

  for (auto _ : state) {
    const double ecdsa_sign = cpu_us(2000, [&](int) {
      size_t len = sizeof sig;
      EVP_PKEY_sign(sign_ctx, sig, &len, md, digest.size());
    });
    EVP_PKEY_sign(sign_ctx, sig, &sig_len, md, digest.size());
    const double ecdsa_verify = cpu_us(1000, [&](int) {
      if (EVP_PKEY_verify(verify_ctx, sig, sig_len, md, digest.size()) != 1)
        state.SkipWithError("verify");
    });
    const double hash = cpu_us(5000, [&](int) { benchmark::DoNotOptimize(sha256(package)); });
    const double parse =
        cpu_us(2000, [&](int) { benchmark::DoNotOptimize(parse_xml(package, XmlLimits{})); });
    constexpr int kBatch = 32;
    const double insert_row = cpu_us(4000, [&](int i) {
      if (i % kBatch == 0) (void)db->exec("BEGIN");
      insert->bind_blob(1, f.packages[static_cast<std::size_t>(i) % f.packages.size()]);
      (void)insert->run();
      insert->reset();
      if (i % kBatch == kBatch - 1) (void)db->exec("COMMIT");
    });
    const double p0 = process_cpu_seconds();
    constexpr int kExchanges = 2000;
    for (int i = 0; i < kExchanges; ++i) conn.post("/api/v1/nothing", "bench-token", package);
    const double http = (process_cpu_seconds() - p0) * 1e6 / kExchanges;

    const double total = ecdsa_verify + ecdsa_sign + hash + parse + insert_row + http;
    state.counters["ecdsa_verify_us"] = ecdsa_verify;
    state.counters["ecdsa_sign_us"] = ecdsa_sign;
    state.counters["sha256_us"] = hash;
    state.counters["parse_us"] = parse;
    state.counters["insert_row_us"] = insert_row;
    state.counters["http_exchange_us"] = http;
    state.counters["limit_per_s"] = 2e6 / total;
  }
  EVP_PKEY_CTX_free(sign_ctx);
  EVP_PKEY_CTX_free(verify_ctx);
}
BENCHMARK(BM_PrimitiveLimit)->Iterations(1)->UseRealTime();

// The bound: verifying one such package in process (parse, structure, chain, ECDSA, digest).
void BM_VerifyInProcess(benchmark::State& state) {
  Fixture& f = fx();
  VerifyPolicy policy;
  std::size_t i = 0;
  for (auto _ : state) {
    Verdict v = verify_package(f.packages[i++ % 1000], f.trust, policy);
    if (!v.valid()) state.SkipWithError(v.reason.c_str());
  }
  state.counters["per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_VerifyInProcess)->UseRealTime();

}  // namespace
}  // namespace lienthong
