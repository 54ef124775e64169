// Auditors' reports on a long history: a store filled with hand-overs over three years
// (2024-2026) between the 500 agencies of a province (the province, 20 departments, 10 districts
// and 469 communes under them), then the yearly report of the whole province and of one agency,
// asked over HTTP from a node that keeps accepting signed documents meanwhile.
//
// LIENTHONG_BENCH_REPORT_HANDOVERS=N hand-overs (10,000,000 by default; the fill takes minutes and
// about 4 GB). LIENTHONG_BENCH_REPORT_DIR=DIR keeps the filled store there and reuses it on the
// next run.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "adapters/edxml/codec.hpp"
#include "app/loopback_http.hpp"
#include "app/node.hpp"
#include "base/encoding.hpp"
#include "engine/audit_log.hpp"
#include "signing/crypto.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
using Steady = std::chrono::steady_clock;

constexpr const char* kH53 = "000.00.11.H53";  // hosted by the node, with A53: they send
constexpr const char* kA53 = "000.00.01.A53";
constexpr const char* kProvince = "000.00.00.H53";
constexpr const char* kOneCommune = "001.07.00.H53";

std::int64_t env_count(const char* name, std::int64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::atoll(v) : fallback;
}

double seconds_since(Steady::time_point t0) {
  return std::chrono::duration<double>(Steady::now() - t0).count();
}

// The province's agencies: code, name, parent.
std::vector<AgencyRecord> province() {
  std::vector<AgencyRecord> out;
  auto add = [&](std::string code, std::string name, std::string parent) {
    AgencyRecord a;
    a.code = std::move(code);
    a.name = std::move(name);
    a.parent = std::move(parent);
    out.push_back(std::move(a));
  };
  char code[32];
  add(kProvince, "UBND tỉnh Tây Ninh", "");
  for (int d = 1; d <= 20; ++d) {
    std::snprintf(code, sizeof code, "000.00.%02d.H53", d + 20);
    add(code, "Sở số " + std::to_string(d), kProvince);
  }
  std::vector<std::string> districts;
  for (int d = 1; d <= 10; ++d) {
    std::snprintf(code, sizeof code, "000.%02d.00.H53", d);
    districts.push_back(code);
    add(code, "UBND huyện số " + std::to_string(d), kProvince);
  }
  for (int c = 1; c <= 469; ++c) {
    std::snprintf(code, sizeof code, "%03d.%02d.00.H53", (c - 1) / 10 + 1, (c - 1) % 10 + 1);
    add(code, "UBND xã số " + std::to_string(c), districts[(c - 1) % 10]);
  }
  return out;
}

// Fills `db` with `n` hand-overs spread evenly over 2024-01-01..2026-12-31 (Vietnam time), each
// written as the node writes one (the hand-over, its audit event, its counts), in transactions of
// 20,000; then stores the Merkle subtrees and signs a checkpoint, as the node would have.
void fill(const std::string& db, std::int64_t n) {
  auto store = open_sqlite_store(db);
  const auto agencies = province();
  if (!store->write_sync([&](StoreTx& tx) -> Expected<void> {
        for (const auto& a : agencies) {
          if (auto r = tx.insert_agency(a); !r) return r;
        }
        return {};
      })) {
    throw std::runtime_error("agencies");
  }
  const Timestamp start = 1704042000;  // 2024-01-01 00:00 +07:00
  const Timestamp span = 3 * 365 * 86400 + 86400;
  const char* types[] = {"1", "2", "3", "4", "5"};
  std::mt19937_64 rng(2026);
  const auto t0 = Steady::now();
  constexpr std::int64_t kBatch = 20000;
  for (std::int64_t done = 0; done < n;) {
    const std::int64_t count = std::min(kBatch, n - done);
    auto r = store->write_sync([&](StoreTx& tx) -> Expected<void> {
      for (std::int64_t i = 0; i < count; ++i) {
        const std::int64_t k = done + i;
        const std::uint64_t x = rng();
        HandOver h;
        h.document = k + 1;
        h.from_agency = agencies[x % agencies.size()].code;
        h.to_agency = agencies[(x >> 16) % agencies.size()].code;
        const unsigned c = (x >> 32) % 100;
        h.channel = c < 96 ? "electronic" : c < 98 ? "electronic+paper" : "paper";
        h.document_type = types[(x >> 40) % 5];
        h.at = start + static_cast<Timestamp>(static_cast<double>(k) / n * span);
        if (auto w = tx.record_hand_over(h); !w) return w;
      }
      return {};
    });
    if (!r) throw std::runtime_error(r.error().message);
    done += count;
    if (done % 1'000'000 == 0 || done == n) {
      std::fprintf(stderr, "filled %lld hand-overs in %.0f s\n", static_cast<long long>(done),
                   seconds_since(t0));
    }
  }
  store.reset();
  AuditLog log(db);
  auto signer = parse_note_signer(*read_file(audit_key_path_for(db)));
  if (!signer) throw std::runtime_error("audit key");
  auto c = log.checkpoint(*signer, "lienthong/bench/audit", std::time(nullptr));
  if (!c) throw std::runtime_error(c.error().message);
  std::fprintf(stderr, "Merkle subtrees stored and checkpoint signed in %.0f s\n",
               seconds_since(t0));
}

