#pragma once

// Counters and histograms cheap enough to update on every request, and their rendering in the
// Prometheus text exposition format (version 0.0.4) for GET /metrics.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lienthong {

class Histogram {
 public:
  // Upper bounds of the buckets, increasing; +Inf is implicit.
  explicit Histogram(std::vector<double> bounds);
  void observe(double value);
  struct Snapshot {
    std::vector<double> bounds;
    std::vector<std::uint64_t> cumulative;  // per bound, then +Inf (= count)
    double sum = 0;
    std::uint64_t count = 0;
  };
  Snapshot snapshot() const;

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
  std::atomic<double> sum_{0};
  std::atomic<std::uint64_t> count_{0};
};

// Counters told apart by one label's value (documents refused, by reason).
class LabeledCounter {
 public:
  void add(const std::string& value, std::uint64_t n = 1);
  std::vector<std::pair<std::string, std::uint64_t>> snapshot() const;  // by value

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::uint64_t> counts_;
};

// Histograms told apart by one label's value (request latency, by peer).
class LabeledHistogram {
 public:
  explicit LabeledHistogram(std::vector<double> bounds) : bounds_(std::move(bounds)) {}
  void observe(const std::string& value, double x);
  std::vector<std::pair<std::string, Histogram::Snapshot>> snapshot() const;

 private:
  std::vector<double> bounds_;
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Histogram>> histograms_;
};

// Writes one metric family after another: `family` once, then its samples.
class PrometheusText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // type: counter, gauge or histogram
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const Labels& labels, double value);
  void histogram(std::string_view name, const Labels& labels, const Histogram::Snapshot& h);
  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

}  // namespace lienthong
