#include "adapters/http_api/server.hpp"

#include "adapters/http_api/tls_identity.hpp"
#include "base/encoding.hpp"
#include "base/thread_name.hpp"

// Boost 1.81's Asio coroutine headers use std::exchange without including <utility> (g++ 12).
#include <utility>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <unordered_set>
#include <variant>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

// Design, in short (DESIGN.md section 4, "Concurrency"):
// - One io_context run by `threads` threads. The acceptor lives on its own strand; every accepted
//   socket gets a fresh strand, and its connection is one coroutine spawned on that strand, so a
//   connection's socket, timers and state are only ever touched by one thread at a time.
// - Every socket operation is preceded by `expires_after`: read_timeout (a new connection's first
//   byte, a request's header, then its body), idle_timeout (the next keep-alive request),
//   write_timeout. While the handler works on a request, no socket operation is pending, so no
//   timer can close the connection.
// - The handler gets a Responder holding a shared Exchange. Answering from any thread stores the
//   response under the Exchange's mutex and posts a wake-up to the connection's strand, which
//   cancels the timer the coroutine waits on. A connection detaches from its Exchange (under the
//   same mutex) when it takes the answer or goes away, so late answers are dropped, and stop()
//   detaches every remaining connection after joining the threads, so that no answer can reach
//   the io_context once it is being destroyed.
// - Graceful stop: close the acceptor (on its strand), then tell every connection to stop: idle
//   ones close at once, busy ones answer with Connection: close and then close. Whatever is left
//   after the grace period is closed by force, the io_context stopped and the threads joined.
// - With TLS, a connection's stream is an ssl_stream over the same tcp_stream: the handshake runs
//   first under read_timeout, timeouts stay on the TCP layer, and the end is a TLS close_notify.

namespace lienthong {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using Stream = std::variant<PlainStream, TlsStream>;

beast::tcp_stream& tcp_of(Stream& stream) {
  return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(s); },
                    stream);
}
// Beast reads a body as much at a time as the buffer has room: two TLS records.
constexpr std::size_t kReadChunk = 32 << 10;
// After refusing a request we stop sending and read what the client still sends for a while, so
// that closing does not reset the connection before the client has read the refusal.
constexpr std::chrono::milliseconds kLingerTime = 1s;
constexpr std::size_t kLingerBytes = 1 << 20;

// ---------------------------------------------------------------------------------------------
// JSON text and logging

void append_json_string(std::string& out, std::string_view s) {
  out += json_quote(s);
}

std::string utc_timestamp() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  std::array<char, 64> text{};
  std::snprintf(text.data(), text.size(), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return text.data();
}

// One JSON line on stderr, written in one call so that lines from several threads do not mix.
void log_line(std::string_view level, std::string_view what, std::string_view message,
              std::string_view code = {}) {
  std::string line = "{\"ts\":";
  append_json_string(line, utc_timestamp());
  line += ",\"level\":";
  append_json_string(line, level);
  line += ",\"component\":\"http_server\",\"what\":";
  append_json_string(line, what);
  line += ",\"message\":";
  append_json_string(line, message);
  if (!code.empty()) {
    line += ",\"code\":";
    append_json_string(line, code);
  }
  line += "}\n";
  std::fwrite(line.data(), 1, line.size(), stderr);
}

// Errors that are part of normal life: the peer went away, a timeout fired, we cancelled.
bool is_expected(const error_code& ec) {
  return ec == net::error::eof || ec == net::error::operation_aborted ||
         ec == beast::error::timeout || ec == net::error::connection_reset ||
         ec == net::error::connection_aborted || ec == net::error::broken_pipe ||
         ec == net::error::not_connected || ec == http::error::end_of_stream ||
         ec == http::error::partial_message || ec == net::ssl::error::stream_truncated ||
         ec == net::error::bad_descriptor;  // closed by force_close while reading
}

// The single place where I/O errors are reported.
void fail(const error_code& ec, const char* what) {
  if (!ec || is_expected(ec)) return;
  log_line("error", what, ec.message(),
           std::string(ec.category().name()) + ":" + std::to_string(ec.value()));
}

// Completion handler for co_spawn: a coroutine that throws is logged, never rethrown into run().
auto log_exceptions(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      log_line("error", what, x.what());
    } catch (...) {
      log_line("error", what, "unknown exception");
    }
  };
}

// ---------------------------------------------------------------------------------------------
// Conversions between HttpRequest/HttpResponse and Beast messages

bool is_token(std::string_view s) {
  static constexpr std::string_view kTokenPunctuation = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    const auto c = static_cast<unsigned char>(ch);
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kTokenPunctuation.find(ch) != std::string_view::npos;
  });
}

