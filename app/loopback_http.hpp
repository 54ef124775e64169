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

}  // namespace lienthong
