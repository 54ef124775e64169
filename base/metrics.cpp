#include "base/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace lienthong {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {}

void Histogram::observe(double value) {
  const auto at = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[static_cast<std::size_t>(at)].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.bounds = bounds_;
  std::uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;  // the buckets, not count_: the two may differ by an observation in flight
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

void LabeledCounter::add(const std::string& value, std::uint64_t n) {
  std::lock_guard lock(mutex_);
  counts_[value] += n;
}

std::vector<std::pair<std::string, std::uint64_t>> LabeledCounter::snapshot() const {
  std::lock_guard lock(mutex_);
  return {counts_.begin(), counts_.end()};
}

void LabeledHistogram::observe(const std::string& value, double x) {
  Histogram* h;
  {
    std::lock_guard lock(mutex_);
    auto& slot = histograms_[value];
    if (!slot) slot = std::make_unique<Histogram>(bounds_);
    h = slot.get();
  }
  h->observe(x);
}

std::vector<std::pair<std::string, Histogram::Snapshot>> LabeledHistogram::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, Histogram::Snapshot>> out;
  for (const auto& [value, h] : histograms_) out.emplace_back(value, h->snapshot());
  return out;
}

namespace {

std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string escaped(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string label_text(const PrometheusText::Labels& labels) {
  if (labels.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < labels.size(); ++i) {
    out += (i ? "," : "") + labels[i].first + "=\"" + escaped(labels[i].second) + "\"";
  }
  return out + "}";
}

}  // namespace

void PrometheusText::family(std::string_view name, std::string_view type, std::string_view help) {
  out_ += "# HELP " + std::string(name) + " " + std::string(help) + "\n# TYPE " +
          std::string(name) + " " + std::string(type) + "\n";
}

void PrometheusText::sample(std::string_view name, const Labels& labels, double value) {
  out_ += std::string(name) + label_text(labels) + " " + number(value) + "\n";
}

void PrometheusText::histogram(std::string_view name, const Labels& labels,
                               const Histogram::Snapshot& h) {
  for (std::size_t i = 0; i <= h.bounds.size(); ++i) {
    Labels with = labels;
    with.emplace_back("le", i < h.bounds.size() ? number(h.bounds[i]) : "+Inf");
    sample(std::string(name) + "_bucket", with, static_cast<double>(h.cumulative[i]));
  }
  sample(std::string(name) + "_sum", labels, h.sum);
  sample(std::string(name) + "_count", labels, static_cast<double>(h.count));
}

}  // namespace lienthong
