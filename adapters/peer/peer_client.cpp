#include "adapters/peer/peer_client.hpp"

// Boost 1.81's Asio coroutine headers use std::exchange without including <utility> (g++ 12).
#include <utility>

#include <mutex>
#include <optional>
#include <stdexcept>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/span_body.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/json.hpp>

#include "adapters/http_api/tls_identity.hpp"
#include "base/http_url.hpp"
#include "signing/crypto.hpp"

namespace lienthong {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::uint64_t kMaxAnswer = 1 << 20;

}  // namespace

class PeerClient::Peer {
 public:
  Peer(const PeerEndpoint& endpoint, const PeerClientOptions& options)
      : id_(endpoint.id), options_(options), ctx_(net::ssl::context::tls_client) {
    auto url = parse_http_url(endpoint.url);
    if (!url || !url->tls) {
      throw std::runtime_error("peer URL '" + endpoint.url +
                               "': " + (url ? "only https:// is allowed" : url.error().message));
    }
    url_ = *url;
    target_ = url_.prefix + "/peer/v1/packages";
    batch_target_ = url_.prefix + "/peer/v1/batches";
    host_header_ = url_.host_header();
    set_tls_identity(ctx_, options.cert_file, options.key_file, "peer " + id_);
    auto pem = read_file(endpoint.trust_file);
    if (!pem) throw std::runtime_error("peer " + id_ + ": " + pem.error().message);
    auto certs = load_certificates_pem(*pem);
    if (!certs || certs->empty()) {
      throw std::runtime_error("peer " + id_ + ": " + endpoint.trust_file +
                               " holds no certificate");
    }
    X509_STORE* store = SSL_CTX_get_cert_store(ctx_.native_handle());
    for (const auto& c : *certs) X509_STORE_add_cert(store, c.get());
    if (X509_check_ca(certs->front().get()) == 0) {
      // The peer's own certificate, pinned: it is the anchor, and nothing else will do.
      pinned_ = cert_fingerprint_sha256(certs->front().get());
      X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
    }
    ctx_.set_verify_mode(net::ssl::verify_peer);
    add_revocation_lists(ctx_, options.crl_files, "peer " + id_);
  }

  // Safe from several threads at once: each call takes a kept-alive connection of its own (or
  // opens one) and gives it back afterwards.
  Expected<PeerAck> deliver(std::string_view package, bool with_statuses) {
    auto response = call(target_, "application/xml", package, with_statuses);
    if (!response) return response.error();
    return interpret(response->result_int(), response->body());
  }

  Expected<std::vector<Expected<PeerAck>>> deliver_batch(
      const std::vector<std::string_view>& packages, bool with_statuses) {
    std::string body;
    std::size_t size = 0;
    for (auto p : packages) size += p.size() + 24;
    body.reserve(size);
    for (auto p : packages) {
      body += std::to_string(p.size());
      body += '\n';
      body += p;
      body += '\n';
    }
    auto response = call(batch_target_, "application/vnd.lienthong.batch", body, with_statuses);
    if (!response) return response.error();
    const unsigned status = response->result_int();
    if (status == 404 || status == 405) {
      return Error{"peer.no_batches", "peer " + id_ + " does not take batches"};
    }
    if (status != 200) {
      auto whole = interpret(status, response->body());
      if (whole) return Error{"peer.unavailable", "peer " + id_ + ": an odd answer to a batch"};
      return whole.error();
    }
    error_code ec;
    json::value answer = json::parse(response->body(), ec);
    const json::array* results = nullptr;
    if (!ec && answer.is_object()) {
      if (const json::value* r = answer.as_object().if_contains("results"); r && r->is_array())
        results = &r->as_array();
    }
    if (!results || results->size() != packages.size()) {
      return Error{"peer.unavailable", "peer " + id_ + " answered a batch of " +
                                           std::to_string(packages.size()) +
                                           " packages without a result for each"};
    }
    std::vector<Expected<PeerAck>> out;
    out.reserve(results->size());
    for (const json::value& r : *results) {
      const json::value* code = r.is_object() ? r.as_object().if_contains("status") : nullptr;
      if (!code || !code->is_int64()) {
        out.push_back(Error{"peer.unavailable", "peer " + id_ + ": a result without a status"});
        continue;
      }
      out.push_back(interpret(static_cast<unsigned>(code->as_int64()), r));
    }
    return out;
  }

