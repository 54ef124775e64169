// `lienthong send` and `lienthong status`, the real executable against a real node on a loopback
// port (and against a small TLS server for https://).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include "app/federation.hpp"
#include "app/node.hpp"
#include "base/encoding.hpp"
#include "signing/pki.hpp"
#include "signing/xmldsig.hpp"
#include "test_cli.hpp"
#include "test_http.hpp"

namespace lienthong {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;
using testing::http;

constexpr const char* kH53 = "000.00.11.H53";
constexpr const char* kA53 = "000.00.01.A53";
constexpr const char* kG22 = "000.00.00.G22";

using testing::run_cli;

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

const std::string kSample = std::string(LIENTHONG_TEST_DATA) + "/edxml/edoc_new.edxml";

class ClientCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lt-client-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(write_demo_pki(dir_ / "pki", clock_.now()));
    const std::string agencies = testing::demo_agencies_xml({kH53, kA53, kG22});
    auto user = [](const char* name, const char* agency) {
      return std::string("<user name=\"") + name + "\" role=\"clerk\" agency=\"" + agency +
             "\" token-sha256=\"" + sha256_hex(std::string("token-") + name) + "\"/>";
    };
    const std::string xml =
        std::string("<node xmlns=\"urn:lienthong:config:1\" id=\"test-node\">") +
        "<listen address=\"127.0.0.1\" port=\"0\"/><store path=\"node.db\"/>" +
        "<trust><anchor file=\"pki/ca.pem\"/></trust><workflows dir=\"" +
        std::string(LIENTHONG_SOURCE_DIR) + "/workflows/definitions\"/><agencies>" + agencies +
        "</agencies><users>" + user("clerk-h53", kH53) + user("clerk-a53", kA53) +
        "</users></node>";
    ConfigResult r = load_node_config(xml, (dir_ / "node.xml").string());
    ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].to_string());
    config_ = std::move(*r.config);
    node_ = std::make_unique<Node>(*config_, clock_);
    node_->start();
    url_ = "http://127.0.0.1:" + std::to_string(node_->port());
  }
  void TearDown() override {
    node_.reset();
    fs::remove_all(dir_);
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  // `command` with the node's URL and `token`, then `rest`.
  std::string with(const std::string& command, const std::string& token,
                   const std::string& rest) const {
    return command + " --server " + url_ + " --token " + token + " " + rest;
  }
  // The same as H53's clerk.
  std::string h53(const std::string& command, const std::string& rest) const {
    return with(command, "token-clerk-h53", rest);
  }
  std::string signer_key() const {
    return "--key " + path("pki/000.00.11.H53/signer.key") + " --cert " +
           path("pki/000.00.11.H53/signer.pem") + " ";
  }
  // The sample signed by H53's signer and organisation, written to `name`.
  std::string fully_signed(const std::string& name) {
    const fs::path p = dir_ / "pki" / kH53;
    auto signer = load_signing_key(p / "signer.key", p / "signer.pem");
    auto organisation = load_signing_key(p / "organisation.key", p / "organisation.pem");
    auto one = sign_package(*read_file(kSample), *signer);
    SignOptions o;
    o.role = SignatureRole::organisation;
    auto two = sign_package(*one, *organisation, o);
    EXPECT_TRUE(two);
    EXPECT_TRUE(write_file(path(name), *two));
    return path(name);
  }
  json::value status_json(const std::string& id) {
    testing::CliRun r = run_cli(h53("status", "--json " + id));
    EXPECT_EQ(r.exit_code, 0) << r.out;
    boost::system::error_code ec;
    json::value v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << r.out;
    return v;
  }

  fs::path dir_;
  ManualClock clock_{static_cast<std::int64_t>(std::time(nullptr))};
  std::optional<NodeConfig> config_;
  std::unique_ptr<Node> node_;
  std::string url_;
};

