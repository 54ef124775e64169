#pragma once

#include <string>

namespace lienthong {

struct LoopbackReply {
  int status = 0;  // 0: no answer (could not connect, or the connection closed first)
  std::string body;
};

// One blocking HTTP/1.1 request to 127.0.0.1:`port` on its own connection (Connection: close),
// read to the end: for `lienthong demo` and the node's tests, which drive nodes on this machine.
LoopbackReply loopback_http(unsigned short port, const std::string& method,
                            const std::string& target, const std::string& token = "",
                            const std::string& body = "");

// A kept-alive HTTP/1.1 connection to 127.0.0.1:`port`, for load generators (the benchmarks, the
// crash test): many POSTs one after another on one socket.
class LoopbackConnection {
 public:
  explicit LoopbackConnection(unsigned short port);
  ~LoopbackConnection();
  LoopbackConnection(const LoopbackConnection&) = delete;
  LoopbackConnection& operator=(const LoopbackConnection&) = delete;

  // One POST; the response's status, or -1 when the connection failed or closed (then every
  // later call returns -1 too).
  int post(const std::string& target, const std::string& token, const std::string& body);

 private:
  bool fill();
  int fd_ = -1;
  bool ok_ = false;
  std::string buffer_;
};

}  // namespace lienthong