bool is_field_value(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool ascii_iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// A request body kept in memory while small, moved to a spool file once it grows over
// `spool_above` (at once when Content-Length says it will): a 100 MB package is never held
// whole in memory by the server.
struct SpoolingBody {
  struct value_type {
    std::string text;
    std::shared_ptr<Spool> file;
    std::size_t spool_above = kSpoolAbove;
    std::string spool_dir;
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, error_code& ec) {
      ec = {};
      if (length && *length > body_.spool_above) {
        spool(ec);
      } else if (length) {
        body_.text.reserve(static_cast<std::size_t>(*length));
      }
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, error_code& ec) {
      ec = {};
      std::size_t n = 0;
      for (auto it = net::buffer_sequence_begin(buffers); it != net::buffer_sequence_end(buffers);
           ++it) {
        const std::string_view piece(static_cast<const char*>((*it).data()), (*it).size());
        if (body_.file) {
          if (!body_.file->append(piece)) {
            ec = make_error_code(boost::system::errc::io_error);
            return n;
          }
        } else {
          body_.text.append(piece);
          if (body_.text.size() > body_.spool_above) spool(ec);
          if (ec) return n;
        }
        n += piece.size();
      }
      return n;
    }

    void finish(error_code& ec) { ec = {}; }

   private:
    void spool(error_code& ec) {
      auto file = Spool::create(body_.spool_dir);
      if (!file || !(*file)->append(body_.text)) {
        ec = make_error_code(boost::system::errc::io_error);
        return;
      }
      body_.file = std::move(*file);
      std::string().swap(body_.text);
    }
    value_type& body_;
  };
};

HttpRequest to_request(http::request<SpoolingBody>&& message, const std::string& remote) {
  HttpRequest request;
  request.method = std::string(message.method_string());
  request.target = std::string(message.target());
  request.version = message.version();
  for (const auto& field : message) {
    request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body().text);
  request.body_file = std::move(message.body().file);
  request.remote = remote;
  return request;
}

http::response<http::string_body> to_message(HttpResponse&& response, unsigned version,
                                             bool keep_alive, bool head) {
  if (response.status < 200 || response.status > 599) {
    log_line("error", "respond",
             "the handler answered with status " + std::to_string(response.status) +
                 "; sending 500 instead");
    response = json_error(500, "internal_error", "the server produced an invalid response");
  }
  http::response<http::string_body> message;
  message.version(version == 10 ? 10 : 11);
  message.result(static_cast<unsigned>(response.status));
  for (const auto& [name, value] : response.headers) {
    if (!is_token(name) || !is_field_value(value)) {
      log_line("warn", "respond", "dropped an invalid response header '" + name + "'");
      continue;
    }
    // The server owns the framing of the connection.
    if (ascii_iequals(name, "content-length") || ascii_iequals(name, "transfer-encoding") ||
        ascii_iequals(name, "connection")) {
      continue;
    }
    message.insert(name, value);
  }
  if (!response.content_type.empty() && is_field_value(response.content_type)) {
    message.set(http::field::content_type, response.content_type);
  }
  message.keep_alive(keep_alive);
  // 204 and 304 carry neither a body nor a Content-Length (RFC 9110 sections 8.6, 15.3.5, 15.4.5).
  if (response.status != 204 && response.status != 304) {
    message.content_length(response.body.size());  // a HEAD answer says how long the GET would be
    if (!head) message.body() = std::move(response.body);
  }
  return message;
}

// The refusal for a request that could not be read, or nothing when there is nobody to answer
// (the peer went away, a timeout already closed the socket).
std::optional<HttpResponse> refusal_for(const error_code& ec, const HttpLimits& limits) {
  if (ec == http::error::body_limit) {
    return json_error(413, "body_too_large",
                      "the request body is larger than the limit of " +
                          std::to_string(limits.max_body_bytes) + " bytes");
  }
  if (ec == boost::system::errc::io_error) {
    return json_error(503, "body_not_stored",
                      "the server cannot store the request body for now; try again later");
  }
  if (ec == http::error::header_limit) {
    return json_error(431, "header_too_large",
                      "the request header is larger than the limit of " +
                          std::to_string(limits.max_header_bytes) + " bytes");
  }
  static constexpr http::error kMalformed[] = {
      http::error::bad_line_ending,    http::error::bad_method,
      http::error::bad_target,         http::error::bad_version,
      http::error::bad_field,          http::error::bad_value,
      http::error::bad_content_length, http::error::bad_transfer_encoding,
      http::error::bad_chunk,          http::error::bad_chunk_extension,
      http::error::bad_obs_fold,       http::error::multiple_content_length,
      http::error::unexpected_body,    http::error::buffer_overflow,
  };
  for (const auto malformed : kMalformed) {
    if (ec == malformed) {
      return json_error(400, "bad_request", "malformed HTTP request: " + ec.message());
    }
  }
  return std::nullopt;
}