struct Fixture {
  fs::path dir;
  bool keep = false;
  std::optional<NodeConfig> config;
  std::unique_ptr<Node> node;
  std::vector<std::string> packages;
  std::atomic<std::size_t> next{0};
  std::int64_t handovers = 0;

  Fixture() {
    const char* kept = std::getenv("LIENTHONG_BENCH_REPORT_DIR");
    keep = kept != nullptr;
    dir = kept ? fs::path(kept)
               : fs::temp_directory_path() / ("lt-bench-report-" + std::to_string(::getpid()));
    handovers = env_count("LIENTHONG_BENCH_REPORT_HANDOVERS", 10'000'000);
    const std::string db = (dir / "node.db").string();
    const bool filled = keep && fs::exists(dir / "filled");
    if (!filled) {
      fs::remove_all(dir);
      fs::create_directories(dir);
      if (!write_demo_pki(dir / "pki", std::time(nullptr))) throw std::runtime_error("pki");
      // The node's checkpoint key, made beforehand so that the fill can sign with it.
      auto signer = generate_note_signer("lienthong/bench/audit");
      if (!signer || !write_file(audit_key_path_for(db), note_signer_text(*signer), true)) {
        throw std::runtime_error("audit key");
      }
      fill(db, handovers);
      if (keep) (void)write_file(dir / "filled", std::to_string(handovers));
    } else {
      handovers = std::atoll(read_file(dir / "filled")->c_str());
    }
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
                            "\"/><user name=\"auditor\" role=\"auditor\" token-sha256=\"" +
                            sha256_hex("bench-auditor") + "\"/></users></node>";
    ConfigResult r = load_node_config(xml, (dir / "node.xml").string());
    if (!r.ok()) throw std::runtime_error(r.diagnostics.front().to_string());
    config = std::move(*r.config);
    node = std::make_unique<Node>(*config);
    node->start();

    auto sample = decode_edxml(
        *read_file(std::string(LIENTHONG_SOURCE_DIR) + "/tests/data/edxml/edoc_new.edxml"));
    Package p = std::move(*sample);
    p.extra_header.clear();
    auto key =
        load_signing_key(dir / "pki" / kH53 / "signer.key", dir / "pki" / kH53 / "signer.pem");
    const int count = static_cast<int>(env_count("LIENTHONG_BENCH_PACKAGES", 20000));
    for (int i = 0; i < count; ++i) {
      p.document.code_number = std::to_string(i);
      p.document.document_id = std::string(kH53) + ",2026/12/01," + std::to_string(i) + "/STC";
      packages.push_back(*sign_package(encode_edxml(p), *key));
    }
  }
  ~Fixture() {
    node.reset();
    if (!keep) fs::remove_all(dir);
  }
};

Fixture& fx() {
  static Fixture f;
  return f;
}

// Clerks keep sending documents while the reports are asked for.
class Load {
 public:
  explicit Load(Fixture& f) : f_(f), thread_([this] { run(); }) {}
  ~Load() {
    stop_ = true;
    thread_.join();
  }
  std::int64_t accepted() const { return accepted_; }

 private:
  void run() {
    LoopbackConnection conn(f_.node->port());
    while (!stop_) {
      const std::size_t i = f_.next++;
      if (i >= f_.packages.size()) return;
      if (conn.post("/api/v1/documents", "bench-token", f_.packages[i]) == 202) ++accepted_;
    }
  }
  Fixture& f_;
  std::atomic<bool> stop_{false};
  std::atomic<std::int64_t> accepted_{0};
  std::thread thread_;
};

void report(benchmark::State& state, const std::string& target) {
  Fixture& f = fx();
  Load load(f);
  const auto t0 = Steady::now();
  std::vector<double> ms;
  std::size_t bytes = 0;
  for (auto _ : state) {
    const auto t = Steady::now();
    LoopbackReply r = loopback_http(f.node->port(), "GET", target, "bench-auditor");
    ms.push_back(std::chrono::duration<double, std::milli>(Steady::now() - t).count());
    if (r.status != 200) {
      state.SkipWithError(("status " + std::to_string(r.status) + ": " + r.body).c_str());
      break;
    }
    bytes = r.body.size();
  }
  std::sort(ms.begin(), ms.end());
  if (!ms.empty()) {
    state.counters["p50_ms"] = ms[ms.size() / 2];
    state.counters["max_ms"] = ms.back();
  }
  state.counters["report_bytes"] = static_cast<double>(bytes);
  state.counters["handovers_in_store"] = static_cast<double>(f.handovers);
  state.counters["accepted_meanwhile_per_s"] =
      static_cast<double>(load.accepted()) / std::max(1e-9, seconds_since(t0));
}

void BM_YearlyReportWholeProvince(benchmark::State& state) {
  report(state, "/api/v1/reports?period=2026&format=json");
}
BENCHMARK(BM_YearlyReportWholeProvince)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_YearlyReportOneCommune(benchmark::State& state) {
  report(state, std::string("/api/v1/reports?period=2026&format=json&agency=") + kOneCommune);
}
BENCHMARK(BM_YearlyReportOneCommune)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_QuarterByTypeAndChannel(benchmark::State& state) {
  report(state, "/api/v1/reports?from=2026-02-14&to=2026-05-20&group_by=type,channel&format=csv");
}
BENCHMARK(BM_QuarterByTypeAndChannel)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace lienthong
