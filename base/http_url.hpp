#pragma once

#include <string>
#include <string_view>

#include "base/expected.hpp"

namespace lienthong {

// http://host[:port][/prefix] or https://…, as a node's address is written in configuration and
// on the command line.
struct HttpUrl {
  bool tls = false;
  std::string host;      // without the brackets of an IPv6 address
  std::string port;      // 80 or 443 when not given
  std::string prefix;    // a path before the API's, without a trailing '/'
  bool literal = false;  // an IP address rather than a name

  // host:port as the Host header carries it (an IPv6 address in brackets).
  std::string host_header() const {
    return (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + port;
  }
};

// Refuses other schemes, user names, an empty host, an unclosed '[' and a port outside 1–65535.
// The error (code url.invalid) says what is wrong, without repeating the URL.
Expected<HttpUrl> parse_http_url(std::string_view url);

}  // namespace lienthong
