#include "adapters/peer/peer_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "adapters/edxml/edxml_codec.hpp"
#include "signing/pki.hpp"

namespace lienthong {
namespace {

using ::testing::HasSubstr;

TEST(PeerBatch, IsSplitIntoItsPackagesOrRefusedSayingWhy) {
  auto parts = split_batch("3\nabc\n0\n\n5\nx\ny\nz\n", 64);
  ASSERT_TRUE(parts) << parts.error().message;
  EXPECT_EQ(*parts, (std::vector<std::string>{"abc", "", "x\ny\nz"}));
  for (const char* bad : {"", "3\nabcd\n", "3\nab", "x\nabc\n", "\nabc\n", "3abc\n"}) {
    auto r = split_batch(bad, 64);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "peer.bad_batch");
  }
  auto too_many = split_batch("1\na\n1\nb\n1\nc\n", 2);
  ASSERT_FALSE(too_many);
  EXPECT_THAT(too_many.error().message, HasSubstr("at most 2"));
}

// The request log names the status the peer was sent: for an answer finished on the connection's
// thread (where owed statuses are signed, and a failure turns it 503), only once it is finished.
TEST(PeerApi, LogsTheStatusOnceTheAnswerIsFinished) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("lt-peer-api-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    auto store = open_sqlite_store((dir / "node.db").string());
    TrustStore trust;
    Directory directory;
    EdxmlCodec codec;
    ManualClock clock{1795395600};
    Intake intake(*store, codec, trust, directory, clock, IntakePolicy{});
    Pkey key = generate_key(KeyType::ec_p256);
    CertSpec spec;
    spec.common_name = "node-x";
    spec.not_after = 1795395600 + 86400;
    Cert cert = issue_certificate(spec, key.get(), nullptr, key.get());
    PeerIdentities peers;
    ASSERT_TRUE(peers.add("node-x", to_pem(cert.get())));
    std::vector<std::string> lines;
    PeerApi api(PeerApiContext{
        "node-a", intake, peers, {}, [&](const std::string& line) { lines.push_back(line); }});

    HttpRequest req;
    req.method = "POST";
    req.target = "/peer/v1/packages";
    req.body = "<not edXML";
    req.client_certificate_der = to_der(cert.get());
    std::optional<HttpResponse> answer;
    api.handle(std::move(req), [&](HttpResponse r) { answer = std::move(r); });
    ASSERT_TRUE(answer);
    ASSERT_TRUE(answer->finish);
    EXPECT_TRUE(lines.empty());
    answer->finish(*answer);
    EXPECT_EQ(answer->status, 400);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_THAT(lines[0], HasSubstr("\"peer\":\"node-x\""));
    EXPECT_THAT(lines[0], HasSubstr("\"status\":400"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lienthong
