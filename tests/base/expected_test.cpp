#include "base/expected.hpp"

#include <gtest/gtest.h>

#include <memory>

namespace lienthong {
namespace {

Expected<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error{"digit.invalid", std::string("'") + c + "' is not a digit"};
  return c - '0';
}

TEST(Expected, CarriesValueOrError) {
  auto ok = parse_digit('7');
  ASSERT_TRUE(ok);
  EXPECT_EQ(*ok, 7);
  auto bad = parse_digit('x');
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "digit.invalid");
  EXPECT_EQ(bad.error().message, "'x' is not a digit");
}

TEST(Expected, MovesOnlyTypes) {
  Expected<std::unique_ptr<int>> p = std::make_unique<int>(5);
  ASSERT_TRUE(p.has_value());
  std::unique_ptr<int> taken = std::move(p).value();
  EXPECT_EQ(*taken, 5);
}

TEST(Expected, VoidSpecialisation) {
  Expected<void> ok;
  EXPECT_TRUE(ok);
  Expected<void> bad = Error{"x", "y"};
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error(), (Error{"x", "y"}));
}

}  // namespace
}  // namespace lienthong
