#include "adapters/peer/peer_api.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lienthong {
namespace {

using ::testing::HasSubstr;

TEST(PeerBatch, IsSplitIntoItsPackagesOrRefusedSayingWhy) {
  auto parts = split_batch("3\nabc\n0\n\n5\nx\ny\nz\n", 64);
  ASSERT_TRUE(parts) << parts.error().message;
  EXPECT_EQ(*parts, (std::vector<std::string>{"abc", "", "x\ny\nz"}));
  for (const char* bad : {"", "3\nabcd\n", "3\nab", "x\nabc\n", "\nabc\n", "3abc\n"}) {
    auto r = split_batch(bad, 64);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "peer.bad_batch");
  }
  auto too_many = split_batch("1\na\n1\nb\n1\nc\n", 2);
  ASSERT_FALSE(too_many);
  EXPECT_THAT(too_many.error().message, HasSubstr("at most 2"));
}

}  // namespace
}  // namespace lienthong
