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
}

TEST(Sha256, KnownVector) {
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace lienthong