// Stop sending, then read and discard what the client still sends, for a bounded time and size.
net::awaitable<void> linger_and_close(beast::tcp_stream& stream, std::chrono::milliseconds limit) {
  error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream.expires_after(std::min(limit, kLingerTime));
  std::array<char, 4096> scratch;
  for (std::size_t drained = 0; drained < kLingerBytes;) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(scratch), use_tuple);
    if (ec) break;
    drained += n;
  }
  stream.close();
}

// The end of a connection: TLS says close_notify (bounded by `limit`), then TCP closes; a plain
// connection after a refusal lingers so that the client can read it.
net::awaitable<void> close_stream(Stream& stream, std::chrono::milliseconds limit, bool linger) {
  if (auto* tls = std::get_if<TlsStream>(&stream)) {
    tls->next_layer().expires_after(std::min(limit, kLingerTime));
    co_await tls->async_shutdown(use_tuple);
    tls->next_layer().close();
    co_return;
  }
  auto& plain = std::get<PlainStream>(stream);
  if (linger) {
    co_await linger_and_close(plain, limit);
  } else {
    error_code ignored;
    plain.socket().shutdown(tcp::socket::shutdown_send, ignored);
    plain.close();
  }
}

std::string endpoint_text(const tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {  // a dual-stack listener's IPv4 peer
    address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
  }
  const std::string host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return host + ":" + std::to_string(endpoint.port());
}

class Connection;

// One request's answer, shared by its connection and the Responder handed to the handler.
struct Exchange {
  std::mutex mutex;
  Connection* connection = nullptr;  // null once the connection stopped waiting: answers dropped
  bool answered = false;
  std::optional<HttpResponse> response;
};

void settle(const std::shared_ptr<Exchange>& exchange, HttpResponse&& response);
bool settle_if_unanswered(const std::shared_ptr<Exchange>& exchange);

// Shared by every copy of one Responder. When the last copy dies unanswered, the client gets a
// 500 instead of waiting until the server stops.
struct ResponderState {
  explicit ResponderState(std::shared_ptr<Exchange> e) : exchange(std::move(e)) {}
  ResponderState(const ResponderState&) = delete;
  ResponderState& operator=(const ResponderState&) = delete;
  ~ResponderState() {
    try {
      if (settle_if_unanswered(exchange)) {
        log_line("error", "handler",
                 "a request was dropped unanswered; the client, if still there, gets a 500");
      }
    } catch (...) {  // out of memory while answering: the client will see the connection close
    }
  }
  std::shared_ptr<Exchange> exchange;
};

struct RespondFunction {
  std::shared_ptr<ResponderState> state;
  void operator()(HttpResponse response) const { settle(state->exchange, std::move(response)); }
};

enum class Phase { starting, idle, busy };

}  // namespace

// ---------------------------------------------------------------------------------------------

class HttpServer::Impl {
 public:
  Impl(std::string address, unsigned short port, HttpLimits limits, Handler handler,
       std::size_t threads, std::optional<TlsOptions> tls);
  ~Impl();

  void start();
  void stop(std::chrono::milliseconds grace);
  void wait_for_signals(std::chrono::milliseconds grace);
  unsigned short port() const { return port_.load(); }
  Stats stats() const;

  // For connections.
  const HttpLimits limits_;
  const Handler handler_;
  std::optional<net::ssl::context> tls_;
  struct Counters {
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> requests{0};
    std::atomic<std::uint64_t> rejected_too_large{0};
    std::atomic<std::uint64_t> rejected_busy{0};
    std::atomic<std::uint64_t> bad_requests{0};
    std::atomic<std::uint64_t> timeouts{0};
    std::atomic<std::uint64_t> tls_refused{0};
  } counters_;
  void add(Connection* connection);
  void remove(Connection* connection);

 private:
  enum class State { created, running, stopped };

  net::awaitable<void> accept_loop();
  net::awaitable<void> refuse_busy(tcp::socket socket);
  std::vector<std::shared_ptr<Connection>> live_connections();
  bool wait_until_drained(std::chrono::steady_clock::time_point deadline);
  void set_state(State state);

