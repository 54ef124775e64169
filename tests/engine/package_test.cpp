#include "engine/package.hpp"

#include <gtest/gtest.h>

namespace lienthong {
namespace {

TEST(StatusCode, KnowsTheNationalCodes) {
  EXPECT_STREQ(status_code_meaning("01"), "arrived");
  EXPECT_STREQ(status_code_meaning("06"), "completed");
  EXPECT_STREQ(status_code_meaning("16"), "recall/update refused");
  EXPECT_EQ(status_code_meaning("99"), nullptr);
}

}  // namespace
}  // namespace lienthong