TEST_F(ClientCli, SendsASignedPackageOnceAndThenReportsItHeld) {
  const std::string file = fully_signed("signed.edxml");
  testing::CliRun sent = run_cli(h53("send", file));
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  EXPECT_EQ(sent.out,
            "accepted: document 1 (message id "
            "document|000.00.11.H53|000.00.11.H53,2020/10/30,2491/STC-BCTC|0)\n");
  testing::CliRun again = run_cli(h53("send", file));
  EXPECT_EQ(again.exit_code, 0) << again.out;
  EXPECT_EQ(again.out, "already held: document 1\n");
  testing::CliRun json_out = run_cli(h53("send", "--json " + file));
  EXPECT_EQ(json_out.exit_code, 0) << json_out.out;
  json::value v = json::parse(json_out.out);
  EXPECT_EQ(v.at("id").as_int64(), 1);
  EXPECT_TRUE(v.at("duplicate").as_bool());
  // From standard input, over the token in the environment.
  testing::CliRun piped =
      run_cli("send --server http://127.0.0.1:" + std::to_string(node_->port()) + " - < " + file +
              " 2>&1; LIENTHONG_TOKEN=token-clerk-h53 " + LIENTHONG_BIN +
              " send --server http://127.0.0.1:" + std::to_string(node_->port()) + " - < " + file);
  EXPECT_TRUE(has(piped.out, "missing --token TOKEN (or LIENTHONG_TOKEN)")) << piped.out;
  EXPECT_TRUE(has(piped.out, "already held: document 1\n")) << piped.out;
}

TEST_F(ClientCli, SignsAsTheSignerWithKeyAndCert) {
  testing::CliRun sent = run_cli(h53("send", signer_key() + kSample));
  // The node adds the organisation's signature (or, before it did, took the signer's alone); a
  // node that wants both refuses with a line that says so.
  ASSERT_TRUE(sent.exit_code == 0 || sent.exit_code == 1) << sent.out;
  if (sent.exit_code == 0) {
    EXPECT_TRUE(has(sent.out, "accepted: document 1 (message id document|000.00.11.H53|"))
        << sent.out;
    auto original = http(node_->port(), "GET", "/api/v1/documents/1/original", "token-clerk-h53");
    EXPECT_TRUE(has(original.body, "xmldsig")) << original.body.substr(0, 300);
  } else {
    EXPECT_EQ(sent.out.rfind("refused: ", 0), 0u) << sent.out;
    EXPECT_TRUE(has(sent.out, "organisation") || has(sent.out, "organization")) << sent.out;
  }
  // A key that does not belong to the certificate is the clerk's mistake, before any request.
  testing::CliRun wrong =
      run_cli(h53("send", "--key " + path("pki/000.00.11.H53/signer.key") + " --cert " +
                              path("pki/000.00.11.H53/organisation.pem") + " " + kSample));
  EXPECT_EQ(wrong.exit_code, 2) << wrong.out;
  EXPECT_TRUE(has(wrong.out, "lienthong send: ")) << wrong.out;
}

TEST_F(ClientCli, ToReplacesTheRecipientsBeforeSigning) {
  testing::CliRun sent = run_cli(h53(
      "send", signer_key() + "--to " + kG22 + " --to " + kA53 + " --to " + kG22 + " " + kSample));
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  json::value d = status_json("1");
  EXPECT_EQ(d.at("recipients"), (json::array{kG22, kA53}));
  testing::CliRun text = run_cli(h53("status", "1"));
  EXPECT_EQ(text.exit_code, 0) << text.out;
  EXPECT_TRUE(has(text.out, "  to:          000.00.00.G22\n  to:          000.00.01.A53\n"))
      << text.out;
}

TEST_F(ClientCli, UsageAndInputErrorsNameTheirCause) {
  testing::CliRun bad =
      run_cli(h53("send", signer_key() + "--to 000.00.01.A53 --to 12-x " + kSample));
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(has(bad.out, "--to '12-x'")) << bad.out;
  testing::CliRun unsigned_to = run_cli(h53("send", "--to 000.00.01.A53 " + kSample));
  EXPECT_EQ(unsigned_to.exit_code, 2);
  EXPECT_TRUE(has(unsigned_to.out, "--key")) << unsigned_to.out;
  testing::CliRun half =
      run_cli(h53("send", "--key " + path("pki/000.00.11.H53/signer.key") + " " + kSample));
  EXPECT_EQ(half.exit_code, 2);
  EXPECT_TRUE(has(half.out, "give --key and --cert together")) << half.out;
  testing::CliRun missing = run_cli(h53("send", path("none.edxml")));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_TRUE(has(missing.out, "none.edxml")) << missing.out;
  testing::CliRun status_packet =
      run_cli(h53("send", signer_key() + "--to " + kA53 + " " + std::string(LIENTHONG_TEST_DATA) +
                              "/edxml/status_processing_05.edxml"));
  EXPECT_EQ(status_packet.exit_code, 2);
  EXPECT_TRUE(has(status_packet.out, "status packet")) << status_packet.out;
  // Nothing reached the node.
  EXPECT_EQ(run_cli(h53("status", "--agency 000.00.11.H53")).out,
            "no documents sent by 000.00.11.H53\n");
}

