#include "base/worker_pool.hpp"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace lienthong {
namespace {

TEST(WorkerPool, EveryIndexRunsOnceAndTheCallReturnsAfterTheLast) {
  WorkerPool pool(3, "lt-test");
  for (std::size_t count : {0u, 1u, 2u, 7u, 1000u}) {
    std::vector<std::atomic<int>> runs(count);
    std::atomic<int> running{0};
    pool.for_each(count, [&](std::size_t i) {
      ++running;
      std::this_thread::sleep_for(std::chrono::microseconds(i % 3 == 0 ? 200 : 0));
      ++runs[i];
      --running;
    });
    EXPECT_EQ(running.load(), 0) << count;  // nothing still inside f
    for (std::size_t i = 0; i < count; ++i) EXPECT_EQ(runs[i].load(), 1) << i << " of " << count;
  }
}

TEST(WorkerPool, TheHelpersShareTheWork) {
  WorkerPool pool(3, "lt-test");
  std::mutex m;
  std::set<std::thread::id> ids;
  pool.for_each(64, [&](std::size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard lock(m);
    ids.insert(std::this_thread::get_id());
  });
  EXPECT_GT(ids.size(), 1u);
}

TEST(WorkerPool, ConcurrentCallersTakeTurns) {
  WorkerPool pool(2, "lt-test");
  std::atomic<int> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 4; ++c) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) pool.for_each(10, [&](std::size_t) { ++total; });
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 4 * 50 * 10);
}

}  // namespace
}  // namespace lienthong
