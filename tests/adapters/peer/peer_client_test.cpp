#include "adapters/peer/peer_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <mutex>
#include <thread>

#include "adapters/http_api/server.hpp"
#include "signing/crypto.hpp"
#include "signing/pki.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Certificates for two nodes and an outsider, written as PEM files.
class PeerTls : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-peer-tls-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const std::time_t now = std::time(nullptr);
    ca_ = make("Lienthong test CA", now - 86400, now + 86400 * 365, true, nullptr, nullptr, "ca");
    make("node-b", now - 86400, now + 86400 * 30, false, ca_.cert.get(), ca_.key.get(), "b",
         {"DNS:localhost", "IP:127.0.0.1"});
    make("node-b", now - 86400, now + 86400 * 30, false, ca_.cert.get(), ca_.key.get(),
         "b-unnamed");
    make("node-a", now - 86400, now + 86400 * 30, false, ca_.cert.get(), ca_.key.get(), "a");
    make("node-b", now - 86400 * 60, now - 86400, false, ca_.cert.get(), ca_.key.get(), "b-expired",
         {"IP:127.0.0.1"});
    SigningKey other =
        make("Other CA", now - 86400, now + 86400, true, nullptr, nullptr, "other-ca");
    make("node-x", now - 86400, now + 86400, false, other.cert.get(), other.key.get(), "x");
  }
  void TearDown() override {
    if (server_) server_->stop(0ms);
    fs::remove_all(dir_);
  }

  SigningKey make(const std::string& cn, std::time_t from, std::time_t to, bool ca, X509* issuer,
                  EVP_PKEY* issuer_key, const std::string& name,
                  std::vector<std::string> names = {}) {
    SigningKey k;
    k.key = generate_key(KeyType::ec_p256);
    CertSpec spec;
    spec.common_name = cn;
    spec.is_ca = ca;
    spec.not_before = from;
    spec.not_after = to;
    spec.serial = ++serial_;
    spec.subject_alt_names = std::move(names);
    if (!ca) spec.extended_key_usage = "serverAuth,clientAuth";
    k.cert = issue_certificate(spec, k.key.get(), issuer, issuer_key ? issuer_key : k.key.get());
    EXPECT_TRUE(write_file(file(name + ".pem"), to_pem(k.cert.get())));
    EXPECT_TRUE(write_file(file(name + ".key"), to_pem(k.key.get())));
    return k;
  }
  std::string file(const std::string& name) const { return (dir_ / name).string(); }

  // Node B's peering listener: mutual TLS, client certificates from the test CA.
  // The server counts a refused handshake on its own thread, after its alert is on the way: the
  // client may see the refusal first.
  bool refused_eventually() {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (server_->stats().tls_refused == 0) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return true;
  }

  void serve(HttpResponse answer, const std::string& cert = "b") {
    server_ = std::make_unique<HttpServer>(
        "127.0.0.1", 0, HttpLimits{},
        [this, answer](HttpRequest&& r, Responder respond) {
          {
            std::lock_guard lock(mutex_);
            seen_.push_back(std::move(r));
          }
          respond(answer);
        },
        1, TlsOptions{file(cert + ".pem"), file(cert + ".key"), file("ca.pem")});
    server_->start();
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }

  PeerClient client(const std::string& trust, const std::string& as = "a",
                    std::string address = {}) {
    return PeerClient(PeerClientOptions{file(as + ".pem"), file(as + ".key"), 2s, 5s},
                      {PeerEndpoint{"node-b", address.empty() ? url() : address, file(trust)}});
  }

  static HttpResponse accepted(int id) {
    HttpResponse r;
    r.status = 202;
    r.body = "{\"id\":" + std::to_string(id) + ",\"duplicate\":false}";
    return r;
  }

  fs::path dir_;
  long serial_ = 0;
  SigningKey ca_;
  std::unique_ptr<HttpServer> server_;
  std::mutex mutex_;
  std::vector<HttpRequest> seen_;
};

TEST_F(PeerTls, DeliversOverMutualTlsAndTheServerSeesTheClientCertificate) {
  serve(accepted(7));
  PeerClient c = client("b.pem");  // node B's own certificate, pinned
  auto first = c.deliver("node-b", "<edXML>one</edXML>", false);
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->id, "7");
  auto second = c.deliver("node-b", "<edXML>two</edXML>", false);
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(server_->stats().accepted, 1u);  // the connection was kept alive
  std::lock_guard lock(mutex_);
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].target, "/peer/v1/packages");
  EXPECT_EQ(seen_[0].method, "POST");
  EXPECT_EQ(seen_[1].body, "<edXML>two</edXML>");
  auto a = load_certificates_pem(*read_file(file("a.pem")));
  auto presented = load_certificate_der(seen_[0].client_certificate_der);
  ASSERT_TRUE(presented);
  EXPECT_EQ(cert_fingerprint_sha256(presented->get()), cert_fingerprint_sha256(a->front().get()));
}