TEST_F(ClientCli, TheNodeRefusingIsExitOneWithItsCodeAndMessage) {
  const std::string file = fully_signed("signed.edxml");
  testing::CliRun token = run_cli(with("send", "not-a-token", file));
  EXPECT_EQ(token.exit_code, 1) << token.out;
  EXPECT_EQ(token.out, "refused: auth.invalid: the token is not valid (HTTP 401)\n");
  testing::CliRun other =
      run_cli(with("send", "token-clerk-a53", file));  // A53's clerk sends as H53
  EXPECT_EQ(other.exit_code, 1) << other.out;
  EXPECT_TRUE(has(other.out, "refused: intake.not_your_agency: ")) << other.out;
  testing::CliRun json_out = run_cli(with("send", "token-clerk-a53", "--json " + file));
  EXPECT_EQ(json_out.exit_code, 1);
  EXPECT_EQ(json::parse(json_out.out).at("error").at("code").as_string(), "intake.not_your_agency");
  testing::CliRun status = run_cli(with("status", "not-a-token", "1"));
  EXPECT_EQ(status.exit_code, 1);
  EXPECT_TRUE(has(status.out, "auth.invalid")) << status.out;
}

TEST_F(ClientCli, ANodeThatCannotBeReachedIsExitTwoNamingIt) {
  const std::string url = "http://127.0.0.1:" + std::to_string(free_loopback_port());
  testing::CliRun r = run_cli("send --server " + url + " --token t " + kSample);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(has(r.out, "lienthong send: cannot connect to " + url + ": ")) << r.out;
  testing::CliRun s = run_cli("status --server " + url + " --token t 1");
  EXPECT_EQ(s.exit_code, 2);
  EXPECT_TRUE(has(s.out, url)) << s.out;

  // A server that takes the connection and never answers: the read times out.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string silent = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const auto started = std::chrono::steady_clock::now();
  testing::CliRun t = run_cli("status --timeout 1 --server " + silent + " --token t 1");
  ::close(fd);
  EXPECT_EQ(t.exit_code, 2);
  EXPECT_TRUE(has(t.out, silent + ": reading the answer: timed out after 1 s")) << t.out;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(8));
}

TEST_F(ClientCli, StatusOfADocumentInTextAndJson) {
  ASSERT_EQ(run_cli(h53("send", fully_signed("signed.edxml"))).exit_code, 0);
  // The recipient accepts it; its status goes back to the sender.
  auto inbox =
      http(node_->port(), "GET", "/api/v1/agencies/000.00.01.A53/inbox", "token-clerk-a53");
  const auto task = inbox.json().at("tasks").as_array().at(0).at("id").as_int64();
  ASSERT_EQ(http(node_->port(), "POST", "/api/v1/tasks/" + std::to_string(task), "token-clerk-a53",
                 R"({"outcome":"accept"})")
                .status,
            200);
  node_->run_background_once();

  testing::CliRun text = run_cli(h53("status", "1"));
  ASSERT_EQ(text.exit_code, 0) << text.out;
  EXPECT_EQ(text.out.rfind("document 1 (document)\n", 0), 0u) << text.out;
  EXPECT_TRUE(has(text.out, "  document id: 000.00.11.H53,2020/10/30,2491/STC-BCTC\n")) << text.out;
  EXPECT_TRUE(has(text.out, "  from:        000.00.11.H53\n")) << text.out;
  EXPECT_TRUE(has(text.out, "status by recipient:\n  000.00.01.A53  03 accepted\n")) << text.out;
  EXPECT_TRUE(has(text.out, "history:\n")) << text.out;
  EXPECT_TRUE(has(text.out, "  clerk-h53  document.received  (000.00.11.H53)\n")) << text.out;

  json::value d = status_json("1");
  EXPECT_EQ(d.at("id").as_int64(), 1);
  EXPECT_EQ(d.at("latest_status").at(kA53).as_string(), "03");

  testing::CliRun absent = run_cli(h53("status", "99"));
  EXPECT_EQ(absent.exit_code, 1);
  EXPECT_EQ(absent.out, "lienthong status: document.not_found: no document 99 (HTTP 404)\n");
  EXPECT_EQ(run_cli(h53("status", "--json 99")).exit_code, 1);
  testing::CliRun bad_id = run_cli(h53("status", "0"));
  EXPECT_EQ(bad_id.exit_code, 2);
  EXPECT_TRUE(has(bad_id.out, "a document ID is a positive whole number")) << bad_id.out;
}

