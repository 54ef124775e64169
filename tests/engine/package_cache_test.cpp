#include "engine/package_cache.hpp"

#include <gtest/gtest.h>

namespace lienthong {
namespace {

std::shared_ptr<const Package> package(const std::string& from) {
  auto p = std::make_shared<Package>();
  p->document.from.organ_id = from;
  return p;
}

TEST(PackageCache, FindsWhatWasPutAndForgetsTheOldestOnceFull) {
  PackageCache cache(2);
  EXPECT_FALSE(cache.find(1));
  cache.put(1, package("a"), 10);
  cache.put(2, package("b"), 20);
  ASSERT_TRUE(cache.find(1));
  EXPECT_EQ(cache.find(1)->package->document.from.organ_id, "a");
  EXPECT_EQ(cache.find(2)->original_size, 20u);
  cache.put(3, package("c"), 30);
  EXPECT_FALSE(cache.find(1));
  EXPECT_TRUE(cache.find(2));
  EXPECT_TRUE(cache.find(3));
  EXPECT_EQ(cache.size(), 2u);
}

TEST(PackageCache, PuttingAnIdAgainReplacesItWithoutGrowing) {
  PackageCache cache(2);
  cache.put(1, package("a"), 10);
  cache.put(1, package("a2"), 11);
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_EQ(cache.find(1)->package->document.from.organ_id, "a2");
  cache.put(2, package("b"), 20);
  cache.put(3, package("c"), 30);  // 1 is still the oldest
  EXPECT_FALSE(cache.find(1));
  EXPECT_TRUE(cache.find(2));
}

TEST(PackageCache, ACacheOfNoCapacityHoldsNothing) {
  PackageCache cache(0);
  cache.put(1, package("a"), 10);
  EXPECT_FALSE(cache.find(1));
  EXPECT_EQ(cache.size(), 0u);
}

TEST(PackageCache, KeepsOriginalsWithinItsByteBudget) {
  PackageCache cache(8, 400);
  auto bytes = [](std::size_t n) { return std::make_shared<const std::string>(n, 'x'); };
  cache.put(1, package("a"), 100, bytes(100));
  cache.put(2, package("b"), 101, bytes(101));  // over a quarter of the budget: not kept
  ASSERT_TRUE(cache.find(1)->original);
  EXPECT_EQ(*cache.find(1)->original, std::string(100, 'x'));
  ASSERT_TRUE(cache.find(2));
  EXPECT_FALSE(cache.find(2)->original);
  EXPECT_EQ(cache.original_bytes(), 100u);
  cache.put(3, package("c"), 100, bytes(100));
  cache.put(4, package("d"), 100, bytes(100));
  cache.put(5, package("e"), 100, bytes(100));
  EXPECT_EQ(cache.original_bytes(), 400u);
  EXPECT_TRUE(cache.find(1));
  cache.put(6, package("f"), 90, bytes(90));  // 490 bytes: the oldest goes
  EXPECT_FALSE(cache.find(1));
  EXPECT_TRUE(cache.find(2));
  EXPECT_EQ(cache.original_bytes(), 390u);
  cache.put(3, package("c2"), 10, bytes(10));  // replaced: its old original no longer counts
  EXPECT_EQ(cache.original_bytes(), 300u);
  EXPECT_EQ(cache.size(), 5u);
}

TEST(PackageCache, WithoutAByteBudgetKeepsNoOriginal) {
  PackageCache cache(2);
  cache.put(1, package("a"), 1, std::make_shared<const std::string>("x"));
  ASSERT_TRUE(cache.find(1));
  EXPECT_FALSE(cache.find(1)->original);
  EXPECT_EQ(cache.original_bytes(), 0u);
}

}  // namespace
}  // namespace lienthong