TEST_F(PeerTls, ACaAsTrustChecksTheHostNameOrAddress) {
  serve(accepted(1));
  const std::string port = std::to_string(server_->port());
  EXPECT_TRUE(client("ca.pem").deliver("node-b", "x", false));
  EXPECT_TRUE(client("ca.pem", "a", "https://localhost:" + port).deliver("node-b", "x", false));
  server_->stop(0ms);
  // Issued by the same CA, but naming no host: not the node at this address.
  serve(accepted(1), "b-unnamed");
  auto wrong = client("ca.pem").deliver("node-b", "x", false);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "peer.tls") << wrong.error().message;
}

TEST_F(PeerTls, ANodeOtherThanThePinnedOneIsRefused) {
  serve(accepted(1));
  auto r = client("a.pem").deliver("node-b", "x", false);  // expects node A's certificate
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "peer.tls") << r.error().message;
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(seen_.empty());
}

TEST_F(PeerTls, AnExpiredServerCertificateIsRefused) {
  serve(accepted(1), "b-expired");
  auto r = client("ca.pem").deliver("node-b", "x", false);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "peer.tls");
  EXPECT_NE(r.error().message.find("expired"), std::string::npos) << r.error().message;
}

TEST_F(PeerTls, AClientCertificateFromAnotherCaNeverReachesTheHandler) {
  serve(accepted(1));
  auto r = client("b.pem", "x").deliver("node-b", "x", false);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.error().code == "peer.tls" || r.error().code == "peer.unreachable")
      << r.error().code << ": " << r.error().message;
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(seen_.empty());
  EXPECT_TRUE(refused_eventually());
}

TEST_F(PeerTls, PlainHttpToThePeeringPortGetsNoAnswer) {
  serve(accepted(1));
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval watchdog{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &watchdog, sizeof watchdog);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(server_->port());
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  const std::string request =
      "POST /peer/v1/packages HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(request.size()));
  char buf[512];
  std::string got;
  for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) got.append(buf, n);
  ::close(fd);
  EXPECT_EQ(got.find("HTTP/1.1"), std::string::npos) << got;  // at most a TLS alert
  std::lock_guard lock(mutex_);
  EXPECT_TRUE(seen_.empty());
  EXPECT_TRUE(refused_eventually());
}

TEST_F(PeerTls, AnswersMapToFinalRefusalsOrRetries) {
  serve(json_error(422, "signature.digest_mismatch", "the signed content was altered"));
  auto refused = client("b.pem").deliver("node-b", "x", false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "peer.refused");
  EXPECT_NE(refused.error().message.find("422 signature.digest_mismatch"), std::string::npos)
      << refused.error().message;
  server_->stop(0ms);

  serve(json_error(503, "store.unavailable", "try later"));
  auto busy = client("b.pem").deliver("node-b", "x", false);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, "peer.unavailable");
  const std::string gone = url();
  server_->stop(0ms);

  auto unreachable = client("b.pem", "a", gone).deliver("node-b", "x", false);
  ASSERT_FALSE(unreachable);
  EXPECT_EQ(unreachable.error().code, "peer.unreachable") << unreachable.error().message;
  EXPECT_EQ(client("b.pem").deliver("node-c", "x", false).error().code, "peer.unknown");
}

TEST_F(PeerTls, BadConfigurationIsAStartupError) {
  EXPECT_THROW(PeerClient(PeerClientOptions{file("a.pem"), file("a.key")},
                          {PeerEndpoint{"node-b", "http://127.0.0.1:1", file("b.pem")}}),
               std::runtime_error);
  EXPECT_THROW(PeerClient(PeerClientOptions{file("a.pem"), file("missing.key")},
                          {PeerEndpoint{"node-b", "https://127.0.0.1:1", file("b.pem")}}),
               std::runtime_error);
  EXPECT_THROW(HttpServer(
                   "127.0.0.1", 0, HttpLimits{}, [](HttpRequest&&, Responder) {}, 1,
                   TlsOptions{file("b.pem"), file("b.key"), file("missing.pem")}),
               std::runtime_error);
}

}  // namespace
}  // namespace lienthong
