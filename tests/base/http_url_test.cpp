#include "base/http_url.hpp"

#include <gtest/gtest.h>

namespace lienthong {
namespace {

TEST(HttpUrl, ReadsSchemeHostPortAndPrefix) {
  auto u = parse_http_url("https://node.tayninh.gov.vn:8443/lienthong/");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_TRUE(u->tls);
  EXPECT_EQ(u->host, "node.tayninh.gov.vn");
  EXPECT_EQ(u->port, "8443");
  EXPECT_EQ(u->prefix, "/lienthong");
  EXPECT_FALSE(u->literal);
  EXPECT_EQ(u->host_header(), "node.tayninh.gov.vn:8443");

  auto v6 = parse_http_url("http://[::1]");
  ASSERT_TRUE(v6) << v6.error().message;
  EXPECT_FALSE(v6->tls);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "80");
  EXPECT_TRUE(v6->literal);
  EXPECT_EQ(v6->host_header(), "[::1]:80");
  EXPECT_TRUE(parse_http_url("https://127.0.0.1")->literal);
  EXPECT_TRUE(parse_http_url("https://[fe80::1%eth0]:8443")->literal);
  EXPECT_EQ(parse_http_url("https://127.0.0.1")->port, "443");
}

TEST(HttpUrl, SaysWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"ftp://host", "expected http://host:port or https://host:port"},
      {"https://user@host", "user names do not belong here"},
      {"https://[::1", "unclosed '['"},
      {"https://[::1]x", "junk after the address"},
      {"https://:80", "no host"},
      {"https://host:0", "the port is not a number from 1 to 65535"},
      {"https://host:65536", "the port is not a number from 1 to 65535"},
      {"https://host:8o", "the port is not a number from 1 to 65535"},
      {"https://host:", "the port is not a number from 1 to 65535"},
  };
  for (const auto& [url, why] : cases) {
    auto u = parse_http_url(url);
    ASSERT_FALSE(u) << url;
    EXPECT_EQ(u.error().code, "url.invalid") << url;
    EXPECT_EQ(u.error().message, why) << url;
  }
}

}  // namespace
}  // namespace lienthong
