#include "adapters/http_api/server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace lienthong {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// A small blocking HTTP/1.1 client on plain sockets. Every receive has a 10 s watchdog so that a
// broken server fails the test instead of hanging it; no test waits on it when things work.

struct Reply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  bool has(const std::string& name) const { return headers.count(name) != 0; }
  std::string header(const std::string& name) const {
    const auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int connect_to(unsigned short port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket: " + std::string(std::strerror(errno)));
  timeval watchdog{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &watchdog, sizeof watchdog);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &watchdog, sizeof watchdog);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    ::close(fd);
    return -error;
  }
  return fd;
}

class Client {
 public:
  explicit Client(unsigned short port) : fd_(connect_to(port)) {
    if (fd_ < 0) throw std::runtime_error("connect: " + std::string(std::strerror(-fd_)));
  }
  ~Client() {
    if (fd_ >= 0) ::close(fd_);
  }
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void send(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) throw std::runtime_error("send: " + std::string(std::strerror(errno)));
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // `head`: the answer to a HEAD request, whose Content-Length describes a body it does not carry.
  Reply read_reply(bool no_body = false) {
    std::size_t end;
    while ((end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) throw std::runtime_error("connection closed before a full response header");
    }
    const std::string head = pending_.substr(0, end);
    pending_.erase(0, end + 4);
    Reply reply;
    std::size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.rfind("HTTP/1.", 0) != 0) throw std::runtime_error("bad status line");
    reply.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos) {
      const std::size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end - start);
      const std::size_t colon = line.find(':');
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      reply.headers[lower(line.substr(0, colon))] = value;
    }
    const std::size_t length =
        reply.has("content-length") && !no_body ? std::stoul(reply.header("content-length")) : 0;
    while (pending_.size() < length) {
      if (!fill()) throw std::runtime_error("connection closed in the middle of a body");
    }
    reply.body = pending_.substr(0, length);
    pending_.erase(0, length);
    return reply;
  }

  Reply request(std::string_view raw) {
    send(raw);
    return read_reply();
  }

  // True once the server closed the connection (FIN or reset), false on the watchdog.
  bool closed_by_server() {
    if (!pending_.empty()) return false;
    char c;
    const ssize_t n = ::recv(fd_, &c, 1, 0);
    if (n == 0) return true;
    if (n < 0 && errno == ECONNRESET) return true;
    if (n > 0) pending_.push_back(c);
    return false;
  }

  // True when the server has sent something that was not read yet; never blocks.
  bool has_unread_data() {
    char c;
    return !pending_.empty() || ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
  }

 private:
  bool fill() {
    char chunk[16384];
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) return false;
    pending_.append(chunk, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  std::string pending_;
};

std::string get(std::string_view target, std::string_view extra_headers = "") {
  return "GET " + std::string(target) + " HTTP/1.1\r\nHost: test\r\n" + std::string(extra_headers) +
         "\r\n";
}

std::string post(std::string_view target, std::string_view body) {
  return "POST " + std::string(target) +
         " HTTP/1.1\r\nHost: test\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

HttpResponse text(std::string body, int status = 200) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/plain";
  response.body = std::move(body);
  return response;
}

// Answers inline with "<METHOD> <target>".
Handler echo_handler() {
  return [](HttpRequest&& request, Responder respond) {
    respond(text(request.method + " " + request.target));
  };
}

// Collects the Responders of requests for the test to answer later, from its own thread.
class Parked {
 public:
  Handler handler() {
    return [this](HttpRequest&& request, Responder respond) {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(request));
      responders_.push_back(std::move(respond));
      changed_.notify_all();
    };
  }
  // Blocks until `n` requests are parked.
  void wait_for(std::size_t n) {
    std::unique_lock lock(mutex_);
    ASSERT_TRUE(changed_.wait_for(lock, 10s, [&] { return responders_.size() >= n; }));
  }
  Responder responder(std::size_t i) {
    std::lock_guard lock(mutex_);
    return responders_.at(i);
  }
  HttpRequest request(std::size_t i) {
    std::lock_guard lock(mutex_);
    return requests_.at(i);
  }
  void clear() {
    std::lock_guard lock(mutex_);
    responders_.clear();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<HttpRequest> requests_;
  std::vector<Responder> responders_;
};

