// A package with a 100 MB attachment between two real `lienthong serve` processes over mutual
// TLS: a clerk hands it in at node A, which adds the organisation's signature, stores it and
// delivers it to node B; B's status 01 comes back. The bytes arrive intact, and neither node ever
// held the package in memory more than once (its peak resident memory says so).
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "adapters/edxml/codec.hpp"
#include "app/federation.hpp"
#include "app/loopback_http.hpp"
#include "base/encoding.hpp"
#include "signing/crypto.hpp"
#include "signing/xmldsig.hpp"
#include "tests/app/test_http.hpp"
#include "tests/integration/node_process.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
constexpr const char* kH53 = "000.00.11.H53";
constexpr const char* kA53 = "000.00.01.A53";

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kMeasureMemory = false;  // the sanitizer's shadow memory and quarantine
#else
constexpr bool kMeasureMemory = true;
#endif

json::object get_json(unsigned short port, const std::string& target, const std::string& token) {
  testing::Reply r = testing::http(port, "GET", target, token);
  EXPECT_EQ(r.status, 200) << target << ": " << r.body.substr(0, 300);
  const json::value v = r.status == 200 ? r.json() : json::value();
  return v.is_object() ? v.as_object() : json::object{};
}

TEST(LargePackage, A100MbAttachmentCrossesTwoNodesHeldInMemoryAtMostOnce) {
  const fs::path dir = fs::temp_directory_path() / ("lt-large-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  LoopbackFederation federation(dir, {{"a", {kH53}, 0}, {"b", {kA53}, 0}}, std::time(nullptr));
  for (std::size_t i = 0; i < 2; ++i) {
    ASSERT_TRUE(
        write_file(federation.config_path(i),
                   federation.config_xml(i, LIENTHONG_SOURCE_DIR "/workflows/definitions")));
  }

  // The package: the sample document to one recipient, with 100 MB of attachment, signed by
  // H53's signer only (the node adds the organisation's signature).
  auto sample =
      decode_edxml(*read_file(std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml"));
  ASSERT_TRUE(sample);
  Package p = std::move(*sample);
  p.extra_header.clear();
  p.document.to.resize(1);
  p.document.to[0].organ_id = kA53;
  p.document.document_id = std::string(kH53) + ",2026/12/01,100/STC";
  std::string data(100'000'000, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 7919) >> 5);
  p.attachments.resize(1);
  p.attachments[0].sha256_hex = sha256_hex(data);
  p.attachments[0].data = std::move(data);
  auto key = load_signing_key(dir / "pki" / kH53 / "signer.key", dir / "pki" / kH53 / "signer.pem");
  ASSERT_TRUE(key);
  SignOptions options;
  options.limits.max_bytes = 256 << 20;
  auto package = sign_package(encode_edxml(p), *key, options);
  ASSERT_TRUE(package) << package.error().message;
  p = Package{};
  const std::size_t size = package->size();
  ASSERT_GT(size, 130'000'000u);

  using testing::NodeProcess;
  const NodeProcess a = testing::spawn_node(dir, federation.config_path(0));
  const NodeProcess b = testing::spawn_node(dir, federation.config_path(1));
  const long a_before = testing::proc_status_kib(a.pid, "VmRSS");
  const long b_before = testing::proc_status_kib(b.pid, "VmRSS");

  LoopbackReply posted = loopback_http(a.port, "POST", "/api/v1/documents",
                                       LoopbackFederation::clerk_token(kH53), *package);
  package = std::string();
  ASSERT_EQ(posted.status, 202) << posted.body;
  boost::system::error_code ec;
  const std::int64_t id = json::parse(posted.body, ec).at("id").as_int64();

  // Status 01 back at A means B stored it and its workflow started.
  const std::string target = "/api/v1/documents/" + std::to_string(id);
  json::object at_a;
  for (int i = 0; i < 600; ++i) {
    at_a = get_json(a.port, target, LoopbackFederation::clerk_token(kH53));
    const json::value* latest = at_a.if_contains("latest_status");
    if (latest && latest->is_object() && latest->as_object().contains(kA53)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_TRUE(at_a.contains("latest_status"));
  EXPECT_EQ(at_a.at("latest_status").at(kA53).as_string(), "01");
  EXPECT_GT(at_a.at("size").as_int64(), static_cast<std::int64_t>(size));  // one more signature

  const long a_peak = testing::proc_status_kib(a.pid, "VmHWM");
  const long b_peak = testing::proc_status_kib(b.pid, "VmHWM");

  // B holds exactly the bytes A stored, both signatures included.
  json::object at_b =
      get_json(b.port, "/api/v1/documents/1", LoopbackFederation::clerk_token(kA53));
  EXPECT_EQ(at_b.at("sha256"), at_a.at("sha256"));
  LoopbackReply original = loopback_http(b.port, "GET", "/api/v1/documents/1/original",
                                         LoopbackFederation::clerk_token(kA53));
  ASSERT_EQ(original.status, 200);
  EXPECT_EQ(sha256_hex(original.body), at_a.at("sha256").as_string());

  testing::stop_node(a);
  testing::stop_node(b);
  const long mib = 1024;
  std::cout << "package " << size / (1 << 20) << " MiB; node A resident " << a_before / mib
            << " -> peak " << a_peak / mib << " MiB; node B " << b_before / mib << " -> peak "
            << b_peak / mib << " MiB\n";
  if (kMeasureMemory) {
    // Once is the package plus SQLite's page cache (64 MiB at most) and some slack; twice would
    // be over.
    const long once = static_cast<long>(size / 1024) + 100 * mib;
    EXPECT_LT(a_peak - a_before, once) << "node A held the package more than once";
    EXPECT_LT(b_peak - b_before, once) << "node B held the package more than once";
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lienthong
