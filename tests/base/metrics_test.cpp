#include "base/metrics.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace lienthong {
namespace {

TEST(Metrics, HistogramBucketsAreCumulativeWithTheirSumAndCount) {
  Histogram h({0.01, 0.1, 1});
  for (double v : {0.005, 0.01, 0.05, 0.5, 5.0}) h.observe(v);
  const auto s = h.snapshot();
  EXPECT_EQ(s.cumulative, (std::vector<std::uint64_t>{2, 3, 4, 5}));  // le is inclusive
  EXPECT_EQ(s.count, 5u);
  EXPECT_DOUBLE_EQ(s.sum, 5.565);
}

TEST(Metrics, ConcurrentObservationsAreAllCounted) {
  Histogram h({1});
  LabeledCounter c;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        h.observe(0.5);
        c.add(i % 2 ? "odd" : "even");
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(h.snapshot().count, 40000u);
  const auto counts = c.snapshot();
  ASSERT_EQ(counts.size(), 2u);
  EXPECT_EQ(counts[0], (std::pair<std::string, std::uint64_t>{"even", 20000}));
  EXPECT_EQ(counts[1], (std::pair<std::string, std::uint64_t>{"odd", 20000}));
}

TEST(Metrics, PrometheusTextFormat) {
  PrometheusText m;
  m.family("lt_refused_total", "counter", "Refused, by reason.");
  m.sample("lt_refused_total", {{"reason", "say \"no\"\\\n"}}, 3);
  Histogram h({0.5});
  h.observe(0.25);
  h.observe(2);
  m.family("lt_seconds", "histogram", "Time.");
  m.histogram("lt_seconds", {{"peer", "a"}}, h.snapshot());
  EXPECT_EQ(m.text(),
            "# HELP lt_refused_total Refused, by reason.\n"
            "# TYPE lt_refused_total counter\n"
            "lt_refused_total{reason=\"say \\\"no\\\"\\\\\\n\"} 3\n"
            "# HELP lt_seconds Time.\n"
            "# TYPE lt_seconds histogram\n"
            "lt_seconds_bucket{peer=\"a\",le=\"0.5\"} 1\n"
            "lt_seconds_bucket{peer=\"a\",le=\"+Inf\"} 2\n"
            "lt_seconds_sum{peer=\"a\"} 2.25\n"
            "lt_seconds_count{peer=\"a\"} 2\n");
}

}  // namespace
}  // namespace lienthong
