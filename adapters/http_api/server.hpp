#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "base/spool.hpp"

// The HTTP/1.1 server core the REST API sits on: connections, parsing, limits, timeouts, keep-alive
// and graceful shutdown. Endpoints, routing and authentication live above it, behind `Handler`.
// This header is free of Asio and Beast on purpose; only server.cpp includes them.

namespace lienthong {

struct HttpLimits {
  std::size_t max_body_bytes = 100 << 20;   // larger bodies: 413 as soon as the header says so
  std::size_t max_header_bytes = 16 << 10;  // larger request headers: 431
  std::size_t max_connections = 2000;       // further connections get 503 and are closed
  // read_timeout bounds reading a request's header, and then its body (plus a second for every
  // MiB the body announces, so that a 256 MiB package may come at 1 MiB/s), and the silence of a
  // new connection before its first byte; idle_timeout bounds the wait between keep-alive
  // requests; write_timeout bounds writing a response. Waiting for the handler's answer has no
  // timeout.
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds write_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  // A body larger than this goes to a spool file instead of memory (HttpRequest::body_file).
  std::size_t spool_above = kSpoolAbove;
  std::string spool_dir;  // where; empty: the system's temporary directory
};

// HTTPS with mutual TLS (the peering listener): TLS 1.2 or later only, and every client must
// present a certificate that chains to `client_ca_file`. Files are PEM; `cert_file` may hold the
// chain after the server's certificate.
struct TlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  std::vector<std::string> crl_files;  // revocation lists for client certificates (PEM)
};

struct HttpRequest {
  std::string method;     // as sent: "GET", "POST", ...
  std::string target;     // origin-form with the query string: "/v1/documents?limit=10"
  unsigned version = 11;  // 10 for HTTP/1.0, 11 for HTTP/1.1
  std::vector<std::pair<std::string, std::string>> headers;  // in arrival order, names as sent
  std::string body;
  // A body over HttpLimits::spool_above, in an unnamed temporary file; `body` is then empty.
  std::shared_ptr<const Spool> body_file;
  std::string remote;  // the peer: "127.0.0.1:54321" or "[::1]:54321"
  // Over mutual TLS: the client's certificate (DER), verified against the client CA; else empty.
  std::string client_certificate_der;

  // The first value of the header `name` (ASCII case-insensitive), or "" when it is absent.
  std::string header(std::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";  // empty: no Content-Type header
  std::string body;
  // Extra headers. The server owns the framing: Content-Length, Transfer-Encoding and Connection
  // given here are ignored, and a header whose name or value could split the header is dropped.
  std::vector<std::pair<std::string, std::string>> headers;
  // Runs on the connection's own thread just before the response is written, and may change it:
  // work too heavy for the thread that answers (the store's writer, say).
  std::function<void(HttpResponse&)> finish;
};

// Answers one request. Call it exactly once, from any thread, now or later (for example after the
// group-commit writer made the request durable); the response is carried back to the connection's
// own executor. Later calls are ignored. If every copy is destroyed unanswered, the client gets a
// 500. If the client or the server is gone by then, the response is dropped.
using Responder = std::function<void(HttpResponse)>;

// Runs on the connection's strand (one request at a time per connection, many connections in
// parallel). It must not block for long: heavy work belongs on a worker that later calls
// `respond`. An exception escaping it becomes a 500.
using Handler = std::function<void(HttpRequest&&, Responder)>;

// The error body used everywhere: {"error":{"code":"...","message":"..."}}.
HttpResponse json_error(int status, std::string_view code, std::string_view message);

class HttpServer {
 public:
  struct Stats {
    std::uint64_t accepted = 0;            // connections accepted, refused ones included
    std::uint64_t active = 0;              // connections open now
    std::uint64_t requests = 0;            // complete requests handed to the handler
    std::uint64_t rejected_too_large = 0;  // 413 and 431
    std::uint64_t rejected_busy = 0;       // 503: over max_connections
    std::uint64_t bad_requests = 0;        // 400: malformed requests
    std::uint64_t timeouts = 0;            // read or write timeouts (keep-alive idle ends excluded)
    std::uint64_t tls_refused = 0;         // TLS handshakes that failed (no or bad client cert...)
  };

  // `port` 0 picks any free port (see port()). `threads` 0 means 1. With `tls`, the server speaks
  // only HTTPS with mutual TLS; it throws std::runtime_error naming the file it cannot use.
  HttpServer(std::string address, unsigned short port, HttpLimits limits, Handler handler,
             std::size_t threads = std::thread::hardware_concurrency(),
             std::optional<TlsOptions> tls = std::nullopt);
  ~HttpServer();  // stop() with no grace
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and runs the I/O on `threads` threads; returns at once. Throws
  // std::runtime_error naming the address and the reason if it cannot resolve or bind, and
  // std::logic_error if called twice.
  void start();

  // The bound port, useful after binding port 0; 0 before start().
  unsigned short port() const;

  // Graceful stop: closes the listening socket, closes idle keep-alive connections, lets requests
  // in flight get their responses (with Connection: close) for up to `grace`, then closes whatever
  // is left and joins the threads. Idempotent; the server cannot be started again. Must not be
  // called from a handler (it joins the threads that run handlers): throws std::logic_error.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  // Blocks until SIGINT or SIGTERM (or until another thread calls stop()), then stop(grace).
  // For `lienthong serve`.
  void wait_for_signals(std::chrono::milliseconds grace = std::chrono::seconds(10));

  Stats stats() const;

  class Impl;  // public so that server.cpp's internals can name it; opaque to everyone else

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace lienthong