std::unique_ptr<HttpServer> started(Handler handler, HttpLimits limits = {},
                                    std::size_t threads = 2) {
  auto server = std::make_unique<HttpServer>("127.0.0.1", 0, limits, std::move(handler), threads);
  server->start();
  return server;
}

// ---------------------------------------------------------------------------------------------

TEST(HttpServer, PortZeroBindsARealPortAndABusyPortIsAClearError) {
  auto server = started(echo_handler());
  ASSERT_NE(server->port(), 0);
  Client client(server->port());
  EXPECT_EQ(client.request(get("/ping")).body, "GET /ping");

  HttpServer second("127.0.0.1", server->port(), {}, echo_handler(), 1);
  try {
    second.start();
    FAIL() << "binding a busy port succeeded";
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("cannot bind"), std::string::npos) << message;
    EXPECT_NE(message.find(std::to_string(server->port())), std::string::npos) << message;
  }

  HttpServer nowhere("not an address", 0, {}, echo_handler(), 1);
  EXPECT_THROW(nowhere.start(), std::runtime_error);
  EXPECT_THROW(server->start(), std::logic_error);
}

TEST(HttpServer, RoundTripCarriesMethodTargetHeadersAndBody) {
  std::promise<HttpRequest> received;
  auto server = started([&](HttpRequest&& request, Responder respond) {
    received.set_value(std::move(request));
    HttpResponse response;
    response.status = 201;
    response.content_type = "application/xml";
    response.body = "<ok/>";
    response.headers = {{"X-Document-Id", "42"},
                        {"Content-Length", "999"},        // ignored: the server frames
                        {"X-Bad", "a\r\nInjected: yes"},  // dropped: would split the header
                        {"Bad Name", "x"}};
    respond(std::move(response));
  });
  Client client(server->port());
  const std::string body = "{\"hello\":\"xin chào\"}";
  client.send(
      "POST /v1/documents?draft=1 HTTP/1.1\r\nHost: test\r\nX-Trace: abc\r\n"
      "content-type: application/json\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  const Reply reply = client.read_reply();
  const HttpRequest seen = received.get_future().get();

  EXPECT_EQ(seen.method, "POST");
  EXPECT_EQ(seen.target, "/v1/documents?draft=1");
  EXPECT_EQ(seen.version, 11u);
  EXPECT_EQ(seen.body, body);
  EXPECT_EQ(seen.header("x-trace"), "abc");
  EXPECT_EQ(seen.header("X-TRACE"), "abc");
  EXPECT_EQ(seen.header("Content-Type"), "application/json");
  EXPECT_EQ(seen.header("missing"), "");
  EXPECT_EQ(seen.remote.rfind("127.0.0.1:", 0), 0u) << seen.remote;

  EXPECT_EQ(reply.status, 201);
  EXPECT_EQ(reply.body, "<ok/>");
  EXPECT_EQ(reply.header("content-length"), "5");
  EXPECT_EQ(reply.header("content-type"), "application/xml");
  EXPECT_EQ(reply.header("x-document-id"), "42");
  EXPECT_FALSE(reply.has("x-bad"));
  EXPECT_FALSE(reply.has("injected"));
  EXPECT_FALSE(reply.has("server"));
  EXPECT_FALSE(reply.has("date"));
}

TEST(HttpServer, KeepAliveServesSeveralRequestsOnOneConnectionIncludingPipelined) {
  auto server = started(echo_handler());
  Client client(server->port());
  for (int i = 0; i < 5; ++i) {
    const Reply reply = client.request(post("/n/" + std::to_string(i), "body"));
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, "POST /n/" + std::to_string(i));
    EXPECT_NE(lower(reply.header("connection")), "close");
  }
  client.send(get("/a") + get("/b") + get("/c"));  // pipelined in one write
  EXPECT_EQ(client.read_reply().body, "GET /a");
  EXPECT_EQ(client.read_reply().body, "GET /b");
  EXPECT_EQ(client.read_reply().body, "GET /c");

  const Reply last = client.request(get("/bye", "Connection: close\r\n"));
  EXPECT_EQ(last.body, "GET /bye");
  EXPECT_EQ(lower(last.header("connection")), "close");
  EXPECT_TRUE(client.closed_by_server());

  server->stop(1s);
  EXPECT_EQ(server->stats().accepted, 1u);
  EXPECT_EQ(server->stats().requests, 9u);
}

