#pragma once

// The node's tests call its API through loopback_http, reading answers as JSON.

#include <boost/json.hpp>
#include <string>
#include <string_view>

#include "app/loopback_http.hpp"

namespace lienthong::testing {

struct Reply {
  int status = 0;
  std::string body;
  boost::json::value json() const {
    boost::system::error_code ec;
    return boost::json::parse(body, ec);
  }
};

inline Reply http(unsigned short port, const std::string& method, const std::string& target,
                  const std::string& token = "", const std::string& body = "") {
  LoopbackReply r = loopback_http(port, method, target, token, body);
  return Reply{r.status, std::move(r.body)};
}

}  // namespace lienthong::testing