  const std::string address_;
  const unsigned short requested_port_;
  const std::size_t thread_count_;
  std::atomic<unsigned short> port_{0};

  // Live connections, for graceful stop; declared before the io_context, which destroys the
  // connections still suspended in it.
  std::mutex connections_mutex_;
  std::condition_variable connections_drained_;
  std::unordered_set<Connection*> connections_;
  std::atomic<std::uint64_t> active_{0};

  std::mutex lifecycle_mutex_;  // held by start() and stop() throughout
  std::mutex state_mutex_;      // guards state_ and signalled_
  std::condition_variable state_changed_;
  State state_ = State::created;
  bool signalled_ = false;

  net::io_context io_;
  net::strand<net::io_context::executor_type> acceptor_strand_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
};

namespace {

// One client connection: a coroutine on its own strand, serving requests one after another.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(HttpServer::Impl& server, tcp::socket socket)
      : server_(server),
        executor_(socket.get_executor()),
        stream_(make_stream(server, std::move(socket))),
        wake_timer_(executor_) {
    error_code ec;
    const auto peer = tcp_of(stream_).socket().remote_endpoint(ec);
    remote_ = ec ? std::string("unknown") : endpoint_text(peer);
    if (server_.tls_) {  // a response goes out as several TLS records: no Nagle delay between them
      tcp_of(stream_).socket().set_option(tcp::no_delay(true), ec);
    }
    server_.add(this);
  }

  ~Connection() {
    detach_exchange();
    server_.remove(this);
  }

  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Constant after construction: safe to read from any thread.
  const net::any_io_executor& executor() const { return executor_; }

  net::awaitable<void> run(std::shared_ptr<Connection> self);

  // The following run on the connection's strand.

  // Graceful stop: an idle connection closes now, a busy one after its response.
  void on_stop() {
    stopping_ = true;
    if (phase_ == Phase::idle) tcp_of(stream_).cancel();
  }

  // End of the grace period: close now; a response still being prepared is dropped.
  void force_close() {
    stopping_ = true;
    force_closed_ = true;
    wake_timer_.cancel();
    tcp_of(stream_).close();
  }

  void on_response_ready() { wake_timer_.cancel(); }

  // On the strand, or from stop() once the threads are joined.
  void detach_exchange() {
    if (!exchange_) return;
    {
      std::lock_guard lock(exchange_->mutex);
      exchange_->connection = nullptr;
    }
    exchange_.reset();
  }

 private:
  static Stream make_stream(HttpServer::Impl& server, tcp::socket socket) {
    if (server.tls_) return Stream(std::in_place_type<TlsStream>, std::move(socket), *server.tls_);
    return Stream(std::in_place_type<PlainStream>, std::move(socket));
  }
  net::awaitable<bool> handshake();
  net::awaitable<error_code> read_request(http::request_parser<SpoolingBody>& parser);
  net::awaitable<std::optional<HttpResponse>> handle(HttpRequest request);
  net::awaitable<error_code> write(HttpResponse response, unsigned version, bool keep_alive,
                                   bool head);

  HttpServer::Impl& server_;
  const net::any_io_executor executor_;  // the connection's strand
  Stream stream_;
  beast::flat_buffer buffer_;
  net::steady_timer wake_timer_;  // the coroutine sleeps on it while the handler works
  std::string remote_;
  std::string client_certificate_der_;
  std::shared_ptr<Exchange> exchange_;  // the request being handled, if any
  Phase phase_ = Phase::starting;
  bool stopping_ = false;
  bool force_closed_ = false;
};

void settle_locked(Exchange& exchange, const std::shared_ptr<Exchange>& keep,
                   HttpResponse&& response) {
  exchange.answered = true;
  if (exchange.connection == nullptr) return;  // the client or the server is gone
  exchange.response = std::move(response);
  // Wake the connection on its own strand. Holding the mutex keeps the connection alive here:
  // it detaches under this mutex before it goes away.
  net::post(exchange.connection->executor(), [keep] {
    std::lock_guard lock(keep->mutex);
    if (keep->connection != nullptr) keep->connection->on_response_ready();
  });
}

void settle(const std::shared_ptr<Exchange>& exchange, HttpResponse&& response) {
  std::lock_guard lock(exchange->mutex);
  if (exchange->answered) {
    log_line("warn", "respond", "a request was answered more than once; later answers ignored");
    return;
  }
  settle_locked(*exchange, exchange, std::move(response));
}