TEST_F(ClientCli, StatusOfAnAgencyIsATableOfWhatItSent) {
  testing::CliRun sent =
      run_cli(h53("send", signer_key() + "--to " + kA53 + " --to " + kG22 + " " + kSample));
  ASSERT_EQ(sent.exit_code, 0) << sent.out;
  // Both recipients report 01 (arrived); A53 then accepts it (03). Rows follow the node's order.
  node_->run_background_once();
  auto inbox =
      http(node_->port(), "GET", "/api/v1/agencies/000.00.01.A53/inbox", "token-clerk-a53");
  const auto task = inbox.json().at("tasks").as_array().at(0).at("id").as_int64();
  ASSERT_EQ(http(node_->port(), "POST", "/api/v1/tasks/" + std::to_string(task), "token-clerk-a53",
                 R"({"outcome":"accept"})")
                .status,
            200);
  node_->run_background_once();

  testing::CliRun table = run_cli(h53("status", "--agency 000.00.11.H53"));
  ASSERT_EQ(table.exit_code, 0) << table.out;
  const std::string sent_at = format_utc(clock_.now());
  const std::string document_id = "000.00.11.H53,2020/10/30,2491/STC-BCTC";
  auto spaces = [](std::size_t n) { return std::string(n, ' '); };
  EXPECT_EQ(table.out,
            "documents sent by 000.00.11.H53, newest first\n"
            "ID  SENT" +
                spaces(18) + "DOCUMENT ID" + spaces(29) + "RECIPIENT" + spaces(6) + "STATUS" +
                spaces(7) + "SUBJECT\n" + "1   " + sent_at + "  " + document_id +
                "  000.00.00.G22  01 arrived   " + "Báo cáo tài chính tỉnh\n" + spaces(66) +
                "000.00.01.A53  03 accepted\n")
      << table.out;
  testing::CliRun limited = run_cli(h53("status", "--json --agency 000.00.11.H53 --limit 1"));
  EXPECT_EQ(limited.exit_code, 0);
  EXPECT_EQ(json::parse(limited.out).at("documents").as_array().size(), 1u);
  testing::CliRun other = run_cli(h53("status", "--agency 000.00.01.A53"));
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_TRUE(has(other.out, "auth.forbidden")) << other.out;
  EXPECT_EQ(run_cli(h53("status", "--agency 000.00.11.H53 --limit 501")).exit_code, 2);
  EXPECT_EQ(run_cli(h53("status", "--agency nope")).exit_code, 2);
  EXPECT_EQ(run_cli(h53("status", "--agency 000.00.11.H53 1")).exit_code, 2);
}