 private:
  // One connection to the peer, driven by its own io_context on the calling thread.
  struct Connection {
    net::io_context io{1};
    std::optional<TlsStream> stream;
    beast::flat_buffer buffer;
  };
  static constexpr std::size_t kMaxIdle = 32;
  static constexpr std::size_t kReadRoom = 32 << 10;  // two TLS records

  using Response = http::response<http::string_body>;

  // One request on a kept-alive connection of this thread's own (opened if there is none).
  Expected<Response> call(const std::string& target, const char* content_type,
                          std::string_view body, bool with_statuses) {
    std::unique_ptr<Connection> c;
    {
      std::lock_guard lock(mutex_);
      if (!idle_.empty()) {
        c = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    if (!c) {
      c = std::make_unique<Connection>();
      // Beast reads as much as the buffer holds free: a small one would take the answer
      // (statuses of a whole batch) a few hundred bytes at a time, each a trip through Asio.
      c->buffer.reserve(kReadRoom);
    }
    std::optional<Expected<Response>> result;
    net::co_spawn(c->io, exchange(*c, target, content_type, body, with_statuses, result),
                  [&](std::exception_ptr e) {
                    if (e && !result)
                      result = Error{"peer.internal", "the exchange with " + id_ + " failed"};
                  });
    c->io.restart();
    c->io.run();
    if (c->stream) {
      std::lock_guard lock(mutex_);
      if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
    }
    return result ? std::move(*result)
                  : Expected<Response>(Error{"peer.internal", "no answer was produced"});
  }

  net::awaitable<void> exchange(Connection& c, const std::string& target, const char* content_type,
                                std::string_view package, bool with_statuses,
                                std::optional<Expected<Response>>& out) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = c.stream.has_value();
      if (!c.stream) {
        if (auto connected = co_await connect(c); !connected) {
          out = connected.error();
          co_return;
        }
      }
      // The package is sent from where it lies, not copied into the request.
      http::request<http::span_body<const char>> request{http::verb::post, target, 11};
      request.set(http::field::host, host_header_);
      request.set(http::field::content_type, content_type);
      request.set(http::field::user_agent, "lienthong-peer");
      if (with_statuses) request.set("X-Lienthong-Ack", "statuses");
      request.keep_alive(true);
      request.body() = http::span_body<const char>::value_type(package.data(), package.size());
      request.prepare_payload();
      auto& tcp = beast::get_lowest_layer(*c.stream);
      const auto allowance = options_.io_timeout + std::chrono::seconds(package.size() >> 20);
      tcp.expires_after(allowance);
      auto [ec, n] = co_await http::async_write(*c.stream, request, use_tuple);
      if (!ec) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(kMaxAnswer);
        tcp.expires_after(allowance);
        std::tie(ec, n) = co_await http::async_read(*c.stream, c.buffer, parser, use_tuple);
        if (!ec) {
          auto response = parser.release();
          if (!response.keep_alive()) drop(c);
          out = std::move(response);
          co_return;
        }
      }
      drop(c);
      // A kept-alive connection the peer had closed meanwhile: once more on a fresh one (the
      // peer deduplicates, so a package it did take is not taken twice).
      if (reused && ec != beast::error::timeout) continue;
      out = Error{ec == beast::error::timeout ? "peer.timeout" : "peer.unreachable",
                  "peer " + id_ + ": " + ec.message()};
      co_return;
    }
  }

  net::awaitable<Expected<void>> connect(Connection& c) {
    tcp::resolver resolver(c.io);
    auto [rec, results] = co_await resolver.async_resolve(url_.host, url_.port, use_tuple);
    if (rec) {
      co_return Error{"peer.unreachable",
                      "peer " + id_ + ": cannot resolve " + url_.host + ": " + rec.message()};
    }
    c.stream.emplace(c.io, ctx_);
    SSL* ssl = c.stream->native_handle();
    if (pinned_.empty()) {  // a CA: the certificate must name the host we called
      if (url_.literal) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
      } else {
        SSL_set1_host(ssl, url_.host.c_str());
      }
    }
    if (!url_.literal) SSL_set_tlsext_host_name(ssl, url_.host.c_str());
    auto& tcp = beast::get_lowest_layer(*c.stream);
    tcp.expires_after(options_.connect_timeout);
    auto [cec, endpoint] = co_await tcp.async_connect(results, use_tuple);
    if (cec) {
      drop(c);
      co_return Error{cec == beast::error::timeout ? "peer.timeout" : "peer.unreachable",
                      "peer " + id_ + " at " + host_header_ + ": " + cec.message()};
    }
    error_code ignored;  // TLS writes a request in several records: no Nagle delay between them
    tcp.socket().set_option(tcp::no_delay(true), ignored);
    tcp.expires_after(options_.io_timeout);
    auto [hec] = co_await c.stream->async_handshake(net::ssl::stream_base::client, use_tuple);
    if (hec) {
      const long verify = SSL_get_verify_result(ssl);
      std::string why = hec.message();
      if (verify != X509_V_OK) why = X509_verify_cert_error_string(verify);
      drop(c);
      co_return Error{"peer.tls", "peer " + id_ + ": TLS handshake failed: " + why};
    }
    if (!pinned_.empty()) {
      X509* cert = SSL_get0_peer_certificate(ssl);
      if (!cert || cert_fingerprint_sha256(cert) != pinned_) {
        drop(c);
        co_return Error{"peer.tls",
                        "peer " + id_ + " presented a certificate other than the pinned one"};
      }
    }
    co_return Expected<void>{};
  }

  // One package's answer: its HTTP status, and its JSON object (or the body it could not parse).
  Expected<PeerAck> interpret(unsigned status, std::string_view text) const {
    error_code ec;
    json::value body = json::parse(text, ec);
    if (ec) body = json::string(text.substr(0, 64));
    return interpret(status, body);
  }
  Expected<PeerAck> interpret(unsigned status, const json::value& body) const {
    if (status == 200 || status == 202) {
      PeerAck ack;
      if (body.is_string()) ack.id = body.as_string();
      if (body.is_object()) {
        const json::object& o = body.as_object();
        if (const json::value* id = o.if_contains("id"); id && id->is_int64())
          ack.id = std::to_string(id->as_int64());
        if (const json::value* s = o.if_contains("statuses"); s && s->is_array()) {
          for (const json::value& packet : s->as_array()) {
            if (packet.is_string()) ack.statuses.emplace_back(packet.as_string());
          }
        }
      }
      return ack;
    }
    std::string what = std::to_string(status);
    if (body.is_object()) {
      if (const json::value* e = body.as_object().if_contains("error"); e && e->is_object()) {
        const json::object& o = e->as_object();
        if (const json::value* c = o.if_contains("code"); c && c->is_string())
          what += " " + std::string(c->as_string());
        if (const json::value* m = o.if_contains("message"); m && m->is_string())
          what += ": " + std::string(m->as_string());
      }
    }
    const bool final_answer = status >= 400 && status < 500 && status != 408 && status != 429;
    return Error{final_answer ? "peer.refused" : "peer.unavailable", "peer " + id_ + ": " + what};
  }

  static void drop(Connection& c) {
    if (!c.stream) return;
    error_code ignored;
    beast::get_lowest_layer(*c.stream).socket().close(ignored);
    c.stream.reset();
    c.buffer.clear();
  }

  const std::string id_;
  const PeerClientOptions options_;
  HttpUrl url_;
  std::string target_;
  std::string batch_target_;
  std::string host_header_;
  std::string pinned_;  // SHA-256 of the pinned certificate; empty when trusting a CA
  net::ssl::context ctx_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Connection>> idle_;
};

PeerClient::PeerClient(PeerClientOptions options, const std::vector<PeerEndpoint>& peers) {
  for (const auto& p : peers) peers_.emplace(p.id, std::make_unique<Peer>(p, options));
}

PeerClient::~PeerClient() = default;

Expected<PeerClient::Peer*> PeerClient::find(const std::string& peer) const {
  auto it = peers_.find(peer);
  if (it == peers_.end()) {
    return Error{"peer.unknown", "no peer '" + peer + "' is configured on this node"};
  }
  return it->second.get();
}

Expected<std::vector<Expected<PeerAck>>> PeerClient::deliver_batch(
    const std::string& peer, const std::vector<std::string_view>& packages, bool with_statuses) {
  auto p = find(peer);
  if (!p) return p.error();
  return (*p)->deliver_batch(packages, with_statuses);
}

Expected<PeerAck> PeerClient::deliver(const std::string& peer, std::string_view package,
                                      bool with_statuses) {
  auto p = find(peer);
  if (!p) return p.error();
  return (*p)->deliver(package, with_statuses);
}

}  // namespace lienthong
