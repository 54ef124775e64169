#include "base/encoding.hpp"

#include <gtest/gtest.h>

namespace lienthong {
namespace {

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64_encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
    auto d = base64_decode(base64_encode(s));
    ASSERT_TRUE(d) << s;
    EXPECT_EQ(*d, s);
  }
}

TEST(Base64, BinaryRoundTripAndLineBreaks) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes += static_cast<char>(i);
  std::string text = base64_encode(bytes);
  std::string wrapped;
  for (std::size_t i = 0; i < text.size(); i += 76) wrapped += text.substr(i, 76) + "\r\n";
  auto d = base64_decode(wrapped);
  ASSERT_TRUE(d);
  EXPECT_EQ(*d, bytes);
}

// Breaks at every offset put whitespace inside a four-symbol group, off the decoder's fast path.
TEST(Base64, WhitespaceInsideGroupsAndErrorsDeepInLongInput) {
  std::string bytes;
  for (int i = 0; i < 3000; ++i) bytes += static_cast<char>((i * 7919) & 0xFF);
  const std::string text = base64_encode(bytes);
  for (std::size_t width : {1u, 2u, 3u, 5u, 76u}) {
    std::string wrapped;
    for (std::size_t i = 0; i < text.size(); i += width) wrapped += text.substr(i, width) + "\n";
    auto d = base64_decode(wrapped);
    ASSERT_TRUE(d) << width;
    EXPECT_EQ(*d, bytes) << width;
  }
  std::string bad = text;
  bad[2001] = '*';
  auto e = base64_decode(bad);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("offset 2001"), std::string::npos) << e.error().message;
  EXPECT_FALSE(base64_decode(text.substr(0, 400) + "=" + text.substr(400, 8)));
}

TEST(Base64, RejectsGarbage) {
  EXPECT_EQ(base64_decode("Zm9v!").error().code, "base64.invalid");
  EXPECT_FALSE(base64_decode("Zg==Zg=="));
  EXPECT_FALSE(base64_decode("Z"));
  EXPECT_FALSE(base64_decode("Zg==="));
}

TEST(JsonQuote, EscapesWhatJsonRequires) {
  EXPECT_EQ(json_quote("plain"), "\"plain\"");
  EXPECT_EQ(json_quote("a\"b\\c\nd\x01"), "\"a\\\"b\\\\c\\nd\\u0001\"");
  EXPECT_EQ(json_quote("Sở Tài chính"), "\"Sở Tài chính\"");
  EXPECT_EQ(json_quote(""), "\"\"");
  EXPECT_EQ(json_quote("\r\t\x1f<x a=\"1\"/>\\"), "\"\\r\\t\\u001f<x a=\\\"1\\\"/>\\\\\"");
  EXPECT_EQ(json_quote(std::string_view("a\0b", 3)), "\"a\\u0000b\"");
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(ParseDigits, TakesOnlyARunOfAsciiDigits) {
  int v = -1;
  EXPECT_TRUE(parse_digits("2026", v));
  EXPECT_EQ(v, 2026);
  EXPECT_TRUE(parse_digits("007", v));
  EXPECT_EQ(v, 7);
  EXPECT_TRUE(parse_digits("999999999", v));
  EXPECT_EQ(v, 999999999);
  for (const char* bad : {"", "1a", "+1", "-1", " 1", "1 ", "1234567890", "١"}) {
    EXPECT_FALSE(parse_digits(bad, v)) << bad;
  }
}

}  // namespace
}  // namespace lienthong