// One canned HTTP answer over TLS to every connection, with a certificate for IP 127.0.0.1 issued
// by the demo CA; the last request it read is kept.
class TlsServer {
 public:
  TlsServer(const fs::path& pki, std::string answer) : answer_(std::move(answer)) {
    auto ca = load_certificates_pem(*read_file(pki / "ca.pem"));
    auto ca_key = load_private_key_pem(*read_file(pki / "ca.key"));
    key_ = generate_key(KeyType::ec_p256);
    CertSpec spec;
    spec.common_name = "tls-test";
    spec.not_before = std::time(nullptr) - 86400;
    spec.not_after = std::time(nullptr) + 86400;
    spec.serial = 777;
    spec.subject_alt_names = {"IP:127.0.0.1"};
    spec.extended_key_usage = "serverAuth";
    cert_ = issue_certificate(spec, key_.get(), ca->front().get(), ca_key->get());
    ctx_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(ctx_, cert_.get());
    SSL_CTX_use_PrivateKey(ctx_, key_.get());
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 8), 0);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  unsigned short port() const { return port_; }
  std::string last_request() {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      SSL* ssl = SSL_new(ctx_);
      SSL_set_fd(ssl, c);
      if (SSL_accept(ssl) == 1) {
        std::string request;
        char buf[4096];
        while (request.find("\r\n\r\n") == std::string::npos) {
          const int n = SSL_read(ssl, buf, sizeof buf);
          if (n <= 0) break;
          request.append(buf, static_cast<std::size_t>(n));
        }
        {
          std::lock_guard lock(mutex_);
          last_ = request;
        }
        const std::string response =
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            "Connection: close\r\nContent-Length: " +
            std::to_string(answer_.size()) + "\r\n\r\n" + answer_;
        SSL_write(ssl, response.data(), static_cast<int>(response.size()));
        SSL_shutdown(ssl);
      }
      SSL_free(ssl);
      ::close(c);
    }
  }

  std::string answer_;
  Pkey key_;
  Cert cert_;
  SSL_CTX* ctx_ = nullptr;
  int fd_ = -1;
  unsigned short port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::string last_;
  std::thread thread_;
};

TEST_F(ClientCli, HttpsChecksTheCertificateAgainstTheCaAndTheHost) {
  TlsServer tls(dir_ / "pki",
                R"({"agency":"000.00.11.H53","documents":[{"id":7,"document_id":"D-7",)"
                R"("subject":"over TLS","sent_at":0,"latest_status":{"000.00.01.A53":"05"}}]})");
  const std::string port = std::to_string(tls.port());
  const std::string ca = " --ca " + path("pki/ca.pem");
  testing::CliRun ok = run_cli(
      "status --agency 000.00.11.H53 --token tls-token --server https://127.0.0.1:" + port + ca);
  ASSERT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_TRUE(has(ok.out, "7   -     D-7          000.00.01.A53  05 processing  over TLS\n"))
      << ok.out;
  EXPECT_EQ(tls.last_request().rfind("GET /api/v1/agencies/000.00.11.H53/outbox HTTP/1.1\r\n", 0),
            0u)
      << tls.last_request();
  EXPECT_TRUE(has(tls.last_request(), "Authorization: Bearer tls-token\r\n")) << tls.last_request();

  // The certificate names 127.0.0.1, not localhost.
  testing::CliRun host =
      run_cli("status --agency 000.00.11.H53 --token t --server https://localhost:" + port + ca);
  EXPECT_EQ(host.exit_code, 2);
  EXPECT_TRUE(has(host.out, "https://localhost:" + port + ": TLS handshake failed: ")) << host.out;
  EXPECT_TRUE(has(host.out, "mismatch")) << host.out;
  // Another CA does not vouch for it, nor do the system's.
  ASSERT_TRUE(write_demo_pki(dir_ / "other", std::time(nullptr)));
  testing::CliRun other =
      run_cli("status --agency 000.00.11.H53 --token t --server https://127.0.0.1:" + port +
              " --ca " + path("other/ca.pem"));
  EXPECT_EQ(other.exit_code, 2);
  EXPECT_TRUE(has(other.out, "https://127.0.0.1:" + port + ": TLS handshake failed: "))
      << other.out;
  testing::CliRun untrusted =
      run_cli("status --agency 000.00.11.H53 --token t --server https://127.0.0.1:" + port);
  EXPECT_EQ(untrusted.exit_code, 2);
  EXPECT_TRUE(has(untrusted.out, "TLS handshake failed")) << untrusted.out;
  testing::CliRun no_ca = run_cli("status --agency 000.00.11.H53 --token t --ca " +
                                  path("none.pem") + " --server https://127.0.0.1:" + port);
  EXPECT_EQ(no_ca.exit_code, 2);
  EXPECT_TRUE(has(no_ca.out, "none.pem")) << no_ca.out;
}

}  // namespace
}  // namespace lienthong