// Answers 500 unless the request was answered already; true if it did.
bool settle_if_unanswered(const std::shared_ptr<Exchange>& exchange) {
  std::lock_guard lock(exchange->mutex);
  if (exchange->answered) return false;
  settle_locked(*exchange, exchange,
                json_error(500, "internal_error", "the server failed to handle the request"));
  return true;
}

bool expects_continue(const http::request<SpoolingBody>& message) {
  return message.version() >= 11 && beast::iequals(message[http::field::expect], "100-continue");
}

net::awaitable<void> Connection::run(std::shared_ptr<Connection> self) {
  (void)self;  // keeps this connection alive as long as the coroutine
  const HttpLimits& limits = server_.limits_;
  if (!co_await handshake()) co_return;
  bool first = true;
  bool linger = false;
  while (!stopping_) {
    // Wait for the first byte of the next request: the idle phase, which a graceful stop ends.
    if (buffer_.size() == 0) {
      phase_ = Phase::idle;
      tcp_of(stream_).expires_after(first ? limits.read_timeout : limits.idle_timeout);
      auto [ec, n] = co_await std::visit(
          [&](auto& s) { return s.async_read_some(buffer_.prepare(kReadChunk), use_tuple); },
          stream_);
      phase_ = Phase::busy;
      if (ec) {
        if (first && ec == beast::error::timeout) ++server_.counters_.timeouts;
        fail(ec, "read");
        break;
      }
      buffer_.commit(n);
    }
    first = false;

    http::request_parser<SpoolingBody> parser;
    parser.get().body().spool_above = limits.spool_above;
    parser.get().body().spool_dir = limits.spool_dir;
    const error_code ec = co_await read_request(parser);
    if (ec) {
      if (ec == beast::error::timeout) ++server_.counters_.timeouts;
      auto refusal = refusal_for(ec, limits);
      if (!refusal) {
        fail(ec, "read");
        break;
      }
      if (refusal->status == 400) {
        ++server_.counters_.bad_requests;
      } else {
        ++server_.counters_.rejected_too_large;
      }
      const unsigned version = parser.is_header_done() ? parser.get().version() : 11;
      fail(co_await write(std::move(*refusal), version, false, false), "write");
      linger = true;
      break;
    }

    auto message = parser.release();
    const bool keep_alive = message.keep_alive();
    const bool head = message.method() == http::verb::head;
    const unsigned version = message.version();
    ++server_.counters_.requests;
    HttpRequest request = to_request(std::move(message), remote_);
    request.client_certificate_der = client_certificate_der_;
    auto response = co_await handle(std::move(request));
    if (!response) break;  // closed by force while the handler worked

    const bool keep = keep_alive && !stopping_;
    const error_code write_ec = co_await write(std::move(*response), version, keep, head);
    if (write_ec) {
      fail(write_ec, "write");
      break;
    }
    if (!keep) break;
  }

  if (force_closed_) {
    tcp_of(stream_).close();
  } else {
    co_await close_stream(stream_, limits.read_timeout, linger);
  }
}

// TLS only: the handshake, under read_timeout, and the client's verified certificate.
net::awaitable<bool> Connection::handshake() {
  auto* tls = std::get_if<TlsStream>(&stream_);
  if (!tls) co_return true;
  tls->next_layer().expires_after(server_.limits_.read_timeout);
  auto [ec] = co_await tls->async_handshake(net::ssl::stream_base::server, use_tuple);
  if (ec) {
    ++server_.counters_.tls_refused;
    if (ec != net::error::operation_aborted && !force_closed_) {
      log_line("info", "tls", "handshake with " + remote_ + " refused: " + ec.message());
    }
    tls->next_layer().close();
    co_return false;
  }
  if (X509* cert = SSL_get0_peer_certificate(tls->native_handle())) {
    unsigned char* der = nullptr;
    const int len = i2d_X509(cert, &der);
    if (len > 0) client_certificate_der_.assign(reinterpret_cast<char*>(der), len);
    OPENSSL_free(der);
  }
  co_return true;
}

