#pragma once

#include <libxml/tree.h>

#include <cstdint>

#include "base/expected.hpp"
#include "engine/package.hpp"

namespace lienthong {

// Reads a parsed package into the model. adapters/edxml implements it (QCVN 102:2016).
class Codec {
 public:
  virtual ~Codec() = default;
  virtual Expected<Package> decode(xmlDoc* doc) const = 0;
};

// The time, injectable so that tests drive it.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;  // seconds since the epoch, UTC
};

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t t) : t_(t) {}
  std::int64_t now() const override { return t_; }
  void set(std::int64_t t) { t_ = t; }
  void advance(std::int64_t seconds) { t_ += seconds; }

 private:
  std::int64_t t_;
};

}  // namespace lienthong
