#include "base/http_url.hpp"

#include <arpa/inet.h>

namespace lienthong {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  // An IPv6 address may name its interface (fe80::1%eth0): the zone is not part of the address.
  const std::string address = host.substr(0, host.find('%'));
  return ::inet_pton(AF_INET, address.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, address.c_str(), buf) == 1;
}

}  // namespace

Expected<HttpUrl> parse_http_url(std::string_view rest) {
  auto bad = [](const char* why) { return Error{"url.invalid", why}; };
  HttpUrl u;
  if (rest.rfind("http://", 0) == 0) {
    rest.remove_prefix(7);
    u.port = "80";
  } else if (rest.rfind("https://", 0) == 0) {
    rest.remove_prefix(8);
    u.port = "443";
    u.tls = true;
  } else {
    return bad("expected http://host:port or https://host:port");
  }
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos) u.prefix = std::string(rest.substr(slash));
  while (!u.prefix.empty() && u.prefix.back() == '/') u.prefix.pop_back();
  if (authority.find('@') != std::string_view::npos) return bad("user names do not belong here");
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '['");
    u.host = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return bad("junk after the address");
      u.port = std::string(authority.substr(1));
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(authority.substr(colon + 1));
  }
  if (u.host.empty()) return bad("no host");
  if (u.port.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos || std::stoi(u.port) < 1 ||
      std::stoi(u.port) > 65535) {
    return bad("the port is not a number from 1 to 65535");
  }
  u.literal = is_ip_literal(u.host);
  return u;
}

}  // namespace lienthong