TEST(HttpServer, Http10WithoutKeepAliveIsClosedAfterTheResponse) {
  auto server = started(echo_handler());
  Client client(server->port());
  const Reply reply = client.request("GET /old HTTP/1.0\r\n\r\n");
  EXPECT_EQ(reply.body, "GET /old");
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpServer, HeadAnswersWithTheLengthButNoBody) {
  auto server = started(echo_handler());
  Client client(server->port());
  client.send("HEAD /doc HTTP/1.1\r\nHost: test\r\n\r\n" + get("/next"));
  const Reply head = client.read_reply(/*head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-length"), "9");  // the length of "HEAD /doc"
  // No body bytes came between the two responses.
  EXPECT_EQ(client.read_reply().body, "GET /next");
}

TEST(HttpServer, ExpectContinueGetsTheGoAheadBeforeTheBody) {
  auto server = started(echo_handler());
  Client client(server->port());
  client.send("PUT /x HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n");
  EXPECT_EQ(client.read_reply().status, 100);
  client.send("data");
  const Reply reply = client.read_reply();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "PUT /x");
}

TEST(HttpServer, AsyncHandlerAnswersFromAnotherThreadWhenTheTestSaysSo) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::vector<std::thread> workers;
  std::mutex workers_mutex;
  std::promise<std::thread::id> handler_thread;
  auto server = started([&](HttpRequest&& request, Responder respond) {
    handler_thread.set_value(std::this_thread::get_id());
    std::lock_guard lock(workers_mutex);
    workers.emplace_back([released, respond, body = request.body] {
      released.wait();
      respond(text("durable: " + body));
    });
  });
  Client client(server->port());
  client.send(post("/v1/packages", "pkg"));
  const auto handler_id = handler_thread.get_future().get();
  EXPECT_FALSE(client.has_unread_data());  // nothing before the worker answers
  release.set_value();
  const Reply reply = client.read_reply();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "durable: pkg");
  std::lock_guard lock(workers_mutex);
  for (auto& worker : workers) {
    EXPECT_NE(worker.get_id(), handler_id);
    worker.join();
  }
}

TEST(HttpServer, TwoHundredConcurrentClientsWaitingTogetherAreAllAnswered) {
  constexpr std::size_t kClients = 200;
  Parked parked;
  auto server = started(parked.handler(), {}, 4);
  std::vector<std::unique_ptr<Client>> clients;
  for (std::size_t i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<Client>(server->port()));
    clients.back()->send(post("/c/" + std::to_string(i), std::to_string(i)));
  }
  parked.wait_for(kClients);  // all 200 requests are in flight at the same time
  EXPECT_EQ(server->stats().active, kClients);

  std::vector<std::thread> answerers;
  for (std::size_t t = 0; t < 4; ++t) {
    answerers.emplace_back([&, t] {
      for (std::size_t i = t; i < kClients; i += 4) {
        parked.responder(i)(text("answer " + parked.request(i).body));
      }
    });
  }
  for (auto& thread : answerers) thread.join();

  std::map<std::string, int> answers;
  for (auto& client : clients) {
    const Reply reply = client->read_reply();
    EXPECT_EQ(reply.status, 200);
    ++answers[reply.body];
  }
  EXPECT_EQ(answers.size(), kClients);  // each request got its own answer
  for (std::size_t i = 0; i < kClients; ++i) EXPECT_EQ(answers["answer " + std::to_string(i)], 1);
}

TEST(HttpServer, OversizedBodyIsRefusedWith413BeforeItIsSent) {
  std::atomic<bool> called{false};
  HttpLimits limits;
  limits.max_body_bytes = 1024;
  auto server = started(
      [&](HttpRequest&&, Responder respond) {
        called = true;
        respond(text("no"));
      },
      limits);
  {
    // Only the header is sent: the refusal cannot have waited for the 10 MB it announces.
    Client client(server->port());
    const Reply reply =
        client.request("POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: 10000000\r\n\r\n");
    EXPECT_EQ(reply.status, 413);
    EXPECT_EQ(reply.header("content-type"), "application/json");
    EXPECT_EQ(reply.body,
              R"({"error":{"code":"body_too_large","message":"the request body is larger than )"
              R"(the limit of 1024 bytes"}})");
    EXPECT_EQ(lower(reply.header("connection")), "close");
    EXPECT_TRUE(client.closed_by_server());
  }
  {
    // A client that asks first gets the refusal instead of the go-ahead.
    Client client(server->port());
    const Reply reply = client.request(
        "POST /upload HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: "
        "2048\r\n\r\n");
    EXPECT_EQ(reply.status, 413);
  }
  {
    // A chunked body has no announced length: it is cut off when it crosses the limit.
    Client client(server->port());
    const std::string chunk(800, 'x');
    std::string raw = "POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 2; ++i) raw += "320\r\n" + chunk + "\r\n";
    const Reply reply = client.request(raw);
    EXPECT_EQ(reply.status, 413);
  }
  {
    // Within the limit, fine.
    Client client(server->port());
    EXPECT_EQ(client.request(post("/upload", std::string(1024, 'y'))).status, 200);
  }
  server->stop(1s);
  EXPECT_EQ(server->stats().rejected_too_large, 3u);
}

TEST(HttpServer, HugeHeaderIsRefusedWith431) {
  HttpLimits limits;
  limits.max_header_bytes = 1024;
  auto server = started(echo_handler(), limits);
  Client client(server->port());
  const Reply reply = client.request(get("/", "X-Big: " + std::string(4000, 'h') + "\r\n"));
  EXPECT_EQ(reply.status, 431);
  EXPECT_NE(reply.body.find("\"code\":\"header_too_large\""), std::string::npos) << reply.body;
  EXPECT_TRUE(client.closed_by_server());
}

TEST(HttpServer, GarbageIsRefusedWith400) {
  auto server = started(echo_handler());
  for (const std::string& garbage :
       {std::string("this is not http\r\n\r\n"),
        std::string("GET / HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
        std::string("GET /\x01 HTTP/1.1\r\n\r\n")}) {
    Client client(server->port());
    const Reply reply = client.request(garbage);
    EXPECT_EQ(reply.status, 400) << garbage;
    EXPECT_NE(reply.body.find("\"code\":\"bad_request\""), std::string::npos) << reply.body;
    EXPECT_TRUE(client.closed_by_server());
  }
  server->stop(1s);
  EXPECT_EQ(server->stats().bad_requests, 4u);
  EXPECT_EQ(server->stats().requests, 0u);
}

TEST(HttpServer, ReadTimeoutClosesSilentAndStalledConnections) {
  HttpLimits limits;
  limits.read_timeout = 200ms;
  auto server = started(echo_handler(), limits);
  Client silent(server->port());
  Client stalled(server->port());
  stalled.send("GET /half HTTP/1.1\r\nHost: te");
  EXPECT_TRUE(silent.closed_by_server());  // the server's own timer fires
  EXPECT_TRUE(stalled.closed_by_server());
  // The client sees the close before the connection's coroutine ends; on a loaded machine that
  // can take a while, and a graceful stop returns as soon as both have ended.
  server->stop(30s);
  EXPECT_EQ(server->stats().timeouts, 2u);
  EXPECT_EQ(server->stats().active, 0u);
}

TEST(HttpServer, IdleKeepAliveConnectionIsClosedAfterTheIdleTimeout) {
  HttpLimits limits;
  limits.idle_timeout = 200ms;
  auto server = started(echo_handler(), limits);
  Client client(server->port());
  EXPECT_EQ(client.request(get("/once")).status, 200);
  EXPECT_TRUE(client.closed_by_server());
  server->stop(1s);
  EXPECT_EQ(server->stats().timeouts, 0u);  // the end of an idle keep-alive is not an error
}

TEST(HttpServer, WaitingForTheHandlerOutlastsTheReadAndIdleTimeouts) {
  HttpLimits limits;
  limits.read_timeout = 200ms;
  limits.idle_timeout = 200ms;
  Parked parked;
  auto server = started(parked.handler(), limits);
  Client waiting(server->port());
  waiting.send(get("/slow"));
  parked.wait_for(1);
  // A silent connection opened after the wait began: once the server's timer has closed it, the
  // waiting connection has been waiting longer than both timeouts.
  Client probe(server->port());
  EXPECT_TRUE(probe.closed_by_server());
  EXPECT_FALSE(waiting.has_unread_data());
  parked.responder(0)(text("finally"));
  const Reply reply = waiting.read_reply();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "finally");
}

TEST(HttpServer, MaxConnectionsIsEnforcedWith503) {
  HttpLimits limits;
  limits.max_connections = 2;
  auto server = started(echo_handler(), limits);
  Client first(server->port());
  Client second(server->port());
  EXPECT_EQ(first.request(get("/1")).status, 200);  // both are registered once they answered
  EXPECT_EQ(second.request(get("/2")).status, 200);
  Client third(server->port());
  const Reply reply = third.read_reply();  // refused without waiting for a request
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.body.find("\"code\":\"busy\""), std::string::npos) << reply.body;
  EXPECT_EQ(reply.header("retry-after"), "1");
  EXPECT_TRUE(third.closed_by_server());
  EXPECT_EQ(first.request(get("/1")).status, 200);  // the others are unaffected
  server->stop(1s);
  EXPECT_EQ(server->stats().rejected_busy, 1u);
  EXPECT_EQ(server->stats().accepted, 3u);
}

TEST(HttpServer, HandlerFailuresBecome500) {
  auto server = started([](HttpRequest&& request, Responder respond) {
    if (request.target == "/throw") throw std::runtime_error("boom");
    if (request.target == "/twice") {
      respond(text("one"));
      respond(text("two"));  // ignored
      return;
    }
    if (request.target == "/status") {
      respond(text("?", 42));  // not a final status code
      return;
    }
    // "/drop": the Responder is destroyed unanswered
  });
  Client client(server->port());
  const Reply thrown = client.request(get("/throw"));
  EXPECT_EQ(thrown.status, 500);
  EXPECT_EQ(thrown.body.find("boom"), std::string::npos);  // internals stay in the log
  EXPECT_EQ(client.request(get("/drop")).status, 500);
  EXPECT_EQ(client.request(get("/twice")).body, "one");
  EXPECT_EQ(client.request(get("/status")).status, 500);
  EXPECT_EQ(client.request(get("/twice")).body, "one");  // the connection is still usable
}

TEST(HttpServer, AnAnswerForAClientThatLeftIsDropped) {
  Parked parked;
  auto server = started(parked.handler());
  {
    Client leaving(server->port());
    leaving.send(get("/gone"));
    parked.wait_for(1);
  }  // closed before the answer
  parked.responder(0)(text("nobody listens"));
  Client next(server->port());  // the server carries on
  next.send(get("/next"));
  parked.wait_for(2);
  parked.responder(1)(text("still here"));
  EXPECT_EQ(next.read_reply().body, "still here");
}

TEST(HttpServer, InvalidLimitsAndHandlerAreRefused) {
  HttpLimits limits;
  limits.read_timeout = 0ms;
  EXPECT_THROW(HttpServer("127.0.0.1", 0, limits, echo_handler()), std::invalid_argument);
  EXPECT_THROW(HttpServer("127.0.0.1", 0, {}, Handler{}), std::invalid_argument);
}

TEST(HttpServer, GracefulStopFinishesTheRequestInFlightAndClosesIdleConnections) {
  Parked parked;
  auto server = std::make_unique<HttpServer>(
      "127.0.0.1", 0, HttpLimits{},
      [&](HttpRequest&& request, Responder respond) {
        if (request.target == "/slow") return parked.handler()(std::move(request), respond);
        respond(text("fast"));
      },
      2);
  server->start();
  const unsigned short port = server->port();
  Client idle(port);
  EXPECT_EQ(idle.request(get("/fast")).body, "fast");
  Client busy(port);
  busy.send(get("/slow"));
  parked.wait_for(1);

  std::thread stopper([&] { server->stop(10s); });
  EXPECT_TRUE(idle.closed_by_server());        // idle keep-alive connections close at once
  EXPECT_EQ(connect_to(port), -ECONNREFUSED);  // the listener closed before that
  parked.responder(0)(text("in flight"));
  const Reply reply = busy.read_reply();
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "in flight");
  EXPECT_EQ(lower(reply.header("connection")), "close");
  EXPECT_TRUE(busy.closed_by_server());
  stopper.join();
  EXPECT_EQ(server->stats().active, 0u);
  server->stop(1s);  // idempotent
}

TEST(HttpServer, StopAfterTheGraceClosesUnansweredRequestsAndLateAnswersAreHarmless) {
  Parked parked;
  auto server = started(parked.handler());
  Client client(server->port());
  client.send(get("/never"));
  parked.wait_for(1);
  server->stop(100ms);
  EXPECT_TRUE(client.closed_by_server());
  EXPECT_EQ(server->stats().active, 0u);
  server.reset();
  // The server is gone; answering now must neither crash nor leak (ASan watches).
  std::thread late([responder = parked.responder(0)] { responder(text("too late")); });
  late.join();
  parked.clear();
}

TEST(HttpServer, DestroyingARunningServerWithARequestInFlightIsSafe) {
  Parked parked;
  auto server = started(parked.handler());
  Client client(server->port());
  client.send(get("/never"));
  parked.wait_for(1);
  server.reset();  // the destructor stops with no grace
  EXPECT_TRUE(client.closed_by_server());
  parked.responder(0)(text("too late"));
  parked.clear();  // the last copy dies unanswered: dropped, no 500 to anyone
}

TEST(HttpServer, StatsCount) {
  auto server = started(echo_handler());
  {
    Client a(server->port());
    Client b(server->port());
    a.request(get("/1"));
    a.request(get("/2"));
    b.request(get("/3"));
    EXPECT_EQ(server->stats().active, 2u);
    Client c(server->port());
    EXPECT_EQ(c.request("nonsense\r\n\r\n").status, 400);
  }
  server->stop(30s);  // returns once the three have ended, however loaded the machine
  const auto stats = server->stats();
  EXPECT_EQ(stats.accepted, 3u);
  EXPECT_EQ(stats.active, 0u);
  EXPECT_EQ(stats.requests, 3u);
  EXPECT_EQ(stats.bad_requests, 1u);
  EXPECT_EQ(stats.rejected_too_large, 0u);
  EXPECT_EQ(stats.rejected_busy, 0u);
  EXPECT_EQ(stats.timeouts, 0u);
}

TEST(HttpServer, WaitForSignalsStopsOnSigterm) {
  auto server = started(echo_handler());
  std::thread waiter([&] { server->wait_for_signals(1s); });
  // wait_for_signals installs its handler before waiting; only then is SIGTERM safe to send.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (;;) {
    struct sigaction current {};
    ::sigaction(SIGTERM, nullptr, &current);
    if (current.sa_handler != SIG_DFL) break;
    ASSERT_LT(std::chrono::steady_clock::now(), deadline);
    std::this_thread::yield();
  }
  ::kill(::getpid(), SIGTERM);
  waiter.join();
  EXPECT_EQ(connect_to(server->port()), -ECONNREFUSED);
}

TEST(HttpServer, JsonErrorEscapes) {
  const HttpResponse response = json_error(422, "bad \"code\"", "line\nbreak \\ tab\t\x01 ủy ban");
  EXPECT_EQ(response.status, 422);
  EXPECT_EQ(response.content_type, "application/json");
  EXPECT_EQ(
      response.body,
      "{\"error\":{\"code\":\"bad \\\"code\\\"\",\"message\":\"line\\nbreak \\\\ tab\\t\\u0001"
      " ủy ban\"}}");
}

}  // namespace
}  // namespace lienthong