net::awaitable<error_code> Connection::read_request(http::request_parser<SpoolingBody>& parser) {
  const HttpLimits& limits = server_.limits_;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(limits.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(static_cast<std::uint64_t>(limits.max_body_bytes));

  tcp_of(stream_).expires_after(limits.read_timeout);
  auto [ec, n] = co_await std::visit(
      [&](auto& s) { return http::async_read_header(s, buffer_, parser, use_tuple); }, stream_);
  if (ec || parser.is_done()) co_return ec;

  // The client waits for our go-ahead before sending the body; the limits were checked above.
  if (expects_continue(parser.get())) {
    http::response<http::empty_body> go_ahead{http::status::continue_, 11};
    tcp_of(stream_).expires_after(limits.write_timeout);
    std::tie(ec, n) = co_await std::visit(
        [&](auto& s) { return http::async_write(s, go_ahead, use_tuple); }, stream_);
    if (ec) co_return ec;
  }

  const auto length = parser.content_length().value_or(0);
  tcp_of(stream_).expires_after(limits.read_timeout + std::chrono::seconds(length >> 20));
  std::tie(ec, n) = co_await std::visit(
      [&](auto& s) { return http::async_read(s, buffer_, parser, use_tuple); }, stream_);
  co_return ec;
}

net::awaitable<std::optional<HttpResponse>> Connection::handle(HttpRequest request) {
  auto exchange = std::make_shared<Exchange>();
  exchange->connection = this;
  exchange_ = exchange;
  {
    // `state` outlives the handler's copies, so that an exception is answered (below) before the
    // last copy goes and reports a dropped request.
    const auto state = std::make_shared<ResponderState>(exchange);
    Responder respond{RespondFunction{state}};
    try {
      server_.handler_(std::move(request), std::move(respond));
    } catch (const std::exception& e) {
      log_line("error", "handler", std::string("the handler threw: ") + e.what());
      settle_if_unanswered(exchange);
    } catch (...) {
      log_line("error", "handler", "the handler threw an unknown exception");
      settle_if_unanswered(exchange);
    }
  }

  // Sleep until the answer arrives (a wake-up cancels the timer) or the server closes us.
  for (;;) {
    std::optional<HttpResponse> response;
    {
      std::lock_guard lock(exchange->mutex);
      if (exchange->response) {
        response = std::move(exchange->response);
        exchange->connection = nullptr;
      }
    }
    if (response) {
      exchange_.reset();
      if (auto finish = std::move(response->finish)) {
        try {
          finish(*response);
        } catch (const std::exception& e) {
          log_line("error", "handler", std::string("finishing a response threw: ") + e.what());
          response = json_error(500, "internal_error", "the server failed to handle the request");
        }
      }
      co_return response;
    }
    if (force_closed_) {
      detach_exchange();
      co_return std::nullopt;
    }
    wake_timer_.expires_at(net::steady_timer::time_point::max());
    co_await wake_timer_.async_wait(use_tuple);
  }
}

net::awaitable<error_code> Connection::write(HttpResponse response, unsigned version,
                                             bool keep_alive, bool head) {
  auto message = to_message(std::move(response), version, keep_alive, head);
  tcp_of(stream_).expires_after(server_.limits_.write_timeout);
  auto [ec, n] = co_await std::visit(
      [&](auto& s) { return http::async_write(s, message, use_tuple); }, stream_);
  if (ec == beast::error::timeout) ++server_.counters_.timeouts;
  co_return ec;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

namespace {

// TLS 1.2 or later, our certificate and key, and a client certificate required and verified.
net::ssl::context make_tls_context(const TlsOptions& options) {
  net::ssl::context ctx(net::ssl::context::tls_server);
  ctx.set_options(net::ssl::context::default_workarounds | net::ssl::context::no_compression |
                  net::ssl::context::single_dh_use);
  set_tls_identity(ctx, options.cert_file, options.key_file, "https server");
  error_code ec;
  ctx.load_verify_file(options.client_ca_file, ec);
  if (ec) {
    throw std::runtime_error("https server: cannot use the client CA " + options.client_ca_file +
                             ": " + ec.message());
  }
  ctx.set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
  add_revocation_lists(ctx, options.crl_files, "https server");
  return ctx;
}

}  // namespace

HttpServer::Impl::Impl(std::string address, unsigned short port, HttpLimits limits, Handler handler,
                       std::size_t threads, std::optional<TlsOptions> tls)
    : limits_(limits),
      handler_(std::move(handler)),
      address_(std::move(address)),
      requested_port_(port),
      thread_count_(std::max<std::size_t>(threads, 1)),
      io_(static_cast<int>(std::min<std::size_t>(thread_count_, 1024))),
      acceptor_strand_(net::make_strand(io_)) {
  if (!handler_) throw std::invalid_argument("HttpServer: the handler is empty");
  if (tls) tls_.emplace(make_tls_context(*tls));
  if (limits_.read_timeout <= 0ms || limits_.write_timeout <= 0ms || limits_.idle_timeout <= 0ms) {
    throw std::invalid_argument("HttpServer: timeouts must be positive");
  }
}

HttpServer::Impl::~Impl() {
  stop(0ms);
  // Members go in reverse order: the acceptor, then the io_context with any connection still
  // suspended in it (each detached by stop()), then the registry those connections leave.
}

void HttpServer::Impl::add(Connection* connection) {
  std::lock_guard lock(connections_mutex_);
  connections_.insert(connection);
  ++active_;
}

void HttpServer::Impl::remove(Connection* connection) {
  std::lock_guard lock(connections_mutex_);
  connections_.erase(connection);
  --active_;
  connections_drained_.notify_all();
}

HttpServer::Stats HttpServer::Impl::stats() const {
  return Stats{
      .accepted = counters_.accepted.load(),
      .active = active_.load(),
      .requests = counters_.requests.load(),
      .rejected_too_large = counters_.rejected_too_large.load(),
      .rejected_busy = counters_.rejected_busy.load(),
      .bad_requests = counters_.bad_requests.load(),
      .timeouts = counters_.timeouts.load(),
      .tls_refused = counters_.tls_refused.load(),
  };
}

void HttpServer::Impl::set_state(State state) {
  std::lock_guard lock(state_mutex_);
  state_ = state;
  state_changed_.notify_all();
}

void HttpServer::Impl::start() {
  std::lock_guard lifecycle(lifecycle_mutex_);
  {
    std::lock_guard lock(state_mutex_);
    if (state_ != State::created) throw std::logic_error("HttpServer::start called twice");
  }
  const std::string where = "'" + address_ + "' port " + std::to_string(requested_port_);

  error_code ec;
  tcp::resolver resolver(io_);
  const auto endpoints =
      resolver.resolve(address_, std::to_string(requested_port_),
                       tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    throw std::runtime_error("http server: cannot resolve the listen address " + where + ": " +
                             (ec ? ec.message() : std::string("no address found")));
  }
  const tcp::endpoint endpoint = endpoints.begin()->endpoint();

  tcp::acceptor acceptor(acceptor_strand_);
  const auto check = [&](const char* step) {
    if (ec) {
      throw std::runtime_error("http server: cannot " + std::string(step) + " " +
                               endpoint_text(endpoint) + " (" + where + "): " + ec.message());
    }
  };
  acceptor.open(endpoint.protocol(), ec);
  check("open a socket for");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  check("set SO_REUSEADDR on");
  acceptor.bind(endpoint, ec);
  check("bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  check("listen on");
  port_ = acceptor.local_endpoint(ec).port();
  check("read the bound port of");
  acceptor_.emplace(std::move(acceptor));

  net::co_spawn(acceptor_strand_, accept_loop(), log_exceptions("accept"));
  threads_.reserve(thread_count_);
  for (std::size_t i = 0; i < thread_count_; ++i) {
    threads_.emplace_back([this] {
      name_this_thread("lt-io");
      for (;;) {
        try {
          io_.run();
          return;
        } catch (const std::exception& e) {  // nothing should throw here: log and go on
          log_line("error", "io", e.what());
        }
      }
    });
  }
  set_state(State::running);
}

net::awaitable<void> HttpServer::Impl::accept_loop() {
  net::steady_timer backoff(acceptor_strand_);
  for (;;) {
    auto [ec, socket] =
        co_await acceptor_->async_accept(net::any_io_executor(net::make_strand(io_)), use_tuple);
    if (ec) {
      if (ec == net::error::operation_aborted || !acceptor_->is_open()) co_return;
      fail(ec, "accept");
      // Out of descriptors, for instance: pause instead of spinning.
      backoff.expires_after(50ms);
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    ++counters_.accepted;
    if (active_.load() >= limits_.max_connections) {
      ++counters_.rejected_busy;
      const auto executor = socket.get_executor();
      net::co_spawn(executor, refuse_busy(std::move(socket)), log_exceptions("refuse"));
      continue;
    }
    auto connection = std::make_shared<Connection>(*this, std::move(socket));
    const auto executor = connection->executor();
    net::co_spawn(executor, connection->run(connection), log_exceptions("connection"));
  }
}

net::awaitable<void> HttpServer::Impl::refuse_busy(tcp::socket socket) {
  if (tls_) {  // no TLS session is spent on a refusal
    error_code ignored;
    socket.close(ignored);
    co_return;
  }
  beast::tcp_stream stream(std::move(socket));
  HttpResponse busy = json_error(503, "busy", "the server has too many connections; retry later");
  busy.headers.emplace_back("Retry-After", "1");
  auto message = to_message(std::move(busy), 11, false, false);
  stream.expires_after(limits_.write_timeout);
  auto [ec, n] = co_await http::async_write(stream, message, use_tuple);
  fail(ec, "write");
  co_await linger_and_close(stream, limits_.read_timeout);
}

std::vector<std::shared_ptr<Connection>> HttpServer::Impl::live_connections() {
  std::vector<std::shared_ptr<Connection>> live;
  std::lock_guard lock(connections_mutex_);
  live.reserve(connections_.size());
  for (Connection* connection : connections_) {
    // Null for a connection whose destructor is waiting for this mutex.
    if (auto owned = connection->weak_from_this().lock()) live.push_back(std::move(owned));
  }
  return live;  // released by the caller outside the mutex: a Connection's destructor takes it
}

bool HttpServer::Impl::wait_until_drained(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(connections_mutex_);
  return connections_drained_.wait_until(lock, deadline, [&] { return connections_.empty(); });
}

void HttpServer::Impl::stop(std::chrono::milliseconds grace) {
  if (io_.get_executor().running_in_this_thread()) {
    throw std::logic_error("HttpServer::stop called from a server thread (a handler?)");
  }
  std::lock_guard lifecycle(lifecycle_mutex_);
  {
    std::lock_guard lock(state_mutex_);
    if (state_ == State::stopped) return;
    if (state_ == State::created) {
      state_ = State::stopped;
      state_changed_.notify_all();
      return;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::max(grace, 0ms);

  // 1. No new connections. Waiting for this also orders it before step 2: no connection can be
  //    added once the acceptor's strand has closed it.
  std::promise<void> acceptor_closed;
  net::post(acceptor_strand_, [this, &acceptor_closed] {
    error_code ignored;
    acceptor_->close(ignored);
    acceptor_closed.set_value();
  });
  acceptor_closed.get_future().wait();

  // 2. Idle connections close; busy ones answer with Connection: close, then close.
  {
    auto live = live_connections();
    for (const auto& connection : live) {
      net::post(connection->executor(), [connection] { connection->on_stop(); });
    }
  }

  // 3. Up to the grace period for the requests in flight; then close the rest by force.
  if (!wait_until_drained(deadline)) {
    auto live = live_connections();
    for (const auto& connection : live) {
      net::post(connection->executor(), [connection] { connection->force_close(); });
    }
    live.clear();
    wait_until_drained(std::chrono::steady_clock::now() + 1s);
  }

  // 4. Stop the I/O and join. A connection still in the registry now is suspended for good (its
  //    handlers will be destroyed with the io_context): detach it so that a late answer is
  //    dropped instead of being posted to an io_context that is going away.
  io_.stop();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  {
    std::lock_guard lock(connections_mutex_);
    for (Connection* connection : connections_) connection->detach_exchange();
  }
  set_state(State::stopped);
}

void HttpServer::Impl::wait_for_signals(std::chrono::milliseconds grace) {
  {
    std::lock_guard lock(state_mutex_);
    if (state_ != State::running) {
      if (state_ == State::stopped) return;
      throw std::logic_error("HttpServer::wait_for_signals called before start");
    }
  }
  net::signal_set signals(io_, SIGINT, SIGTERM);
  signals.async_wait([this](const error_code& ec, int) {
    if (ec) return;
    std::lock_guard lock(state_mutex_);
    signalled_ = true;
    state_changed_.notify_all();
  });
  {
    std::unique_lock lock(state_mutex_);
    state_changed_.wait(lock, [&] { return signalled_ || state_ == State::stopped; });
  }
  stop(grace);
  // `signals` is destroyed here, with the io_context stopped and its threads joined.
}

// ---------------------------------------------------------------------------------------------

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (ascii_iequals(key, name)) return value;
  }
  return {};
}

HttpResponse json_error(int status, std::string_view code, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/json";
  response.body = "{\"error\":{\"code\":";
  append_json_string(response.body, code);
  response.body += ",\"message\":";
  append_json_string(response.body, message);
  response.body += "}}";
  return response;
}

HttpServer::HttpServer(std::string address, unsigned short port, HttpLimits limits, Handler handler,
                       std::size_t threads, std::optional<TlsOptions> tls)
    : impl_(std::make_unique<Impl>(std::move(address), port, limits, std::move(handler), threads,
                                   std::move(tls))) {}

HttpServer::~HttpServer() = default;

void HttpServer::start() {
  impl_->start();
}
unsigned short HttpServer::port() const {
  return impl_->port();
}
void HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}
void HttpServer::wait_for_signals(std::chrono::milliseconds grace) {
  impl_->wait_for_signals(grace);
}
HttpServer::Stats HttpServer::stats() const {
  return impl_->stats();
}

}  // namespace lienthong
